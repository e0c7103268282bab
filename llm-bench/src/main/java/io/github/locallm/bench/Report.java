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

    /**
     * One ratio target: numerator run key / denominator run key on one field, higher is better; a NaN goal
     * means the ratio is reported without a target.
     */
    record Ratio(String name, String shortName, double goal, String numerator, String denominator, String field) {
    }

    /**
     * The field of a paired child's sides (both measured in one process, requests interleaved) whose ratio is
     * the median over requests of one side's rate over the other's on the same prompt.
     */
    static final String PAIRED = "pairRatio";

    /** The ratio targets of the report and of its chart, in order. */
    static final List<Ratio> RATIOS = List.of(
            new Ratio("llama.cpp decode tokens/s, SDK (jllama engine) / raw de.kherud binding, Q8_0", "SDK/raw Q8_0",
                    0.97, "llama.Q8_0.llamacpp", "llama.Q8_0.raw", "genTps"),
            new Ratio("llama.cpp decode tokens/s, SDK (jllama engine) / raw de.kherud binding, F32", "SDK/raw F32",
                    0.97, "llama.F32.llamacpp", "llama.F32.raw", "genTps"),
            new Ratio("decode tokens/s, SDK (llamacpp engine) / C driver on the same library, 1 thread", "SDK/C 1t",
                    0.9, "engines.t1.llamacpp", "engines.t1.native-c", PAIRED),
            new Ratio("decode tokens/s, SDK (llamacpp engine) / C driver on the same library, 2 threads", "SDK/C 2t",
                    0.9, "engines.t2.llamacpp", "engines.t2.native-c", PAIRED),
            new Ratio("prompt tokens/s, SDK (llamacpp engine) / C driver, 2 threads", "SDK/C prompt 2t",
                    0.9, "engines.t2.llamacpp", "engines.t2.native-c", "promptTps"),
            new Ratio("decode tokens/s, new engine (llamacpp) / old engine (jllama), 1 thread", "new/old 1t",
                    Double.NaN, "engines.t1.llamacpp", "engines.t1.jllama", "genTps"),
            new Ratio("decode tokens/s, new engine (llamacpp) / old engine (jllama), 2 threads", "new/old 2t",
                    Double.NaN, "engines.t2.llamacpp", "engines.t2.jllama", "genTps"),
            new Ratio("decode tokens/s, isolate=process / in-process (llamacpp engine, Q8_0, 2 threads)",
                    "isolated/in-process", 0.95, "isolation.paired.isolated", "isolation.paired.llamacpp", PAIRED),
            new Ratio("decode tokens/s, isolate=process / in-process, 3M-parameter model (fastest tokens), 1 thread",
                    "isolated/in-process tiny", 0.95, "isolation.tiny.isolated", "isolation.tiny.llamacpp", PAIRED),
            new Ratio("decode tokens/s, isolate=process / in-process, 3M-parameter model, 2 threads on 2 cores",
                    "isolated/in-process tiny 2t", Double.NaN, "isolation.tiny2.isolated", "isolation.tiny2.llamacpp",
                    PAIRED),
            new Ratio("decode tokens/s, isolate=process / in-process, embedded demo model (its chat, greedy answers "
                    + "to its corpus questions, the backend's default threads)", "isolated/in-process demo", 0.95,
                    "isolation.demo.isolated", "isolation.demo.llamacpp", PAIRED),
            new Ratio("DJL decode tokens/s, this build / earlier build, F32", "DJL after/before F32", Double.NaN,
                    "djl.F32", "djl.F32.before", "genTps"),
            new Ratio("DJL decode tokens/s, this build / earlier build, F16", "DJL after/before F16", Double.NaN,
                    "djl.F16", "djl.F16.before", "genTps"));

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
        clients();
        scaling();
        notMeasured();
        return md.toString();
    }

    private void run() {
        Map<String, String> m = b.machine;
        md.append("### Run\n\n");
        md.append("| | |\n|---|---|\n");
        row("Mode", b.config.full() ? "full" : "quick (smoke run, small model; not a verdict)");
        row("Sections", m.get("sections"));
        row("Date (UTC)", m.get("date"));
        row("Wall time", m.get("wallSeconds") + " s");
        row("Machine", m.get("nproc") + " cores (`nproc`), " + m.get("cpu") + ", " + m.get("memory") + " RAM");
        row("Load average before / after", m.get("loadBefore") + " / " + m.get("loadAfter"));
        row("JVM", m.get("java"));
        row("Commit measured", m.getOrDefault("commit", "not recorded"));
        if (m.containsKey("djlBefore")) {
            row("DJL \"before\" jars", m.get("djlBefore"));
        }
        if (b.workload != null) {
            Workload w = b.workload;
            row("Workload model", describe(w));
            row("Files", String.format(Locale.ROOT, "F32 GGUF %.0f MiB, Q8_0 GGUF %.0f MiB, HF F32 %.0f MiB, HF F16 "
                    + "%.0f MiB, written in %.0f s", w.fileBytes(w.ggufF32) / MIB, w.fileBytes(w.ggufQ8) / MIB,
                    w.fileBytes(w.hfF32) / MIB, w.fileBytes(w.hfF16) / MIB, w.writeSeconds));
        }
        if (b.scalingWorkload != null) {
            row("Scaling model", describe(b.scalingWorkload) + String.format(Locale.ROOT, "; Q8_0 GGUF %.0f MiB "
                    + "(llama.cpp engines), HF F32 %.0f MiB (DJL)", b.scalingWorkload.fileBytes(b.scalingWorkload.ggufQ8)
                    / MIB, b.scalingWorkload.fileBytes(b.scalingWorkload.hfF32) / MIB));
        }
        row("Per backend", b.config.llamaRounds() + " interleaved rounds (one child JVM per side and round), "
                + b.config.llamaReps() + " measured generations per child after 1 unmeasured warm-up; prompt "
                + b.config.promptTokens() + " tokens, greedy, " + b.config.genTokens() + " new tokens (DJL "
                + b.config.djlRounds() + " rounds × " + b.config.djlReps() + ", " + b.config.djlGenTokens()
                + " new tokens); each child reports its median");
        row("ChatSession, resident memory, clients", b.config.chatChildren() + " chat child JVMs × up to "
                + b.config.chatSessions() + " measured sessions of 10 turns after 1 unmeasured warm-up session; "
                + "resident memory " + b.config.rssRounds() + " round(s) per backend and context size; clients "
                + b.config.clientRounds() + " round(s) × " + b.config.pacedReps() + " paced answers of "
                + b.config.pacedTokens() + " tokens and " + b.config.windows() + " windows of " + b.config.windowMs()
                + " ms");
        row("Writeback wait before each section", writebacks());
        row("Heap allocation (generation children)", m.get("allocation"));
        md.append('\n');
    }

    private static String describe(Workload w) {
        return String.format(Locale.ROOT, "Llama, %,d parameters (width %d, %d layers, %d/%d heads, FFN %d, "
                + "vocabulary %d, trained context %d)", w.config.parameterCount(), w.config.hiddenSize(),
                w.config.numLayers(), w.config.numHeads(), w.config.numKvHeads(), w.config.intermediateSize(),
                w.config.vocabSize(), w.config.maxPositionEmbeddings());
    }

    private String writebacks() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : b.machine.entrySet()) {
            if (e.getKey().startsWith("writeback.")) {
                sb.append(sb.length() == 0 ? "" : "; ").append(e.getKey().substring(10)).append(": ")
                        .append(e.getValue());
            }
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    private void targets() {
        md.append("### Targets\n\n");
        md.append("A ratio's spread is the range of its per-round ratios (each round ran both sides next to each "
                + "other, in alternating order); where the sides have different numbers of children it is the slowest "
                + "child of one side against the fastest of the other. A verdict is **met** or **missed** only when the "
                + "whole spread is on one side of the goal, **inconclusive** otherwise. Rows without a goal are "
                + "reported, not judged.\n\n");
        md.append("| Target | Goal | Median | Spread (min..max) | Verdict | Both sides (settings) |\n"
                + "|---|---|---|---|---|---|\n");
        for (Ratio r : RATIOS) {
            ratioTarget(r);
        }
        for (String q : new String[] {"Q8_0", "F32"}) {
            String raw = "llama." + q + ".raw";
            String sdk = "llama." + q + ".llamacpp";
            List<Double> d = Stats.paired(b.values(sdk, "ttftMs"), b.values(raw, "ttftMs"), true);
            spreadTarget("llama.cpp time-to-first-token overhead, SDK (jllama engine) − raw binding, " + q + " (ms)",
                    2, false, "≤ 2 ms", d, 1, sdk, raw);
        }
        double bw = b.bestBandwidth();
        if (b.workload != null) {
            for (String dtype : new String[] {"F32", "F16"}) {
                double bytes = dtype.equals("F32") ? b.workload.weightBytesPerToken(false)
                        : b.workload.weightBytesPerTokenF16();
                double limit = bw * 1e9 / bytes;
                List<Double> shares = new java.util.ArrayList<>();
                for (double v : b.values("djl." + dtype, "genTps")) {
                    shares.add(v / limit);
                }
                spreadTarget("DJL decode, share of its memory-bandwidth limit, " + dtype, 0.8, true, "≥ 0.80×", shares,
                        3, "djl." + dtype, String.format(Locale.ROOT, "limit %.1f tok/s = best bandwidth trial "
                        + "%.1f GB/s ÷ %.1f MB of %s weights per token", limit, bw, bytes / 1e6, dtype));
            }
        }
        for (String[] c : new String[][] {{"locallm-ollama", "Ollama"}, {"locallm-openai", "OpenAI-compatible"}}) {
            String k = "client." + c[0];
            spreadTarget("CPU per streamed token, SDK " + c[1] + " backend (µs, paced server)", 20, false, "≤ 20 µs",
                    b.values(k, "cpuUsPerToken"), 2, k, "goal");
            spreadTarget("Java heap per streamed token, SDK " + c[1] + " backend (B, paced server)", 2048, false,
                    "≤ 2 KB", b.values(k, "allocPerToken"), 0, k, "goal");
        }
        for (String other : new String[] {"ollama4j", "langchain4j-ollama"}) {
            spreadTarget("requests/s on paced 16-token answers, SDK Ollama backend / " + other, 1.0, true, "≥ 1.0×",
                    ratios("client.locallm-ollama", "client." + other, "pacedRequestsPerSecond"), 3,
                    "client.locallm-ollama", "client." + other);
        }
        spreadTarget("ChatSession turn-10 / turn-1 time to first token (turn 1 cold; spread over children)", 1.5,
                false, "≤ 1.5×", chatRatios(b), 2, "chat", "chat");
        md.append('\n');
        md.append("Settings of every side named above:\n\n| Side | Load and thread settings |\n|---|---|\n");
        for (Map.Entry<String, String> e : settings.entrySet()) {
            md.append("| `").append(e.getKey()).append("` | ").append(e.getValue().replace('|', '/')).append(" |\n");
        }
        md.append('\n');
        List<String> violations = b.bandwidthViolations();
        md.append("Bandwidth check (no decode rate may exceed its memory-bandwidth limit): ")
                .append(Double.isNaN(b.bestBandwidth()) ? "not run (no bandwidth probe in this run)"
                        : b.workload != null && b.workload.weightBytesPerToken(false) < BenchMain.CACHE_RESIDENT_BYTES
                        ? "not applicable (the workload's weights fit in the caches; only a full run checks it)"
                        : violations.isEmpty() ? "**passed**: " + bandwidthSummary()
                        : "**FAILED**: " + String.join("; ", violations))
                .append("\n\n");
    }

    /** The highest share of its limit any checked decode rate reached, for the bandwidth check's line. */
    private String bandwidthSummary() {
        double bw = b.bestBandwidth() * 1e9;
        double worst = 0;
        String which = "";
        for (String key : b.runs.keySet()) {
            if (key.contains(".tiny") || key.contains(".demo.")) {
                continue;
            }
            double bytes;
            if (key.startsWith("djl.F32") || key.startsWith("llama.F32.")) {
                bytes = b.workload.weightBytesPerToken(false);
            } else if (key.startsWith("djl.F16")) {
                bytes = b.workload.weightBytesPerTokenF16();
            } else if (key.startsWith("llama.Q8_0.") || key.startsWith("engines.") || key.startsWith("isolation.")) {
                bytes = b.workload.weightBytesPerToken(true);
            } else {
                continue;
            }
            for (double tps : b.values(key, "genTps")) {
                if (tps * bytes / bw > worst) {
                    worst = tps * bytes / bw;
                    which = key;
                }
            }
        }
        return String.format(Locale.ROOT, "the highest decode rate of the run is %.3f× its limit (`%s`), against a "
                + "best bandwidth trial of %.1f GB/s", worst, which, b.bestBandwidth());
    }

    /** Per-round ratios of one field, or the extreme pairs when the rounds cannot be paired. */
    private List<Double> ratios(String numerator, String denominator, String field) {
        return ratios(b, numerator, denominator, field);
    }

    /** Per-round ratios of one field, or the extreme pairs when the rounds cannot be paired. */
    static List<Double> ratios(BenchMain b, String numerator, String denominator, String field) {
        List<Double> n = b.values(numerator, field);
        List<Double> d = b.values(denominator, field);
        List<Double> paired = Stats.paired(n, d, false);
        if (!paired.isEmpty() || n.isEmpty() || d.isEmpty()) {
            return paired;
        }
        double[] s = Stats.ratioSpread(n, d);
        return List.of(s[0], s[1], s[2]);
    }

    /** A ratio target (higher is better) with its spread across rounds and the verdict that follows. */
    private void ratioTarget(Ratio ratio) {
        List<Double> r = ratios(ratio.numerator(), ratio.denominator(), ratio.field());
        String goal = Double.isNaN(ratio.goal()) ? "—" : "≥ " + f(ratio.goal(), 2) + "×";
        spreadTarget(ratio.name() + (ratio.field().equals("genTps") ? ""
                : ratio.field().equals(PAIRED) ? " (paired: median of per-request ratios)" : " (" + ratio.field() + ")"),
                ratio.goal(), true, goal, r, 3, ratio.numerator(), ratio.denominator());
    }

    /** One target row: the median and the min..max of {@code values} against the goal. */
    private void spreadTarget(String name, double goal, boolean higherIsBetter, String goalText, List<Double> values,
                              int decimals, String numerator, String denominator) {
        double[] s = Stats.spread(values);
        String verdict;
        String median;
        String range;
        if (values.isEmpty() || Double.isNaN(s[1])) {
            verdict = "not measured";
            median = reason(numerator.contains(".") ? numerator.substring(0, numerator.lastIndexOf('.')) : numerator);
            range = "";
        } else {
            String v = Double.isNaN(goal) ? "reported" : Stats.verdict(new double[] {s[0], s[1], s[2]}, goal,
                    higherIsBetter);
            verdict = Double.isNaN(goal) ? v : "**" + v + "**";
            median = f(s[1], decimals);
            range = f(s[0], decimals) + ".." + f(s[2], decimals) + " (" + values.size() + ")";
        }
        String sides = side(numerator) + (denominator.equals("goal") || denominator.equals(numerator) ? ""
                : "<br>" + side(denominator));
        md.append("| ").append(name).append(" | ").append(goalText).append(" | ").append(median).append(" | ")
                .append(range).append(" | ").append(verdict).append(" | ").append(sides).append(" |\n");
    }

    /** The short settings of one side, for the targets table; the full ones go to the settings table. */
    private String side(String key) {
        if (!b.runs.containsKey(key)) {
            return key.contains(" ") ? key : "`" + key + "`";
        }
        String st = setting(key);
        settings.put(key, st);
        return "`" + key + "`: " + st.replace('|', '/');
    }

    private String setting(String key) {
        for (Map<String, Object> m : b.runs.getOrDefault(key, List.of())) {
            if (m.get("settings") instanceof String st) {
                if (key.startsWith("djl.") && b.machine.containsKey("djlBefore")) {
                    // The two sides of a before/after pair run the same scenario: only the jars differ.
                    return st + (key.endsWith(".before")
                            ? "; earlier llm-core and llm-djl first on the class path: " + b.machine.get("djlBefore")
                            : "; this build: commit " + b.machine.getOrDefault("commit", "not recorded"));
                }
                return st;
            }
        }
        if (key.startsWith("client.")) {
            return "JDK " + System.getProperty("java.version") + ", -XX:+UseSerialGC -Xmx512m, one child JVM per "
                    + "round; " + b.config.pacedTokens() + "-token answers paced at " + b.config.intervalUs() + " µs";
        }
        return "not recorded";
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
            md.append("Same GGUF file, same threads, same prompts. llamacpp and C run in one child per round, their ")
                    .append("requests interleaved one by one after 2 warm-up requests each as long as the measured ones; ")
                    .append("jllama in a child of its own before or after. C is `llama_driver.c` compiled with gcc ")
                    .append("against the libraries the llamacpp engine loaded. Medians over rounds; the targets judge the ")
                    .append("per-request ratios of the pairs (see Targets).\n\n");
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
        md.append("\nOne child per side and round (these give load time, time to first token and memory; the decode "
                + "targets use the paired children, see Targets). With `isolate=process` the model's memory is in the "
                + "engine process, so the measuring JVM's RSS is only the caller's; load time includes starting the "
                + "engine JVM.\n\n");
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

    /** The turn-10 / turn-1 ratio of each chat child (the median of its sessions' ratios). */
    static List<Double> chatRatios(BenchMain b) {
        List<Double> out = new java.util.ArrayList<>();
        for (Map<String, Object> m : b.runs.getOrDefault("chat", List.of())) {
            if (m.get("lastOverFirst") instanceof Number n) {
                out.add(n.doubleValue());
            } else if (m.get("ttftTurn10") instanceof Number t10 && m.get("ttftTurn1") instanceof Number t1) {
                out.add(t10.doubleValue() / t1.doubleValue());
            }
        }
        return out;
    }

    private void chat() {
        if (!b.runs.containsKey("chat")) {
            return;
        }
        List<Map<String, Object>> children = b.runs.get("chat");
        md.append("### ChatSession on the llama.cpp backend (Q8_0), time to first token per turn\n\n");
        md.append("From `ChatSession.stream` to the first piece of text, as a user of the session feels it. ")
                .append(children.size()).append(" child JVM(s), each with one unmeasured warm-up session and then ")
                .append(f(b.value("chat", "sessions"), 0)).append(" (median) measured sessions of 10 turns; before "
                + "each session an unrelated plain prompt replaces the KV cache, so turn 1 is cold (its whole prompt "
                + "is evaluated) while later turns reuse the prefix their history shares with the cache. New tokens: "
                + "the prompt minus the previous turn's prompt and reply, what a perfect prefix reuse leaves to "
                + "evaluate. Medians over children, min..max of the children in brackets.\n\n");
        md.append("| Turn | Prompt tokens | New tokens | Time to first token (ms) | × turn 1 |\n|---|---|---|---|---|\n");
        double t1 = b.value("chat", "ttftTurn1");
        for (int t : new int[] {1, 2, 5, 10}) {
            double v = b.value("chat", "ttftTurn" + t);
            md.append("| ").append(t).append(" | ").append(f(b.value("chat", "promptTokensTurn" + t), 0)).append(" | ")
                    .append(f(b.value("chat", "newTokensTurn" + t), 0)).append(" | ")
                    .append(cell(b.values("chat", "ttftTurn" + t), 1)).append(" | ").append(f(v / t1, 2))
                    .append("× |\n");
        }
        double again = b.value("chat", "ttftLastAgain");
        if (!Double.isNaN(again)) {
            md.append("| 10, same prompt sent again at once (all but its last token cached) | ")
                    .append(f(b.value("chat", "promptTokensTurn10"), 0)).append(" | 1 | ")
                    .append(cell(b.values("chat", "ttftLastAgain"), 1)).append(" | ").append(f(again / t1, 2))
                    .append("× |\n");
        }
        double cold = b.value("chat", "ttftLastCold");
        md.append("| 10, same prompt sent cold (prefix evicted) | ").append(f(b.value("chat", "promptTokensTurn10"), 0))
                .append(" | ").append(f(b.value("chat", "promptTokensTurn10"), 0)).append(" | ")
                .append(cell(b.values("chat", "ttftLastCold"), 1)).append(" | ").append(f(cold / t1, 2))
                .append("× |\n\n");
        double count = b.value("chat", "countTokensLastMs");
        if (!Double.isNaN(count)) {
            md.append("Counting the turn-10 conversation's tokens (`ChatSession.countTokens`, which the session does "
                    + "before every turn to trim its history) took ").append(f(count, 2)).append(" ms.\n\n");
        }
    }

    private void djl() {
        String djl = "djl.F32";
        md.append("### DJL backend on the same weights (F32) and the memory-bandwidth limit\n\n");
        md.append("JNI calls per generated token, counted by a Java agent at every call site of DJL's "
                + "`PyTorchLibrary` native methods in the measured children (median of the generations): F32 ")
                .append(f(b.value(djl, "jniPerToken"), 0)).append(", F16 ").append(f(b.value("djl.F16", "jniPerToken"), 0))
                .append(". Java heap per token and peak RSS are measured below.\n\n");
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
        md.append(DjlProductBench.markdown(b));
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
            {"Java heap per generated token (B)", "allocPerToken", "0", "1"},
            {"JNI calls per generated token", "jniPerToken", "0", "1"}};
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

    private void clients() {
        boolean any = ClientBench.CLIENTS.stream().anyMatch(c -> b.runs.containsKey("client." + c[0]));
        if (!any) {
            return;
        }
        md.append("### HTTP clients against a paced server (Ollama and OpenAI-compatible wire formats)\n\n");
        md.append(String.format(Locale.ROOT, "One loopback server process emits every token of an answer one by one, "
                + "%,d µs apart (%.0f tokens/s), each in its own HTTP chunk as an NDJSON line (Ollama) or an SSE "
                + "event (OpenAI-compatible, vLLM's framing). Each client runs in its own child JVM (%d round(s), "
                + "rotating order; JDK 17, `-XX:+UseSerialGC -Xmx512m`), streams the answer to one chat message and "
                + "only records each piece's arrival in its handler. Per token: %d answers of %d tokens minus the "
                + "same client's 16-token answers, over the %d tokens between them, so the request's own cost is not "
                + "spread over the tokens. CPU (process): %s; CPU (Java threads): the client's Java threads (no JIT "
                + "compiler or collector threads), sampled like the heap. Heap: %s. Latency: the server writes its `System.nanoTime()` as "
                + "each token's text; the handler subtracts it from its own (one monotonic clock on Linux). "
                + "Setup: the same client on 16-token answers sent at once (no pacing), one request after another. "
                + "Unpaced: 2,000-token answers sent at once (the parsing alone, no thread waking up per token), "
                + "minus the setup, per token. "
                + "Medians over rounds; min..max in the spread columns.%n%n",
                b.config.intervalUs(), 1e6 / b.config.intervalUs(), b.config.clientRounds(), b.config.pacedReps(),
                b.config.pacedTokens(), b.config.pacedTokens() - 16, firstString("cpuMethod"),
                firstString("heapMethod")));
        md.append("| Client | Wire | CPU µs/token (process) | CPU µs/token (Java threads) | Heap B/token | "
                + "Unpaced CPU µs / heap B per token | Write→handler µs (median / p99 / max) | "
                + "Paced requests/s (16 tokens) | Setup µs/request | Setup CPU µs/request | Setup heap B/request | "
                + "Peak RSS (MiB) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String[] c : ClientBench.CLIENTS) {
            String k = "client." + c[0];
            if (!b.runs.containsKey(k)) {
                md.append("| ").append(c[1]).append(" | ").append(c[2]).append(" | ").append(reason(k))
                        .append(" | | | | | | | | | |\n");
                continue;
            }
            md.append("| ").append(c[1]).append(" | ").append(c[2]).append(" | ")
                    .append(withRange(k, "cpuUsPerToken", 2)).append(" | ")
                    .append(withRange(k, "javaCpuUsPerToken", 2)).append(" | ")
                    .append(withRange(k, "allocPerToken", 0)).append(" | ")
                    .append(f(b.value(k, "bulkCpuUsPerToken"), 2)).append(" / ").append(f(b.value(k,
                            "bulkAllocPerToken"), 0)).append(" | ")
                    .append(f(b.value(k, "latencyUsMedian"), 0)).append(" / ").append(f(b.value(k, "latencyUsP99"), 0))
                    .append(" / ").append(f(b.value(k, "latencyUsMax"), 0)).append(" | ")
                    .append(f(b.value(k, "pacedRequestsPerSecond"), 2)).append(" | ")
                    .append(withRange(k, "setupUsPerRequest", 0)).append(" | ")
                    .append(f(b.value(k, "setupCpuUsPerRequest"), 0)).append(" | ")
                    .append(f(b.value(k, "allocPerRequest"), 0)).append(" | ")
                    .append(f(b.value(k, "peakRss") / MIB, 0)).append(" |\n");
        }
        md.append(String.format(Locale.ROOT, "%nA paced 16-token answer cannot take less than %.0f ms (16 × the "
                + "interval), so paced requests/s are bounded by %.1f; the setup columns show what each request costs "
                + "the client beyond the tokens.%n%n", 16 * b.config.intervalUs() / 1e3, 1e6 / (16.0
                * b.config.intervalUs())));
    }

    private String firstString(String field) {
        for (List<Map<String, Object>> l : b.runs.values()) {
            for (Map<String, Object> m : l) {
                if (m.get(field) instanceof String s) {
                    return s;
                }
            }
        }
        return "n/a";
    }

    /** The median of one field with its min..max across children. */
    private String withRange(String key, String field, int decimals) {
        List<Double> v = b.values(key, field);
        if (v.isEmpty()) {
            return "n/a";
        }
        double[] s = Stats.spread(v);
        return v.size() == 1 ? f(s[1], decimals) : f(s[1], decimals) + " (" + f(s[0], decimals) + ".." + f(s[2],
                decimals) + ")";
    }

    private static final String[][] SCALING = {{"llamacpp", "llamacpp engine (Q8_0)"},
        {"jllama", "jllama engine (Q8_0)"}, {"djl", "DJL (F32)"}};

    private void scaling() {
        boolean any = false;
        for (String[] v : SCALING) {
            any |= b.runs.containsKey("scaling." + v[0]);
        }
        boolean rss = b.runs.keySet().stream().anyMatch(k -> k.startsWith("rss."));
        if (!any && !rss) {
            return;
        }
        md.append("### Scaling: how cost grows with context, prompt length, context size and concurrent sessions\n\n");
        if (!any) {
            rssTable();
            return;
        }
        md.append("On the scaling model (see Run), 2 threads. One child per backend and round loads the model once "
                + "with room for the largest fill, then for each fill sends a prompt of that many tokens and decodes "
                + "32 tokens: time to first token and prompt tokens/s are the prompt's, decode tokens/s the 32 tokens' "
                + "at that fill. Then 1, 2, 4 and 8 sessions start at once on the same open model, each with its own "
                + "64-token prompt and 32 new tokens: aggregate tokens/s over the wall time of all. Medians over "
                + "rounds, min..max in brackets.\n\n");
        scalingTable("Decode tokens/s against context fill", "genTps", 1);
        scalingTable("Time to first token (ms) against context fill (prompt of that length)", "ttftMs", 0);
        scalingTable("Prompt tokens/s against prompt length", "promptTps", 0);
        scalingTable("Peak resident memory (MiB) after each fill", "peakRss", 0);
        sessionsTable();
        rssTable();
    }

    private java.util.SortedSet<Integer> points(String prefix, String suffix) {
        java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
        for (String[] v : SCALING) {
            for (Map<String, Object> m : b.runs.getOrDefault("scaling." + v[0], List.of())) {
                for (String k : m.keySet()) {
                    if (k.startsWith(prefix) && k.endsWith(suffix)) {
                        out.add(Integer.parseInt(k.substring(prefix.length(), k.length() - suffix.length())));
                    }
                }
            }
        }
        return out;
    }

    private void scalingTable(String title, String field, int decimals) {
        double scale = field.equals("peakRss") ? MIB : 1;
        md.append("**").append(title).append("**\n\n| Tokens |");
        for (String[] v : SCALING) {
            md.append(' ').append(v[1]).append(" |");
        }
        md.append("\n|---|---|---|---|\n");
        for (int fill : points("fill", "." + field)) {
            md.append("| ").append(f(fill, 0)).append(" |");
            for (String[] v : SCALING) {
                List<Double> vals = new java.util.ArrayList<>();
                for (double d : b.values("scaling." + v[0], "fill" + fill + "." + field)) {
                    vals.add(d / scale);
                }
                md.append(' ').append(cell(vals, decimals)).append(" |");
            }
            md.append('\n');
        }
        md.append('\n');
    }

    private static List<Double> mib(List<Double> bytes) {
        List<Double> out = new java.util.ArrayList<>();
        for (double d : bytes) {
            out.add(d / MIB);
        }
        return out;
    }

    private static String cell(List<Double> vals, int decimals) {
        if (vals.isEmpty()) {
            return "—";
        }
        double[] s = Stats.spread(vals);
        return vals.size() == 1 ? f(s[1], decimals) : f(s[1], decimals) + " (" + f(s[0], decimals) + ".."
                + f(s[2], decimals) + ")";
    }

    private void sessionsTable() {
        md.append("**Concurrent sessions on one open model: aggregate decode tokens/s, and median / slowest time to "
                + "first token (ms)**\n\n| Sessions |");
        for (String[] v : SCALING) {
            md.append(' ').append(v[1]).append(" |");
        }
        md.append("\n|---|---|---|---|\n");
        for (int n : points("sessions", ".tps")) {
            md.append("| ").append(n).append(" |");
            for (String[] v : SCALING) {
                String k = "scaling." + v[0];
                List<Double> tps = b.values(k, "sessions" + n + ".tps");
                md.append(' ').append(cell(tps, 1));
                if (!tps.isEmpty()) {
                    md.append("; ").append(f(b.value(k, "sessions" + n + ".ttftMsMedian"), 0)).append(" / ")
                            .append(f(b.value(k, "sessions" + n + ".ttftMsMax"), 0)).append(" ms");
                }
                md.append(" |");
            }
            md.append('\n');
        }
        md.append("\nBoth llama.cpp engines hold one sequence per context and serialise the generations of one open "
                + "model behind a lock, and DJL runs every forward pass on the model's one inference thread: sessions "
                + "queue rather than batch, which the slowest session's time to first token shows.\n\n");
    }

    private void rssTable() {
        java.util.SortedSet<Integer> ctxs = new java.util.TreeSet<>();
        for (String key : b.runs.keySet()) {
            if (key.startsWith("rss.")) {
                ctxs.add(Integer.parseInt(key.substring(key.lastIndexOf('.') + 1)));
            }
        }
        if (ctxs.isEmpty()) {
            return;
        }
        int rounds = 0;
        for (String key : b.runs.keySet()) {
            if (key.startsWith("rss.")) {
                rounds = Math.max(rounds, b.runs.get(key).size());
            }
        }
        md.append("**Resident memory (MiB) against context size: after load / after one short generation; one child "
                + "per point and round, ").append(rounds).append(" round(s), the backends in rotating order; median "
                + "(min..max)**\n\n| Context size |");
        for (String[] v : SCALING) {
            md.append(' ').append(v[1]).append(" |");
        }
        md.append("\n|---|---|---|---|\n");
        for (int ctx : ctxs) {
            md.append("| ").append(f(ctx, 0)).append(" |");
            for (String[] v : SCALING) {
                String k = "rss." + v[0] + "." + ctx;
                md.append(' ').append(b.runs.containsKey(k) ? cell(mib(b.values(k, "rssAfterLoad")), 0) + " / "
                        + cell(mib(b.values(k, "rssAfterGenerate")), 0) : reason(k)).append(" |");
            }
            md.append('\n');
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
