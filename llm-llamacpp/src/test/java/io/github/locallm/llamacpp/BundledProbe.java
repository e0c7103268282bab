package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;

import java.nio.file.Path;
import java.util.Map;

/**
 * Run in a child JVM by {@link NativesUnpackTest}: opens a model with the bundled natives, generates, and prints
 * the CPU variant the engine reports.
 */
public final class BundledProbe {

    private BundledProbe() {
    }

    public static void main(String[] args) {
        Path model = TestModels.write(Path.of(args[0]), "bundled", TinyModels.tied(), GgufWriter.Quantization.F32);
        LlmBackend m = TestModels.open(model, Map.of("engine", "llamacpp"));
        int tokens = TestModels.complete(m, "Hello", TestModels.greedy(3)).result().completionTokens();
        String variant = m.info().details().get("cpu_variant");
        m.close();
        if (tokens != 3) {
            System.exit(7);
        }
        System.out.println("cpu_variant=" + variant);
    }
}
