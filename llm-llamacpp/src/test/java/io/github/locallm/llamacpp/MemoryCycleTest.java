package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Opening, using and closing the same model many times must not grow the process. */
class MemoryCycleTest {

    /** Resident growth allowed over 200 cycles after warm-up; one extra native load of this model costs more. */
    static final long BOUND_KIB = 48 * 1024;

    @Test
    void twoHundredOpenGenerateCloseCyclesKeepResidentMemoryBounded(@TempDir Path dir) throws IOException {
        Path file = TestModels.write(dir, "cycle", TinyModels.gqa(), GgufWriter.Quantization.Q8_0);
        Map<String, String> settings = Map.of("ctx", "1024");
        String expected = cycle(file, settings);
        for (int i = 0; i < 10; i++) {
            cycle(file, settings);
        }
        System.gc();
        long warm = rssKib();
        for (int i = 0; i < 200; i++) {
            assertThat(cycle(file, settings)).isEqualTo(expected);
        }
        System.gc();
        long after = rssKib();
        long growth = after - warm;
        System.out.printf("200 cycles: VmRSS %d KiB after warm-up, %d KiB after, growth %d KiB (bound %d KiB)%n",
                warm, after, growth, BOUND_KIB);

        long beforeDistinct = rssKib();
        LlmBackend other = TestModels.open(file, Map.of("ctx", "2048"));
        TestModels.complete(other, "Hello", TestModels.greedy(4));
        other.close();
        long distinctLoad = rssKib() - beforeDistinct;
        System.out.printf("one more native load (ctx=2048) of the same file: +%d KiB resident, kept until JVM exit%n",
                distinctLoad);
        assertThat(growth).isLessThan(BOUND_KIB);
    }

    private static String cycle(Path file, Map<String, String> settings) {
        LlmBackend m = TestModels.open(file, settings);
        try {
            return TestModels.complete(m, "The sky is blue", TestModels.greedy(6)).text();
        } finally {
            m.close();
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
