package io.github.locallm.examples;

import io.github.locallm.demo.DemoModel;
import java.nio.file.Path;

/**
 * The model that ships with the examples: the project's tiny demo model ({@link DemoModel}), extracted to
 * a cache folder and opened with the llama.cpp backend. Thread-safe: {@link DemoModel} writes each file
 * under a temporary name and moves it into place, and skips files already there with the same content.
 */
final class EmbeddedModel {
    /** The folder of the cache that holds the extracted demo model. */
    static final String FOLDER = "demo-model";

    private EmbeddedModel() {
    }

    /**
     * Extracts the demo model's GGUF file into {@code cacheDir/demo-model} (nothing is written when an
     * identical copy is already there).
     *
     * @param cacheDir the cache folder
     * @return the choice of the extracted file, for the llama.cpp backend
     * @throws java.io.UncheckedIOException when the folder cannot be written
     */
    static ModelChoice extract(Path cacheDir) {
        Path gguf = DemoModel.extractGguf(cacheDir.resolve(FOLDER));
        return ModelChoice.ofPath(gguf, ModelChoice.Source.DEMO, "llamacpp");
    }
}
