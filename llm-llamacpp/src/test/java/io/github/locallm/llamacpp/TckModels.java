package io.github.locallm.llamacpp;

import io.github.locallm.LocalLlm;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.tck.LlmProviderTck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/** The tiny models the TCK runs on, written once per JVM, and the TCK settings for them. */
abstract class TckModels extends LlmProviderTck {

    private static final Map<GgufWriter.Quantization, Path> FILES = new EnumMap<>(GgufWriter.Quantization.class);

    static synchronized Path file(GgufWriter.Quantization q) {
        return FILES.computeIfAbsent(q, k -> {
            try {
                Path dir = Files.createTempDirectory("llamacpp-tck");
                dir.toFile().deleteOnExit();
                Path file = TestModels.write(dir, "tck", TinyModels.gqa(), k);
                file.toFile().deleteOnExit();
                return file;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    abstract GgufWriter.Quantization quantization();

    /** The engine the suite runs on. */
    String engine() {
        return LoadSettings.ENGINE_LLAMACPP;
    }

    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("llamacpp:" + file(quantization()) + "?ctx=512&threads=1&engine=" + engine());
    }

    @Override
    protected int completionTokenTolerance() {
        // A random model emits byte tokens that do not form canonical (or valid) UTF-8 text, so the
        // re-tokenized output can differ from what was generated.
        return 3 * maxTokens();
    }
}
