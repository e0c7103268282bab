package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * On the jllama engine, which frees nothing on close, opening, using and closing the same model 200 times must
 * not grow the process: the native model is kept and reused. Measured in a child JVM with
 * a fixed-size heap, so that neither other tests' models nor heap resizing blur the resident size.
 */
class MemoryCycleTest {

    /** Resident growth allowed over 200 cycles after warm-up; reloading the model each cycle would add ~25 MiB per cycle. */
    static final long BOUND_KIB = 32 * 1024;

    @Test
    void twoHundredOpenGenerateCloseCyclesKeepResidentMemoryBounded(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "-Xms96m", "-Xmx96m", "-XX:+AlwaysPreTouch",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), dir.toString()))
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("probe finished").isTrue();
        String report = Files.readString(out, StandardCharsets.UTF_8);
        System.out.print(report);
        assertThat(p.exitValue()).as(report).isZero();
        long warm = value(report, "warm");
        long after = value(report, "after");
        assertThat(after - warm).as(report).isLessThan(BOUND_KIB);
        assertThat(value(report, "loads")).as("native loads for 211 opens").isEqualTo(1);
    }

    private static long value(String report, String key) {
        for (String part : report.split("\\s+")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1).replaceAll("[^0-9-]", ""));
            }
        }
        throw new AssertionError("no " + key + " in " + report);
    }

    /** The child JVM: 10 warm-up cycles, then 200 measured ones, then one distinct load for comparison. */
    public static final class Probe {
        private Probe() {
        }

        public static void main(String[] args) throws IOException {
            Path file = TestModels.write(Path.of(args[0]), "cycle", TinyModels.gqa(), GgufWriter.Quantization.Q8_0);
            Map<String, String> settings = Map.of("ctx", "1024", "engine", LoadSettings.ENGINE_JLLAMA);
            String expected = cycle(file, settings);
            for (int i = 0; i < 10; i++) {
                cycle(file, settings);
            }
            long warm = rssKib();
            // more cycles for manual runs (-DextraCycles=1000): resident size stays on a plateau
            int extra = Integer.getInteger("extraCycles", 0);
            for (int i = 0; i < extra; i++) {
                cycle(file, settings);
                if (i % 200 == 199) {
                    System.out.println("extra " + (i + 1) + " rss " + rssKib());
                }
            }
            for (int i = 0; i < 200; i++) {
                if (!cycle(file, settings).equals(expected)) {
                    System.out.println("cycle " + i + " produced different text");
                    System.exit(1);
                }
            }
            long after = rssKib();
            int loads = SharedModel.loadedCount();
            LlmBackend other = TestModels.open(file, Map.of("ctx", "2048", "engine", LoadSettings.ENGINE_JLLAMA));
            TestModels.complete(other, "Hello", TestModels.greedy(4));
            other.close();
            long distinct = rssKib() - after;
            System.out.printf("200 cycles: warm=%d after=%d growth=%d KiB VmRSS, loads=%d;"
                    + " one more native load (ctx=2048): distinct=%d KiB%n", warm, after, after - warm, loads, distinct);
            System.exit(0);
        }

        private static String cycle(Path file, Map<String, String> settings) {
            LlmBackend m = TestModels.open(file, settings);
            try {
                return TestModels.complete(m, "The sky is blue", TestModels.greedy(6)).text();
            } finally {
                m.close();
            }
        }
    }

    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
