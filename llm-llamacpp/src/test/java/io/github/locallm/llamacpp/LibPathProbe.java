package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;

import java.nio.file.Path;
import java.util.Map;

/** Run in a child JVM by {@link QuietNativeTest}: loads the native library from {@code lib_path}. */
public final class LibPathProbe {

    private LibPathProbe() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        Path model = TestModels.write(dir, "lib", TinyModels.tied(), GgufWriter.Quantization.F32);
        LlmBackend m = TestModels.open(model, Map.of("lib_path", args[1]));
        int tokens = TestModels.complete(m, "Hello", TestModels.greedy(3)).result().completionTokens();
        String from = m.info().details().get("native_library");
        m.close();
        if (tokens != 3 || !Path.of(args[1]).toAbsolutePath().normalize().toString().equals(from)) {
            System.exit(7);
        }
    }
}
