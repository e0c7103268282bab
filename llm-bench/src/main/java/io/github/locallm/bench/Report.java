package io.github.locallm.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Turns one run's results into the Markdown tables that BENCHMARKS.md shows. */
final class Report {
    private static final double MIB = 1024.0 * 1024.0;

    private final BenchMain b;
    private final StringBuilder md = new StringBuilder();
    private final Map<String, String> settings = new java.util.LinkedHashMap<>();

    private Report(BenchMain b) {
        this.b = b;
    }

    /** One ratio target: numerator run key / denominator run key on one field, higher is better. */
    record Ratio(String name, String shortName, double goal, String numerator, String denominator, String field) {
    }

    /** The ratio targets of the report and of its chart, in order. */
    static final List<Ratio> RATIOS = List.of(
            new Ratio("llama.cpp generation tokens/s, SDK (jllama engine) / raw binding (Q8_0)", "SDK/raw Q8_0", 0.97,
                    "llama.Q8_0.llamacpp", "llama.Q8_0.raw", "genTps"),
            new Ratio("llama.cpp generation tokens/s, SDK (jllama engine) / raw binding (F32)", "SDK/raw F32", 0.97,
                    "llama.F32.llamacpp", "llama.F32.raw", "genTps"),
            new Ratio("generation tokens/s, SDK (llamacpp engine) / C driver, 1 thread", "SDK/C 1t", 0.97,
                    "engines.t1.llamacpp", "engines.t1.native-c", "genTps"),
            new Ratio("generation tokens/s, SDK (llamacpp engine) / C driver, 2 threads", "SDK/C 2t", 0.97,
                    "engines.t2.llamacpp", "engines.t2.native-c", "genTps"),
            new Ratio("generation tokens/s, llamacpp engine / jllama engine, 1 thread", "new/old 1t", 1.0,
                    "engines.t1.llamacpp", "engines.t1.jllama", "genTps"),
            new Ratio("generation tokens/s, llamacpp engine / jllama engine, 2 threads", "new/old 2t", 1.0,
                    "engines.t2.llamacpp", "engines.t2.jllama", "genTps"),
            new Ratio("isolate=process decode tokens/s vs in-process (Q8_0)", "isolated/in-process", 0.95,
                    "isolation.isolated", "isolation.llamacpp", "genTps"));

    static String markdown(BenchMain b) {
        return new Report(b).build();
    }

    private String build() {
        run();
        targets();
        charts();
        engines();
        llama();
        chat();
        isolation();
        djl();
        ollama();
        notMeasured();
        return md.toString();
    }

    private void run() {
        Map<String, String> m = b.machine;
        md.append("### Run\n\n");
        md.append("| | |\n|---|---|\n");
        row("Mode", b.config.full() ? "full" : "quick (smoke run, small model)");
        row("Date (UTC)", m.get("date"));
        row("Wall time", m.get("wallSeconds") + " s");
        row("Machine", m.get("nproc") + " cores (`nproc`), " + m.get("cpu") + ", " + m.get("memory") + " RAM");
        row("Load average before / after", m.get("loadBefore") + " / " + m.get("loadAfter"));
        row("JVM", m.get("java"));
        if (b.workload != null) {
            Workload w = b.workload;
            row("Workload model", String.format(Locale.ROOT, "Llama, %,d parameters (width %d, %d layers, %d/%d heads, "
                    + "FFN %d, vocabulary %d)", w.config.parameterCount(), w.config.hiddenSize(),
                    w.config.numLayers(), w.config.numHeads(), w.config.numKvHeads(), w.config.intermediateSize(),
                    w.config.vocabSize()));
            row("Files", String.format(Locale.ROOT, "F32 GGUF %.0f MiB, Q8_0 GGUF %.0f MiB, HF F32 %.0f MiB, written in "
                    + "%.0f s", w.fileBytes(w.ggufF32) / MIB, w.fileBytes(w.ggufQ8) / MIB,
                    w.fileBytes(w.hfF32) / MIB, w.writeSeconds));
        }
        row("Per backend", b.config.llamaRounds() + " alternating rounds (one child JVM each), "
                + b.config.llamaReps() + " measured generations after 1 warm-up per round; prompt "
                + b.config.promptTokens() + " tokens, greedy, up to " + b.config.genTokens() + " new tokens; medians");
        row("Heap allocation", m.get("allocation"));
        md.append('\n');
    }

    private void targets() {
        md.append("### Targets\n\n");
        md.append("Ratios: median over child JVMs, with the spread min..max (the slowest child of one side against "
                + "the fastest of the other). A verdict is met or missed only when the whole spread is on one side "
                + "of the goal; otherwise it is inconclusive.\n\n");
        md.append("| Target | Goal | Measured | Verdict |\n|---|---|---|---|\n");
        for (Ratio r : RATIOS) {
            ratioTarget(r);
        }
        for (String q : new String[] {"Q8_0", "F32"}) {
            double raw = b.value("llama." + q + ".raw", "ttftMs");
            double sdk = b.value("llama." + q + ".llamacpp", "ttftMs");
            double d = sdk - raw;
            target("llama.cpp time-to-first-token overhead (" + q + ")", "≤ 2 ms", d, d <= 2,
                    String.format(Locale.ROOT, "%+.1f ms (%.1f vs %.1f ms; %.3f×)", d, sdk, raw, sdk / raw),
                    "llama." + q + ".llamacpp");
        }
        double cpu = b.value("ollama.locallm", "cpuUsPerToken");
        target("Ollama client CPU per streamed token", "≤ 20 µs", cpu, cpu <= 20,
                String.format(Locale.ROOT, "%.2f µs", cpu), "ollama.locallm");
        double alloc = b.value("ollama.locallm", "allocPerToken");
        target("Ollama client heap per streamed token", "≤ 2 KB", alloc, alloc <= 2048,
                String.format(Locale.ROOT, "%.0f B", alloc), "ollama.locallm");
        double rps = b.value("ollama.locallm", "requestsPerSecond");
        for (String other : new String[] {"ollama4j", "langchain4j"}) {
            double o = b.value("ollama." + other, "requestsPerSecond");
            target("Ollama requests/s vs " + other, "≥ 1.0×", rps / o, rps / o >= 1.0,
                    String.format(Locale.ROOT, "%.2f× (%.0f vs %.0f req/s)", rps / o, rps, o), "ollama." + other);
        }
        double djl = b.value("djl.F32", "genTps");
        double limit = limit(false);
        target("DJL decode vs memory-bandwidth limit (F32)", "≥ 0.8×", djl / limit, djl / limit >= 0.8,
                String.format(Locale.ROOT, "%.2f× (%.2f vs %.2f tok/s)", djl / limit, djl, limit), "djl.F32");
        double t1 = b.value("chat", "ttftTurn1");
        double t10 = b.value("chat", "ttftTurn10");
        target("Chat turn-10 vs turn-1 time to first token", "≤ 1.5×", t10 / t1, t10 / t1 <= 1.5,
                String.format(Locale.ROOT, "%.2f× (%.1f vs %.1f ms)", t10 / t1, t10, t1), "chat");
        md.append('\n');
        md.append("Settings of both sides of every ratio above:\n\n| Side | Load and thread settings |\n|---|---|\n");
        for (Map.Entry<String, String> e : settings.entrySet()) {
            md.append("| `").append(e.getKey()).append("` | ").append(e.getValue().replace('|', '/')).append(" |\n");
        }
        md.append('\n');
        List<String> violations = b.bandwidthViolations();
        md.append("Bandwidth check (no decode rate may exceed its memory-bandwidth limit): ")
                .append(Double.isNaN(b.bestBandwidth()) ? "not run (no bandwidth probe in this run)"
                        : b.workload != null && b.workload.weightBytesPerToken(false) < BenchMain.CACHE_RESIDENT_BYTES
                        ? "not applicable (the workload's weights fit in the caches; only a full run checks it)"
                        : violations.isEmpty() ? "passed" : "**FAILED**: " + String.join("; ", violations))
                .append("\n\n");
    }

    /** A ratio target (higher is better) with its spread across children and the verdict that follows. */
    private void ratioTarget(Ratio ratio) {
        String name = ratio.name();
        double goal = ratio.goal();
        String numerator = ratio.numerator();
        String denominator = ratio.denominator();
        String field = ratio.field();
        double[] r = Stats.ratioSpread(b.values(numerator, field), b.values(denominator, field));
        String verdict = Stats.verdict(r, goal, true);
        String measured;
        if (verdict.equals("not measured")) {
            measured = reason(numerator.substring(0, numerator.lastIndexOf('.')));
        } else {
            measured = String.format(Locale.ROOT, "%.3f× (spread %.3f..%.3f; %.2f vs %.2f; %d vs %d children)",
                    r[1], r[0], r[2], b.value(numerator, field), b.value(denominator, field),
                    b.values(numerator, field).size(), b.values(denominator, field).size());
        }
        md.append("| ").append(name).append(" | ≥ ").append(f(goal, 2)).append("× | ").append(measured).append(" | ")
                .append(verdict.equals("not measured") ? verdict : "**" + verdict + "**").append(" |\n");
        settings.put(numerator, setting(numerator));
        settings.put(denominator, setting(denominator));
    }

    private String setting(String key) {
        for (Map<String, Object> m : b.runs.getOrDefault(key, List.of())) {
            if (m.get("settings") instanceof String st) {
                return st;
            }
        }
        return key.endsWith("native-c") ? "llama_driver.c: same model, ctx, threads and prompts; no warm-up decode"
                : "not recorded";
    }

    private void target(String name, String goal, double value, boolean met, String measured, String key) {
        String verdict;
        if (Double.isNaN(value)) {
            verdict = "not measured";
            measured = reason(key);
        } else {
            verdict = met ? "**met**" : "**missed**";
        }
        md.append("| ").append(name).append(" | ").append(goal).append(" | ").append(measured).append(" | ")
                .append(verdict).append(" |\n");
    }

    private String reason(String key) {
        for (Map.Entry<String, String> e : b.errors.entrySet()) {
            if (e.getKey().startsWith(key) || key.startsWith(e.getKey())) {
                return e.getValue().replace('|', '/');
            }
        }
        return "no result";
    }

    /**
     * Returns the decoding limit in tokens/s: the machine's bandwidth over the weight bytes one token reads. The
     * bandwidth is the best trial of the run: other users of the machine can only lower a trial, so the best
     * one is the closest to what the hardware can do.
     */
    private double limit(boolean q8) {
        if (b.workload == null) {
            return Double.NaN;
        }
        return bestBandwidth() * 1e9 / b.workload.weightBytesPerToken(q8);
    }

    private double bestBandwidth() {
        return b.bestBandwidth();
    }

    /** The llamacpp engine against the jllama engine and the same native library driven from C. */
    private void engines() {
        for (int threads : new int[] {1, 2}) {
            String n = "engines.t" + threads + ".llamacpp";
            String o = "engines.t" + threads + ".jllama";
            String c = "engines.t" + threads + ".native-c";
            if (!b.runs.containsKey(n) && !b.runs.containsKey(o) && !b.runs.containsKey(c)) {
                continue;
            }
            md.append("### llama.cpp engines, ").append(threads).append(threads == 1 ? " thread" : " threads")
                    .append(": llamacpp (C API through JNA) vs jllama (de.kherud:llama b4916) vs C (Q8_0)\n\n");
            md.append("Same GGUF file, same threads, same prompts, the three variants in rotating order in each round. ")
                    .append("C is `llama_driver.c` compiled with gcc against the libraries the llamacpp engine loaded. ")
                    .append("The machine is shared with other builds: read the ratios, not the absolute numbers.\n\n");
            md.append("| Metric | llamacpp | jllama | C | llamacpp / jllama | llamacpp / C |\n|---|---|---|---|---|---|\n");
            for (String[] m : new String[][] {{"Load time (ms)", "loadMs", "0"}, {"Time to first token (ms)", "ttftMs", "1"},
                {"Prompt tokens/s", "promptTps", "1"}, {"Generation tokens/s", "genTps", "2"}}) {
                int d = Integer.parseInt(m[2]);
                double vn = b.value(n, m[1]);
                double vo = b.value(o, m[1]);
                double vc = b.value(c, m[1]);
                md.append("| ").append(m[0]).append(" | ").append(f(vn, d)).append(" | ").append(f(vo, d)).append(" | ")
                        .append(f(vc, d)).append(" | ").append(f(vn / vo, 2)).append("× | ").append(f(vn / vc, 2))
                        .append("× |\n");
            }
            md.append("| Generation tokens/s, rounds min..max | ").append(range(n)).append(" | ").append(range(o))
                    .append(" | ").append(range(c)).append(" | | |\n\n");
        }
    }

    private String range(String key) {
        List<Double> v = b.values(key, "genTps");
        if (v.isEmpty()) {
            return "—";
        }
        return f(v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN), 1) + ".."
                + f(v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN), 1);
    }

    private void isolation() {
        if (!b.runs.containsKey("isolation.llamacpp") && !b.runs.containsKey("isolation.isolated")) {
            return;
        }
        String in = "isolation.llamacpp";
        String out = "isolation.isolated";
        md.append("### llama.cpp in this process vs in an engine process (`isolate=process`, Q8_0)\n\n");
        md.append("| Metric | in-process | isolate=process | ratio |\n|---|---|---|---|\n");
        compare("Load time (ms)", in, out, "loadMs", 0, 1);
        compare("Time to first token (ms)", in, out, "ttftMs", 1, 1);
        compare("Generation tokens/s", in, out, "genTps", 2, 1);
        spread("Generation tokens/s, rounds min..max", in, out, "genTps");
        compare("Peak RSS of the measuring JVM (MiB)", in, out, "peakRss", 0, MIB);
        compare("Java heap per generated token (B)", in, out, "allocPerToken", 0, 1);
        md.append("\nWith `isolate=process` the model's memory is in the engine process, so the measuring JVM's RSS "
                + "is only the caller's; load time includes starting the engine JVM.\n\n");
    }

    private void llama() {
        for (String q : new String[] {"Q8_0", "F32"}) {
            String raw = "llama." + q + ".raw";
            String sdk = "llama." + q + ".llamacpp";
            md.append("### llama.cpp backend vs raw `de.kherud:llama` (").append(q).append(")\n\n");
            md.append("| Metric | raw binding | LocalLlm llamacpp | ratio |\n|---|---|---|---|\n");
            compare("Load time (ms)", raw, sdk, "loadMs", 0, 1);
            compare("Time to first token (ms)", raw, sdk, "ttftMs", 1, 1);
            compare("Prompt tokens/s", raw, sdk, "promptTps", 1, 1);
            compare("Generation tokens/s", raw, sdk, "genTps", 2, 1);
            spread("Generation tokens/s, rounds min..max", raw, sdk, "genTps");
            compare("Peak RSS (MiB)", raw, sdk, "peakRss", 0, MIB);
            compare("Java heap per generated token (B)", raw, sdk, "allocPerToken", 0, 1);
            compare("Prompt / generated tokens", raw, sdk, "promptTokens", 0, 1, "tokens");
            compare("Children / measured generations per child (median)", raw, sdk);
            double lim = limit(q.equals("Q8_0"));
            md.append("| Share of the memory-bandwidth limit (").append(f(lim, 1)).append(" tok/s) | ")
                    .append(f(b.value(raw, "genTps") / lim, 2)).append("× | ").append(f(b.value(sdk, "genTps") / lim, 2))
                    .append("× | |\n");
            md.append('\n');
            String diag = "llama." + q + ".raw-nowarmup";
            if (b.runs.containsKey(diag)) {
                md.append("Breakdown: the backend loads models with `--no-warmup` (`ModelParameters.skipWarmup()`); the "
                        + "raw binding loaded the same way, in the same run:\n\n");
                md.append("| Metric | raw binding | raw binding, `--no-warmup` | LocalLlm llamacpp |\n|---|---|---|---|\n");
                for (String[] m : new String[][] {{"Time to first token (ms)", "ttftMs", "1"},
                    {"Prompt tokens/s", "promptTps", "1"}, {"Generation tokens/s", "genTps", "2"}}) {
                    int d = Integer.parseInt(m[2]);
                    md.append("| ").append(m[0]).append(" | ").append(f(b.value(raw, m[1]), d)).append(" | ")
                            .append(f(b.value(diag, m[1]), d)).append(" | ").append(f(b.value(sdk, m[1]), d))
                            .append(" |\n");
                }
                md.append('\n');
            }
        }
    }

    private void compare(String name, String a, String c, String field, int decimals, double scale) {
        double x = b.value(a, field) / scale;
        double y = b.value(c, field) / scale;
        md.append("| ").append(name).append(" | ").append(f(x, decimals)).append(" | ").append(f(y, decimals))
                .append(" | ").append(f(y / x, 3)).append("× |\n");
    }

    private void compare(String name, String a, String c, String f1, int decimals, double scale, String f2) {
        md.append("| ").append(name).append(" | ").append(f(b.value(a, f1), 0)).append(" / ")
                .append(f(b.value(a, f2), 0)).append(" | ").append(f(b.value(c, f1), 0)).append(" / ")
                .append(f(b.value(c, f2), 0)).append(" | |\n");
    }

    private void compare(String name, String a, String c) {
        md.append("| ").append(name).append(" | ").append(b.values(a, "reps").size()).append(" / ")
                .append(f(b.value(a, "reps"), 0)).append(" | ").append(b.values(c, "reps").size()).append(" / ")
                .append(f(b.value(c, "reps"), 0)).append(" | |\n");
    }

    private void spread(String name, String a, String c, String field) {
        double[] x = Stats.range(b.values(a, field));
        double[] y = Stats.range(b.values(c, field));
        md.append("| ").append(name).append(" | ").append(f(x[0], 2)).append("..").append(f(x[1], 2)).append(" | ")
                .append(f(y[0], 2)).append("..").append(f(y[1], 2)).append(" | |\n");
    }

    private void chat() {
        md.append("### ChatSession on the llama.cpp backend (Q8_0), time to first token per turn\n\n");
        md.append("| Turn | Prompt tokens | Time to first token (ms) | × turn 1 |\n|---|---|---|---|\n");
        double t1 = b.value("chat", "ttftTurn1");
        for (int t : new int[] {1, 2, 5, 10}) {
            double v = b.value("chat", "ttftTurn" + t);
            md.append("| ").append(t).append(" | ").append(f(b.value("chat", "promptTokensTurn" + t), 0)).append(" | ")
                    .append(f(v, 1)).append(" | ").append(f(v / t1, 2)).append("× |\n");
        }
        double cold = b.value("chat", "ttftLastCold");
        md.append("| 10, same prompt sent cold (prefix evicted) | ").append(f(b.value("chat", "promptTokensTurn10"), 0))
                .append(" | ").append(f(cold, 1)).append(" | ").append(f(cold / t1, 2)).append("× |\n\n");
    }

    private void djl() {
        String djl = "djl.F32";
        md.append("### DJL backend on the same weights (F32) and the memory-bandwidth limit\n\n");
        md.append("| Metric | DJL (HF F32) | llama.cpp backend (F32 GGUF) | raw llama.cpp (F32 GGUF) |\n"
                + "|---|---|---|---|\n");
        triple("Load time (ms)", djl, "loadMs", 0, 1);
        triple("Time to first token (ms)", djl, "ttftMs", 1, 1);
        triple("Prompt tokens/s", djl, "promptTps", 1, 1);
        triple("Generation tokens/s", djl, "genTps", 2, 1);
        triple("Peak RSS (MiB)", djl, "peakRss", 0, MIB);
        triple("Java heap per generated token (B)", djl, "allocPerToken", 0, 1);
        double bw = bestBandwidth();
        double median = b.value("bandwidth", "gbPerSecond");
        long bytes = b.workload == null ? 0 : b.workload.weightBytesPerToken(false);
        double lim = limit(false);
        md.append('\n');
        md.append("| Memory bandwidth (2 threads, sequential read, best of Java and gcc -O3 -march=native -fopenmp): best / median of native runs | Weight bytes read "
                + "per token (F32) | Decode limit | DJL / limit | llama.cpp backend / limit | raw llama.cpp / limit |\n"
                + "|---|---|---|---|---|---|\n");
        md.append("| ").append(f(bw, 2)).append(" / ").append(f(median, 2)).append(" GB/s (")
                .append(b.values("bandwidth", "gbPerSecond").size()).append(" runs) | ").append(f(bytes / 1e6, 1))
                .append(" MB | ").append(f(lim, 2)).append(" tok/s | ").append(f(b.value(djl, "genTps") / lim, 2))
                .append("× | ").append(f(b.value("llama.F32.llamacpp", "genTps") / lim, 2)).append("× | ")
                .append(f(b.value("llama.F32.raw", "genTps") / lim, 2)).append("× |\n\n");
        if (b.runs.containsKey("djl.F32.omp1")) {
            md.append("Breakdown: the same DJL decode with PyTorch's intra-op (OpenMP) pool limited to one thread "
                    + "(`OMP_NUM_THREADS=1`), in the same run:\n\n");
            md.append("| Metric | DJL, default threads | DJL, `OMP_NUM_THREADS=1` | ratio |\n|---|---|---|---|\n");
            compare("Time to first token (ms)", djl, "djl.F32.omp1", "ttftMs", 1, 1);
            compare("Prompt tokens/s", djl, "djl.F32.omp1", "promptTps", 1, 1);
            compare("Generation tokens/s", djl, "djl.F32.omp1", "genTps", 2, 1);
            md.append("| Share of the decode limit | ").append(f(b.value(djl, "genTps") / lim, 2)).append("× | ")
                    .append(f(b.value("djl.F32.omp1", "genTps") / lim, 2)).append("× | |\n\n");
        }
        beforeAfter();
        profile();
    }

    /** The DJL decode of this build against an earlier one, F32 and F16, from alternating children. */
    private void beforeAfter() {
        if (!b.runs.containsKey("djl.F32.before") && !b.runs.containsKey("djl.F16")) {
            return;
        }
        double lim32 = limit(false);
        double lim16 = b.workload == null ? Double.NaN
                : bestBandwidth() * 1e9 / b.workload.weightBytesPerTokenF16();
        md.append("DJL backend before and after (the earlier build's llm-core and llm-djl jars in alternating child "
                + "JVMs of the same run; F16 is the same model stored in F16, its limit counts F16 bytes"
                + (b.djlOneThread ? "; every DJL child with `OMP_NUM_THREADS=1`" : "") + "):\n\n");
        md.append("| Metric | F32 before | F32 after | after / before | F16 before | F16 after | after / before |\n"
                + "|---|---|---|---|---|---|---|\n");
        String[][] rows = {{"Load time (ms)", "loadMs", "0", "1"}, {"Time to first token (ms)", "ttftMs", "1", "1"},
            {"Prompt tokens/s", "promptTps", "1", "1"}, {"Generation tokens/s", "genTps", "2", "1"},
            {"Peak RSS (MiB)", "peakRss", "0", Double.toString(MIB)},
            {"Java heap per generated token (B)", "allocPerToken", "0", "1"}};
        for (String[] r : rows) {
            int dec = Integer.parseInt(r[2]);
            double scale = Double.parseDouble(r[3]);
            md.append("| ").append(r[0]);
            for (String dtype : new String[] {"F32", "F16"}) {
                double before = b.value("djl." + dtype + ".before", r[1]) / scale;
                double after = b.value("djl." + dtype, r[1]) / scale;
                md.append(" | ").append(f(before, dec)).append(" | ").append(f(after, dec)).append(" | ")
                        .append(f(after / before, 2)).append("×");
            }
            md.append(" |\n");
        }
        md.append("| Share of the decode limit (").append(f(lim32, 1)).append(" tok/s F32, ").append(f(lim16, 1))
                .append(" tok/s F16)");
        for (String dtype : new String[] {"F32", "F16"}) {
            double lim = dtype.equals("F32") ? lim32 : lim16;
            double before = b.value("djl." + dtype + ".before", "genTps") / lim;
            double after = b.value("djl." + dtype, "genTps") / lim;
            md.append(" | ").append(f(before, 2)).append("× | ").append(f(after, 2)).append("× | ");
        }
        md.append(" |\n\n");
    }

    @SuppressWarnings("unchecked")
    private void profile() {
        Map<String, Object> p = b.profiles.get("djl");
        if (p == null) {
            return;
        }
        int samples = ((Number) p.get("samples")).intValue();
        if (samples == 0) {
            return;
        }
        md.append("Where the DJL backend's time goes (Flight Recorder method samples of its generating thread in the "
                + "last DJL round, ").append(samples).append(" samples, load excluded):\n\n");
        md.append("| Thread was in | Share |\n|---|---|\n");
        int shown = 0;
        for (Map.Entry<String, Integer> e : ((Map<String, Integer>) p.get("top")).entrySet()) {
            if (shown++ == 8) {
                break;
            }
            md.append("| `").append(e.getKey()).append("` | ").append(f(100.0 * e.getValue() / samples, 1))
                    .append(" % |\n");
        }
        md.append("\n| Decoder source line | Share |\n|---|---|\n");
        shown = 0;
        for (Map.Entry<String, Integer> e : ((Map<String, Integer>) p.get("lines")).entrySet()) {
            if (shown++ == 8) {
                break;
            }
            md.append("| `").append(e.getKey()).append("` | ").append(f(100.0 * e.getValue() / samples, 1))
                    .append(" % |\n");
        }
        md.append('\n');
    }

    private void triple(String name, String djl, String field, int decimals, double scale) {
        md.append("| ").append(name).append(" | ").append(f(b.value(djl, field) / scale, decimals)).append(" | ")
                .append(f(b.value("llama.F32.llamacpp", field) / scale, decimals)).append(" | ")
                .append(f(b.value("llama.F32.raw", field) / scale, decimals)).append(" |\n");
    }

    private void ollama() {
        md.append("### Ollama clients against a local server that streams without delay\n\n");
        md.append(String.format(Locale.ROOT, "Per-token figures: answers of %,d tokens (`/api/chat`, streamed); "
                + "requests/s: answers of 16 tokens, one request at a time; %d alternating rounds, one child JVM "
                + "per client and round; CPU is the client process's (all threads).%n%n",
                b.config.longTokens(), b.config.ollamaRounds()));
        md.append("| Client | CPU µs/token | Wall µs/token | Heap B/token | Requests/s | Heap B/request | "
                + "Peak RSS (MiB) |\n|---|---|---|---|---|---|---|\n");
        String[][] clients = {{"locallm", "LocalLlm ollama backend"}, {"okhttp", "raw OkHttp + Jackson"},
            {"ollama4j", "ollama4j"}, {"langchain4j", "LangChain4j"}};
        for (String[] c : clients) {
            String k = "ollama." + c[0];
            md.append("| ").append(c[1]).append(" | ").append(f(b.value(k, "cpuUsPerToken"), 2)).append(" | ")
                    .append(f(b.value(k, "wallUsPerToken"), 2)).append(" | ").append(f(b.value(k, "allocPerToken"), 0))
                    .append(" | ").append(f(b.value(k, "requestsPerSecond"), 0)).append(" | ")
                    .append(f(b.value(k, "allocPerRequest"), 0)).append(" | ")
                    .append(f(b.value(k, "peakRss") / MIB, 0)).append(" |\n");
        }
        md.append("\n| LocalLlm vs | CPU per token | Heap per token | Requests/s |\n|---|---|---|---|\n");
        for (String[] c : clients) {
            if (c[0].equals("locallm")) {
                continue;
            }
            String k = "ollama." + c[0];
            md.append("| ").append(c[1]).append(" | ")
                    .append(f(b.value("ollama.locallm", "cpuUsPerToken") / b.value(k, "cpuUsPerToken"), 2)).append("× | ")
                    .append(f(b.value("ollama.locallm", "allocPerToken") / b.value(k, "allocPerToken"), 2)).append("× | ")
                    .append(f(b.value("ollama.locallm", "requestsPerSecond") / b.value(k, "requestsPerSecond"), 2))
                    .append("× |\n");
        }
        md.append('\n');
    }

    private void charts() {
        if (b.plots.isEmpty()) {
            return;
        }
        md.append("### Charts\n\n");
        for (String file : b.plots) {
            String where = b.plotDir.getFileName().toString().equals("benchmarks") ? "benchmarks/" + file
                    : b.plotDir.resolve(file).toString();
            md.append("![").append(file.replace(".png", "")).append("](").append(where).append(")\n\n");
        }
    }

    private void notMeasured() {
        if (b.errors.isEmpty()) {
            return;
        }
        md.append("### Not measured\n\n");
        for (Map.Entry<String, String> e : b.errors.entrySet()) {
            md.append("- `").append(e.getKey()).append("`: ").append(e.getValue()).append('\n');
        }
        md.append('\n');
    }

    private void row(String k, String v) {
        md.append("| ").append(k).append(" | ").append(v).append(" |\n");
    }

    static String f(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    static String list(List<Double> values) {
        StringBuilder sb = new StringBuilder();
        for (Double d : values) {
            sb.append(sb.length() == 0 ? "" : ", ").append(f(d, 2));
        }
        return sb.toString();
    }
}
