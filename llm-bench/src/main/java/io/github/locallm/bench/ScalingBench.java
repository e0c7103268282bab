package io.github.locallm.bench;

import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * How the cost of one backend grows with work, in one process: for each context fill (a prompt of that many
 * tokens, then greedy decoding) the time to first token, prompt tokens/s, decode tokens/s at that fill and the
 * peak resident memory so far; then the throughput of 1, 2, 4 and 8 sessions generating at the same time on
 * the one open model. Scenario {@code rss}: resident memory after loading with a given context size and one
 * short generation.
 */
final class ScalingBench {
    private ScalingBench() {
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        String variant = p.get("variant");
        Path model = Path.of(p.get("model"));
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        int gen = Integer.parseInt(p.getOrDefault("genTokens", "32"));
        int round = Integer.parseInt(p.getOrDefault("round", "0"));
        List<Integer> fills = ints(p.getOrDefault("fills", "128,512,2048,8192"));
        List<Integer> sessions = ints(p.getOrDefault("sessions", "1,2,4,8"));
        int ctx = fills.stream().mapToInt(Integer::intValue).max().orElse(128) + gen + 64;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("variant", variant);
        r.put("settings", GenerationBench.settings(variant, ctx, threads, 1, 4));
        long t0 = System.nanoTime();
        try (GenerationBench.Backend b = new GenerationBench.Backend(variant, model, ctx, threads)) {
            r.put("loadMs", (System.nanoTime() - t0) / 1e6);
            r.put("rssAfterLoad", (double) Probe.rssBytes());
            b.generate(Workload.prompt(32, 600 + round), 4);
            for (int i = 0; i < fills.size(); i++) {
                int fill = fills.get(i);
                // A different first token in every round and fill, so that no prefix is reused.
                GenerationBench.Sample s = b.generate(Workload.prompt(fill, 1000 + round * 20 + i), gen);
                r.put("fill" + fill + ".ttftMs", s.ttftMs());
                r.put("fill" + fill + ".promptTps", s.promptTokensPerSecond());
                r.put("fill" + fill + ".genTps", s.genTokensPerSecond());
                r.put("fill" + fill + ".promptTokens", (double) s.promptTokens());
                r.put("fill" + fill + ".peakRss", (double) Probe.peakRssBytes());
            }
            GenerationOptions options = GenerationOptions.builder().maxTokens(gen).temperature(0).build();
            for (int n : sessions) {
                concurrent(b, n, options, round, r);
            }
        }
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    /** {@code n} sessions start together on the one model; aggregate tokens/s over the wall time of all. */
    private static void concurrent(GenerationBench.Backend b, int n, GenerationOptions options, int round,
                                   Map<String, Object> r) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        double[] ttft = new double[n];
        int[] tokens = new int[n];
        Throwable[] failure = new Throwable[1];
        long[] start = new long[1];
        for (int k = 0; k < n; k++) {
            int id = k;
            String prompt = Workload.prompt(64, 700 + round * 20 + k);
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    GenerationBench.TokenClock clock = new GenerationBench.TokenClock();
                    GenerationHandle h = b.llm.stream(prompt, options, clock);
                    Completion c = h.completion().get(10, TimeUnit.MINUTES);
                    tokens[id] = c.usage().completionTokens();
                    ttft[id] = ((clock.first == 0 ? System.nanoTime() : clock.first) - start[0]) / 1e6;
                } catch (Throwable e) {
                    synchronized (failure) {
                        failure[0] = e;
                    }
                }
            }, "session-" + k);
            t.start();
            threads.add(t);
        }
        start[0] = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(10));
        }
        double wall = (System.nanoTime() - start[0]) / 1e9;
        if (failure[0] != null) {
            throw new IllegalStateException(n + " concurrent sessions failed: " + failure[0], failure[0]);
        }
        int total = 0;
        List<Double> t = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            total += tokens[k];
            t.add(ttft[k]);
        }
        r.put("sessions" + n + ".tps", total / wall);
        r.put("sessions" + n + ".ttftMsMedian", Stats.median(t));
        r.put("sessions" + n + ".ttftMsMax", Stats.range(t)[1]);
    }

    /** Resident memory after loading with context size {@code ctx} and one short generation. */
    static Map<String, Object> rss(Map<String, String> p) throws Exception {
        String variant = p.get("variant");
        Path model = Path.of(p.get("model"));
        int ctx = Integer.parseInt(p.get("ctx"));
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("variant", variant);
        r.put("ctx", (double) ctx);
        long before = Probe.rssBytes();
        try (GenerationBench.Backend b = new GenerationBench.Backend(variant, model, ctx, threads)) {
            r.put("rssAfterLoad", (double) Probe.rssBytes());
            b.generate(Workload.prompt(32, 800), 4);
            r.put("rssAfterGenerate", (double) Probe.rssBytes());
        }
        r.put("rssBeforeLoad", (double) before);
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    static List<Integer> ints(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(Integer.parseInt(s.trim()));
            }
        }
        return out;
    }
}
