package io.github.locallm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsAndStatsTest {

    @Test
    void verdictIsInconclusiveWhenTheSpreadStraddlesTheGoal() {
        double[] straddles = Stats.ratioSpread(List.of(9.0, 10.0, 11.0), List.of(10.0, 10.5, 10.2));
        assertThat(straddles[0]).isEqualTo(9.0 / 10.5);
        assertThat(straddles[2]).isEqualTo(11.0 / 10.0);
        assertThat(Stats.verdict(straddles, 0.97, true)).isEqualTo("inconclusive");
        double[] above = Stats.ratioSpread(List.of(12.0, 12.5), List.of(10.0, 10.1));
        assertThat(Stats.verdict(above, 0.97, true)).isEqualTo("met");
        double[] below = Stats.ratioSpread(List.of(5.0, 5.5), List.of(10.0, 10.1));
        assertThat(Stats.verdict(below, 0.97, true)).isEqualTo("missed");
        assertThat(Stats.verdict(Stats.ratioSpread(List.of(), List.of(1.0)), 0.97, true)).isEqualTo("not measured");
    }

    @Test
    void chartsArePngFilesOfTheMeasuredRatios(@TempDir Path dir) throws Exception {
        BenchMain b = new BenchMain(BenchMain.Config.of(false), dir);
        put(b, "llama.Q8_0.llamacpp", 10.0, 10.4, 9.8);
        put(b, "llama.Q8_0.raw", 10.1, 10.2, 10.0);
        put(b, "engines.t1.llamacpp", 5.0);
        put(b, "engines.t1.native-c", 5.1);
        put(b, "engines.t2.llamacpp", 9.0);
        put(b, "engines.t2.native-c", 9.2);

        List<String> written = Plots.write(b, dir.resolve("plots"));

        assertThat(written).containsExactly("ratios.png", "scaling-threads.png");
        for (String f : written) {
            byte[] head = Files.readAllBytes(dir.resolve("plots").resolve(f));
            assertThat(head.length).isGreaterThan(1000);
            assertThat(new String(head, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
        }
    }

    @Test
    void noChartWithoutMeasurements(@TempDir Path dir) throws Exception {
        BenchMain b = new BenchMain(BenchMain.Config.of(false), dir);
        assertThat(Plots.write(b, dir.resolve("plots"))).isEmpty();
    }

    private static void put(BenchMain b, String key, double... genTps) {
        List<Map<String, Object>> runs = new ArrayList<>();
        for (double v : genTps) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("genTps", v);
            runs.add(m);
        }
        b.runs.put(key, runs);
    }
}
