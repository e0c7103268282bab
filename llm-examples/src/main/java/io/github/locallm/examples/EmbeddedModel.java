package io.github.locallm.examples;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model that ships inside the examples, extracted to a cache folder and opened with the llama.cpp
 * backend. Thread-safe: files are written under a temporary name and moved into place.
 */
final class EmbeddedModel {
    private static final String STAND_IN_FILE = "stand-in-tiny-llama.gguf";

    private EmbeddedModel() {
    }

    /**
     * Extracts the embedded model into {@code cacheDir} (nothing is written when it is already there).
     *
     * @param cacheDir the cache folder
     * @return the choice of the extracted file, for the llama.cpp backend
     */
    static ModelChoice extract(Path cacheDir) {
        Path dir = cacheDir.resolve("stand-in");
        Path file = dir.resolve(STAND_IN_FILE);
        try {
            if (!Files.isRegularFile(file)) {
                Files.createDirectories(dir);
                Path temp = Files.createTempFile(dir, STAND_IN_FILE, ".part");
                try {
                    GgufWriter.write(TinyModels.llama(), temp, GgufWriter.Quantization.F32);
                    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(temp);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the embedded model into " + dir
                    + "; check that the folder is writable, or choose another with -Dlocallm.cache=DIR", e);
        }
        return ModelChoice.ofPath(file, ModelChoice.Source.STAND_IN, "llamacpp");
    }
}
