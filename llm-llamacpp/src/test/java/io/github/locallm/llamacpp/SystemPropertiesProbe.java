package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Run in a child JVM by {@link NoGlobalStateTest}, so that the native library is loaded here for the first
 * time: compares the system properties before and after opening (and using) a model on the jllama engine.
 * Exits with 0 when they are equal, 9 with the differences on stderr otherwise.
 */
public final class SystemPropertiesProbe {

    private SystemPropertiesProbe() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        Path model = TestModels.write(dir, "props", TinyModels.tied(), GgufWriter.Quantization.F32);
        // The JDK records user.timezone the first time anything formats a date, such as the default log handler
        // printing the backend's INFO line on the engine chosen: JDK state, not the backend's, so it is settled
        // before the comparison.
        java.util.TimeZone.getDefault();
        Map<String, String> before = snapshot();
        LlmBackend m = TestModels.open(model, Map.of("engine", LoadSettings.ENGINE_JLLAMA));
        int tokens = TestModels.complete(m, "Hello", TestModels.greedy(2)).result().completionTokens();
        Map<String, String> opened = snapshot();
        m.close();
        Map<String, String> after = snapshot();
        if (tokens != 2) {
            System.exit(8);
        }
        if (!before.equals(opened) || !before.equals(after)) {
            System.err.println("before: " + before);
            System.err.println("while open: " + opened);
            System.err.println("after close: " + after);
            System.exit(9);
        }
    }

    private static Map<String, String> snapshot() {
        Map<String, String> m = new TreeMap<>();
        System.getProperties().stringPropertyNames().forEach(k -> m.put(k, System.getProperty(k)));
        return m;
    }
}
