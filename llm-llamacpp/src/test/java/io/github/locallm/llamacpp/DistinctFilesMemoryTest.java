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
 * The llamacpp engine frees every native object on close: opening, using and closing 100 distinct GGUF files in
 * one JVM keeps resident memory and the thread count bounded. Measured in a child JVM with a small fixed heap,
 * so that neither other tests' models nor heap growth blur the resident size.
 */
class DistinctFilesMemoryTest {

    /** Files opened and closed after the warm-up. */
    static final int FILES = 100;
    /**
     * Resident growth allowed over the 100 files after warm-up (measured here: about 14 MiB, allocator
     * fragmentation; the jllama engine, which frees nothing on close, keeps every model and context loaded).
     */
    static final long BOUND_KIB = 48 * 1024;
    /** Threads allowed beyond the warm-up count (none are expected: ggml's workers end with each computation). */
    static final int THREAD_SLACK = 2;

    @Test
    void oneHundredDistinctFilesOpenedAndClosedKeepMemoryAndThreadsBounded(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), dir.toString()))
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        boolean exited = p.waitFor(240, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String report = Files.readString(out, StandardCharsets.UTF_8);
        System.out.print(report);
        assertThat(exited).as("probe finished; " + report).isTrue();
        assertThat(p.exitValue()).as(report).isZero();
        long warm = value(report, "warmRss");
        long after = value(report, "afterRss");
        assertThat(after - warm).as(report).isLessThan(BOUND_KIB);
        assertThat(value(report, "afterThreads")).as(report).isLessThanOrEqualTo(value(report, "warmThreads") + THREAD_SLACK);
        assertThat(value(report, "opened")).isEqualTo(FILES);
    }

    static long value(String report, String key) {
        for (String part : report.split("\\s+")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1).replaceAll("[^0-9-]", ""));
            }
        }
        throw new AssertionError("no " + key + " in " + report);
    }

    /** The child JVM: 10 distinct files to warm up, then 100 more, each opened, used and closed once. */
    public static final class Probe {
        private Probe() {
        }

        public static void main(String[] args) throws IOException {
            Path dir = Path.of(args[0]);
            for (int i = 0; i < 10; i++) {
                cycle(dir, "warm-" + i);
            }
            System.gc();
            long warmRss = MemoryCycleTest.rssKib();
            int warmThreads = threads();
            int opened = 0;
            for (int i = 0; i < FILES; i++) {
                cycle(dir, "file-" + i);
                opened++;
                if (i % 25 == 24) {
                    System.out.println("after " + (i + 1) + " files: rss " + MemoryCycleTest.rssKib() + " KiB, threads "
                            + threads());
                }
            }
            System.gc();
            System.out.printf("warmRss=%d afterRss=%d growth=%d KiB; warmThreads=%d afterThreads=%d; opened=%d%n",
                    warmRss, MemoryCycleTest.rssKib(), MemoryCycleTest.rssKib() - warmRss, warmThreads, threads(), opened);
            System.exit(0);
        }

        /** Writes a distinct file (its own name and metadata), opens it, generates, closes it, deletes it. */
        private static void cycle(Path dir, String name) throws IOException {
            Path file = dir.resolve(name + ".gguf");
            GgufWriter.write(TinyModels.gqa(), file, GgufWriter.Quantization.Q8_0, Map.of("general.name", name));
            LlmBackend m = TestModels.open(file, Map.of("ctx", "512"));
            try {
                if (TestModels.complete(m, "The sky is blue", TestModels.greedy(4)).result().completionTokens() != 4) {
                    System.out.println("generation of " + name + " failed");
                    System.exit(1);
                }
            } finally {
                m.close();
            }
            Files.delete(file);
        }

        /** Returns the process's thread count (native threads included) from /proc. */
        static int threads() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Threads:")) {
                    return Integer.parseInt(line.replaceAll("[^0-9]", ""));
                }
            }
            throw new IllegalStateException("no Threads in /proc/self/status");
        }
    }
}
