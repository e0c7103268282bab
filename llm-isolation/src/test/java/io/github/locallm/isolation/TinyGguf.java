package io.github.locallm.isolation;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The tiny GGUF the isolation tests run, written once per JVM. */
final class TinyGguf {
    private static Path file;

    private TinyGguf() {
    }

    static synchronized Path file() {
        if (file == null) {
            try {
                Path dir = Files.createTempDirectory("llm-isolation-test");
                dir.toFile().deleteOnExit();
                file = dir.resolve("tiny.gguf");
                GgufWriter.write(TinyModels.gqa(), file, GgufWriter.Quantization.Q8_0);
                file.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }

    static String spec(String extra) {
        return "llamacpp:" + file() + "?ctx=512&threads=2&isolate=process" + extra;
    }
}
