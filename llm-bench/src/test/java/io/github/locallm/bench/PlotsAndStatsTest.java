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
    void pairedRatiosAreRoundByRoundAndNeedTheSameRounds() {
        assertThat(Stats.paired(List.of(2.0, 3.0, 4.0), List.of(1.0, 2.0, 4.0), false)).containsExactly(2.0, 1.5, 1.0);
        assertThat(Stats.paired(List.of(12.0, 13.0), List.of(10.0, 10.5), true)).containsExactly(2.0, 2.5);
        assertThat(Stats.paired(List.of(1.0), List.of(1.0, 2.0), false)).isEmpty();
        assertThat(Stats.spread(List.of(3.0, 1.0, 2.0))).containsExactly(1.0, 2.0, 3.0);
    }

    @Test
    void scalingAndClientResultsGiveTheirChartsAndTables(@TempDir Path dir) throws Exception {
        BenchMain b = new BenchMain(BenchMain.Config.of(false), dir);
        List<Map<String, Object>> rounds = new ArrayList<>();
        for (double speed : new double[] {1.0, 1.1}) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fill128.genTps", 100.0 * speed);
            m.put("fill2048.genTps", 60.0 * speed);
            m.put("fill128.ttftMs", 10.0 / speed);
            m.put("fill2048.ttftMs", 300.0 / speed);
            m.put("fill128.promptTps", 12800.0 * speed);
            m.put("fill2048.promptTps", 6826.0 * speed);
            m.put("fill128.peakRss", 300.0 * 1024 * 1024);
            m.put("fill2048.peakRss", 320.0 * 1024 * 1024);
            m.put("sessions1.tps", 90.0 * speed);
            m.put("sessions4.tps", 95.0 * speed);
            m.put("sessions4.ttftMsMedian", 200.0);
            m.put("sessions4.ttftMsMax", 900.0);
            rounds.add(m);
        }
        b.runs.put("scaling.llamacpp", rounds);
        Map<String, Object> rss = new LinkedHashMap<>();
        rss.put("rssAfterLoad", 200.0 * 1024 * 1024);
        rss.put("rssAfterGenerate", 210.0 * 1024 * 1024);
        b.runs.put("rss.llamacpp.4096", List.of(rss));
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("cpuUsPerToken", 12.5);
        client.put("allocPerToken", 900.0);
        client.put("latencyUsMedian", 80.0);
        client.put("pacedRequestsPerSecond", 12.0);
        b.runs.put("client.locallm-ollama", List.of(client));

        List<String> written = Plots.write(b, dir.resolve("plots"));
        String md = Report.markdown(b);

        assertThat(written).contains("scaling-decode-vs-fill.png", "scaling-ttft-vs-fill.png",
                "scaling-prompt-vs-length.png", "scaling-rss-vs-fill.png", "scaling-rss-vs-context.png",
                "scaling-sessions.png", "clients.png");
        assertThat(md).contains("| 2,048 | 63.0 (60.0..66.0) | — | — |", "| 4 | 99.8 (95.0..104.5); 200 / 900 ms |",
                "| 4,096 | 200 / 210 |", "| LocalLlm ollama backend | Ollama | 12.50 | n/a | 900 | n/a / n/a |");
        // a lower-is-better target is met when its whole spread is under the goal
        assertThat(md).contains("CPU per streamed token, SDK Ollama backend (µs, paced server) | ≤ 20 µs | 12.50 | "
                + "12.50..12.50 (1) | **met**");
    }

    @Test
    void chatRatioAndResidentMemoryHaveASpreadOverChildren(@TempDir Path dir) throws Exception {
        BenchMain b = new BenchMain(BenchMain.Config.of(true), dir);
        List<Map<String, Object>> chat = new ArrayList<>();
        double[][] children = {{200, 260, 1.3}, {220, 300, 1.36}, {210, 340, 1.62}};
        for (double[] c : children) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ttftTurn1", c[0]);
            m.put("ttftTurn10", c[1]);
            m.put("lastOverFirst", c[2]);
            m.put("sessions", 5.0);
            chat.add(m);
        }
        b.runs.put("chat", chat);
        List<Map<String, Object>> rss = new ArrayList<>();
        for (double mib : new double[] {212, 208, 215}) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("rssAfterLoad", (mib - 4) * 1024 * 1024);
            m.put("rssAfterGenerate", mib * 1024 * 1024);
            rss.add(m);
        }
        b.runs.put("rss.llamacpp.16384", rss);
        b.runs.put("rss.llamacpp.1024", List.of(Map.of("rssAfterLoad", 150.0 * 1024 * 1024, "rssAfterGenerate",
                152.0 * 1024 * 1024)));

        String md = Report.markdown(b);
        List<String> written = Plots.write(b, dir.resolve("plots"));

        // the ratio of each child is its sessions' median; the verdict follows from their spread
        assertThat(Report.chatRatios(b)).containsExactly(1.3, 1.36, 1.62);
        assertThat(md).contains("| ≤ 1.5× | 1.36 | 1.30..1.62 (3) | **inconclusive** |");
        assertThat(md).contains("| 10 | n/a | n/a | 300.0 (260.0..340.0) | 1.43× |");
        assertThat(md).contains("| 16,384 | 208 (204..211) / 212 (208..215) |", "| 1,024 | 150 / 152 |",
                "3 round(s)");
        assertThat(written).contains("scaling-rss-vs-context.png");
    }

    @Test
    void theBeforeSideOfTheDjlTableNamesTheJarsItRan(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("llm-djl-old.jar"), new byte[] {1, 2, 3});
        BenchMain b = new BenchMain(BenchMain.Config.of(true), dir);
        b.machine.put("commit", "0123456789abcdef0123456789abcdef01234567");
        b.machine.put("djlBefore", BenchMain.describeJars(jar + java.io.File.pathSeparator + dir, "commit 325f84b"));
        for (String key : new String[] {"djl.F32", "djl.F32.before"}) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("settings", "LocalLlm djl: ctx 1024");
            m.put("genTps", 10.0);
            b.runs.put(key, List.of(m));
        }

        String md = Report.markdown(b);

        // sha256 of the bytes 1, 2, 3 starts with 039058c6f2c0
        assertThat(md).contains("| `djl.F32.before` | LocalLlm djl: ctx 1024; earlier llm-core and llm-djl first on "
                + "the class path: commit 325f84b: " + jar + " (3 bytes, ");
        assertThat(md).contains("sha256 039058c6f2c0), " + dir + " (directory)");
        assertThat(md).contains("| `djl.F32` | LocalLlm djl: ctx 1024; this build: commit "
                + "0123456789abcdef0123456789abcdef01234567 |");
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
