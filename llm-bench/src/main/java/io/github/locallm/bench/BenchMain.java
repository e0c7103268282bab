package io.github.locallm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.demo.DemoModel;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs every benchmark in one go and writes the result tables and charts: the HTTP clients (this SDK's Ollama
 * and OpenAI-compatible backends, raw OkHttp, ollama4j, LangChain4j, openai-java) against a paced loopback
 * server; the llama.cpp engines against each other and against a C driver on the same library; the llama.cpp
 * backend against the raw {@code de.kherud:llama} binding (F32 and Q8_0); ChatSession time to first token over
 * ten turns; {@code isolate=process} against in-process; the DJL backend against the memory-bandwidth limit;
 * and the scaling curves of the llamacpp engine, the jllama engine and DJL.
 *
 * <p>Every measurement runs in its own child JVM ({@link ChildMain}) so that its peak resident memory and its
 * allocations are its own; the sides of a ratio alternate round after round and every child reports its median.
 * The workload models are generated into a temporary directory and deleted afterwards.
 *
 * <pre>{@code
 * mvn -B -q -pl llm-bench -am -DskipTests -Pbench verify                      # full run, about 25 minutes
 * mvn -B -q -pl llm-bench -am -DskipTests -Pbench verify -Dbench.mode=quick   # smoke run, under 5 minutes
 * }</pre>
 *
 * <p>Arguments: {@code --mode=full|quick}, {@code --out=DIR} (tables and raw results), {@code --doc=FILE}
 * (a Markdown file whose section between {@code <!-- bench:results:begin -->} and
 * {@code <!-- bench:results:end -->} is replaced by the tables, in a full run of every section),
 * {@code --only=clients,engines,llama,chat,isolation,djl,scaling} (the default: every section),
 * {@code --workload=DIR} (development: write the models there once and reuse them on later runs instead of a
 * deleted temporary directory), {@code --djlBefore=CLASSPATH} (jars of an earlier llm-core and llm-djl: the DJL
 * children also run on them, alternating, for a before/after table), {@code --djlBeforeLabel=TEXT} (what those
 * jars were built from, for example {@code commit 325f84b}: the report prints it with each jar's path, size, time
 * and SHA-256), {@code --djlOneThread=true} (the DJL
 * children run with {@code OMP_NUM_THREADS=1}).
 * Not thread-safe; run one at a time.
 */
public final class BenchMain {
    static final String BEGIN = "<!-- bench:results:begin -->";
    static final String END = "<!-- bench:results:end -->";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Below this many weight bytes per token a model may be read from the caches, not memory. */
    static final long CACHE_RESIDENT_BYTES = 128L * 1024 * 1024;
    /** A child stops starting new measured repetitions after this long (it always measures one). */
    private static final long BUDGET_PER_CHILD_MS = 30_000;

    final Config config;
    final Map<String, List<Map<String, Object>>> runs = new LinkedHashMap<>();
    final Map<String, String> errors = new LinkedHashMap<>();
    final Map<String, String> machine = new LinkedHashMap<>();
    final Map<String, Map<String, Object>> profiles = new LinkedHashMap<>();
    private final Path logs;
    private final long startNanos = System.nanoTime();
    Workload workload;
    /** The smaller model of the scaling curves, or null when they are not run. */
    Workload scalingWorkload;
    /** The small model of a quick run, in a full run for the isolation overhead at fast tokens; or null. */
    Workload tinyWorkload;
    double wallSeconds;
    /** The PNG charts written by this run, and where. */
    final List<String> plots = new ArrayList<>();
    Path plotDir;

    /** A classpath holding an earlier build of llm-core and llm-djl, for before/after DJL runs; or null. */
    String djlBefore;
    /** What the {@link #djlBefore} jars were built from, as the user named it; or null. */
    String djlBeforeLabel;
    /** Whether the DJL children run with {@code OMP_NUM_THREADS=1}. */
    boolean djlOneThread;

    BenchMain(Config config, Path logs) {
        this.config = config;
        this.logs = logs;
    }

    /** The sizes of one run. */
    record Config(boolean full, int llamaRounds, int llamaReps, int promptTokens, int genTokens, int djlRounds,
                  int djlReps, int djlGenTokens, int chatSessions, int clientRounds, int pacedTokens,
                  long intervalUs, int pacedReps, int windows, long windowMs, long warmupMs, int bandwidthMb,
                  int scalingRounds, String fills, String djlFills, String sessions, List<Integer> rssContexts,
                  long budgetSeconds, int chatChildren, int rssRounds) {
        static Config of(boolean full) {
            return full
                    ? new Config(true, 5, 5, 128, 32, 3, 5, 16, 5, 3, 200, 5000, 5, 5, 400, 3000, 512,
                            3, "128,512,1024,2048,4096,8192", "128,512,1024,2048", "1,2,4,8",
                            List.of(1024, 4096, 8192, 16384), 35 * 60, 3, 3)
                    : new Config(false, 2, 2, 64, 16, 2, 2, 16, 1, 1, 200, 5000, 1, 2, 300, 1000, 256,
                            1, "128,512,2048", "128,512", "1,2,4", List.of(1024, 4096), 5 * 60, 3, 2);
        }
    }

    /** Every section, in the order a run measures them; {@code bench.only}'s default. */
    static final List<String> SECTIONS = List.of("clients", "engines", "llama", "chat", "isolation", "djl",
            "scaling");

    /**
     * Runs the benchmarks.
     *
     * @param args see the class comment
     * @throws Exception if the workload cannot be written or the tables cannot be saved
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (String arg : args) {
            if (arg.startsWith("--") && arg.contains("=")) {
                a.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
            }
        }
        boolean full = !a.getOrDefault("mode", "full").equals("quick");
        Path logs = Path.of(a.getOrDefault("logs", "target/bench-logs")).toAbsolutePath();
        // A smoke run never overwrites the tables of a full run.
        Path out = full ? Path.of(a.getOrDefault("out", "results")).toAbsolutePath()
                : logs.resolveSibling("bench-quick");
        Files.createDirectories(out);
        Files.createDirectories(logs);
        List<String> only = new ArrayList<>();
        for (String section : a.getOrDefault("only", String.join(",", SECTIONS)).split(",")) {
            // "ollama" was the name of the clients section
            String name = section.trim().equals("ollama") ? "clients" : section.trim();
            if (!name.isEmpty() && !SECTIONS.contains(name)) {
                throw new IllegalArgumentException("unknown section '" + name + "'; sections: " + SECTIONS);
            }
            if (!name.isEmpty()) {
                only.add(name);
            }
        }
        BenchMain bench = new BenchMain(Config.of(full), logs);
        bench.djlOneThread = Boolean.parseBoolean(a.getOrDefault("djlOneThread", "false"));
        String before = a.getOrDefault("djlBefore", "");
        bench.djlBefore = before.isBlank() ? null : before;
        String label = a.getOrDefault("djlBeforeLabel", "");
        bench.djlBeforeLabel = label.isBlank() ? null : label;
        String kept = a.getOrDefault("workload", "");
        bench.run(only, kept.isBlank() ? null : kept);
        // Charts go next to the document in a full run, next to the tables otherwise.
        boolean whole = full && a.containsKey("doc") && only.containsAll(SECTIONS);
        Path plots = whole
                ? Path.of(a.get("doc")).toAbsolutePath().resolveSibling("benchmarks") : out;
        try {
            bench.plots.addAll(Plots.write(bench, plots));
            bench.plotDir = plots;
        } catch (IOException | RuntimeException e) {
            bench.errors.put("plots", "could not write the charts: " + e);
        }
        String markdown = Report.markdown(bench);
        Files.writeString(out.resolve("results.md"), markdown);
        Files.writeString(out.resolve("results.json"), JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(Map.of("machine", bench.machine, "runs", bench.runs, "errors", bench.errors,
                        "profiles", bench.profiles)));
        // A partial run never replaces the tables of a whole one.
        if (whole) {
            replaceSection(Path.of(a.get("doc")), markdown);
        }
        System.out.println(markdown);
        System.out.printf("Benchmarks done in %.0f s; tables in %s%n", bench.wallSeconds, out.resolve("results.md"));
        List<String> violations = bench.bandwidthViolations();
        if (!violations.isEmpty()) {
            System.err.println("BANDWIDTH CHECK FAILED: a decode rate exceeds the memory-bandwidth limit, so the limit"
                    + " or the byte count is wrong and no share of it can be trusted:");
            violations.forEach(v -> System.err.println("  " + v));
            System.exit(3);
        }
    }

    private void run(List<String> only, String keptWorkload) throws IOException {
        machine.put("date", Instant.now().toString());
        machine.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
        machine.put("cpu", cpuModel());
        machine.put("memory", memTotal());
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        machine.put("loadBefore", loadAverage());
        machine.put("allocation", Probe.allocationMethod());
        machine.put("sections", String.join(",", only));
        machine.put("commit", commit());
        if (djlBefore != null) {
            machine.put("djlBefore", describeJars(djlBefore, djlBeforeLabel));
        }
        // The HTTP clients need no model: they go first, so the time budget can only ever cut the heaviest part.
        if (only.contains("clients")) {
            try {
                clients();
            } catch (IOException e) {
                errors.put("clients", "the paced server could not be run: " + e);
            }
        }
        if (only.size() == 1 && only.contains("clients")) {
            machine.put("loadAfter", loadAverage());
            wallSeconds = (System.nanoTime() - startNanos) / 1e9;
            machine.put("wallSeconds", String.format("%.0f", wallSeconds));
            return;
        }
        log("workload: writing " + (config.full ? "the ~200M-parameter" : "a small") + " model (F32, Q8_0, HF F32)");
        workload = keptWorkload != null
                ? Workload.write(Workload.model(config.full), Path.of(keptWorkload), true)
                : Workload.write(Workload.model(config.full), Path.of(System.getProperty("java.io.tmpdir")));
        if (only.contains("scaling")) {
            scalingWorkload = keptWorkload != null
                    ? Workload.write(Workload.scalingModel(), Path.of(keptWorkload, "scaling"), true)
                    : Workload.write(Workload.scalingModel(), Path.of(System.getProperty("java.io.tmpdir")));
        }
        if (only.contains("isolation") && config.full) {
            tinyWorkload = keptWorkload != null
                    ? Workload.write(Workload.model(false), Path.of(keptWorkload, "tiny"), true)
                    : Workload.write(Workload.model(false), Path.of(System.getProperty("java.io.tmpdir")));
        }
        try {
            log(String.format("workload: %,d parameters written in %.1f s to %s", workload.config.parameterCount(),
                    workload.writeSeconds, workload.dir));
            if (scalingWorkload != null) {
                log(String.format("scaling workload: %,d parameters written in %.1f s to %s",
                        scalingWorkload.config.parameterCount(), scalingWorkload.writeSeconds, scalingWorkload.dir));
            }
            if (only.contains("engines")) {
                settleWriteback("engines");
                engines(workload.ggufQ8);
            }
            if (only.contains("llama")) {
                settleWriteback("llama");
                llama("Q8_0", workload.ggufQ8);
                llama("F32", workload.ggufF32);
            }
            if (only.contains("chat")) {
                settleWriteback("chat");
                chat();
            }
            if (only.contains("isolation")) {
                settleWriteback("isolation");
                isolation();
            }
            if (only.contains("djl")) {
                settleWriteback("djl");
                djl();
            }
            if (only.contains("scaling")) {
                settleWriteback("scaling");
                scaling();
            }
        } finally {
            workload.close();
            if (scalingWorkload != null) {
                scalingWorkload.close();
            }
            if (tinyWorkload != null) {
                tinyWorkload.close();
            }
            machine.put("loadAfter", loadAverage());
            wallSeconds = (System.nanoTime() - startNanos) / 1e9;
            machine.put("wallSeconds", String.format("%.0f", wallSeconds));
        }
    }

    /**
     * Waits until the kernel has written back the dirty page cache (Dirty + Writeback in /proc/meminfo below
     * 32 MiB, at most three minutes): model files written just before would otherwise be flushed while the first
     * children measure. The wait and what was left are recorded with the run.
     */
    void settleWriteback(String section) {
        long t0 = System.nanoTime();
        long pending = pendingWritebackKb();
        // A quick run is a smoke test: it waits at most 15 s, a full run at most 3 minutes.
        long limit = config.full ? TimeUnit.MINUTES.toNanos(3) : TimeUnit.SECONDS.toNanos(15);
        while (pending > 32 * 1024 && System.nanoTime() - t0 < limit) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            pending = pendingWritebackKb();
        }
        double waited = (System.nanoTime() - t0) / 1e9;
        machine.put("writeback." + section, String.format(java.util.Locale.ROOT, "waited %.1f s, %d KiB left",
                waited, pending));
        log(String.format(java.util.Locale.ROOT, "writeback before %s: waited %.1f s, %d KiB dirty/writeback left",
                section, waited, pending));
    }

    /** Returns Dirty + Writeback from /proc/meminfo in KiB, 0 where the file cannot be read. */
    static long pendingWritebackKb() {
        long kb = 0;
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("Dirty:") || l.startsWith("Writeback:")) {
                    kb += Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return kb;
    }

    /**
     * Returns one line per measured decode rate that exceeds its memory-bandwidth limit: such a figure means the
     * limit was measured too low (or the decode read fewer bytes than counted), and the run must not be trusted.
     */
    List<String> bandwidthViolations() {
        // Only models whose weights per token are far past the last-level cache are checked.
        List<String> out = new ArrayList<>();
        if (workload == null || Double.isNaN(bestBandwidth())) {
            return out;
        }
        double bw = bestBandwidth() * 1e9;
        for (String key : runs.keySet()) {
            if (key.contains(".tiny") || key.contains(".demo.")) {
                // The small model's and the embedded demo model's weights stay in the caches; neither is the
                // workload whose bytes per token the limit counts.
                continue;
            }
            double bytes;
            if (key.startsWith("djl.F32") || key.startsWith("llama.F32.")) {
                bytes = workload.weightBytesPerToken(false);
            } else if (key.startsWith("djl.F16")) {
                bytes = workload.weightBytesPerTokenF16();
            } else if (key.startsWith("llama.Q8_0.") || key.startsWith("engines.") || key.startsWith("isolation.")) {
                bytes = workload.weightBytesPerToken(true);
            } else {
                continue;
            }
            if (bytes < CACHE_RESIDENT_BYTES) {
                // Weights this small stay in the caches: DRAM bandwidth does not bound their decode.
                continue;
            }
            for (double tps : values(key, "genTps")) {
                double share = tps * bytes / bw;
                if (share > 1.0) {
                    out.add(String.format(java.util.Locale.ROOT, "%s: %.2f tok/s is %.3f x its limit of %.2f tok/s",
                            key, tps, share, bw / bytes));
                }
            }
        }
        return out;
    }

    private boolean overBudget(String section) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        if (elapsed > config.budgetSeconds) {
            errors.putIfAbsent(section, String.format("not started: the run had used %.0f s of its %d-second budget",
                    elapsed, config.budgetSeconds));
            return true;
        }
        return false;
    }

    private void llama(String quant, Path model) {
        String section = "llama." + quant;
        if (overBudget(section)) {
            return;
        }
        for (int round = 0; round < config.llamaRounds; round++) {
            // The raw binding is loaded exactly as the backend loads it (warm-up decode skipped, same context,
            // threads and batch threads); both sides then run one short unmeasured generation on the thread
            // that measures, so neither side leaves a second OpenMP team behind.
            // The SDK side is the backend's jllama engine: it drives the same de.kherud library as the raw side.
            String[] order = round % 2 == 0 ? new String[] {"raw-nowarmup", "jllama"}
                    : new String[] {"jllama", "raw-nowarmup"};
            for (String variant : order) {
                child(section + "." + (variant.startsWith("raw") ? "raw" : "llamacpp"), "generate", 300,
                        "variant=" + variant, "model=" + model,
                        "ctx=1024", "threads=2", "promptTokens=" + config.promptTokens,
                        "genTokens=" + config.genTokens, "reps=" + config.llamaReps, "warmups=1", "round=" + round,
                        "budgetMs=" + BUDGET_PER_CHILD_MS);
            }
        }
    }

    /**
     * The two llama.cpp engines of the backend and the same native library driven from C, on one file with the
     * same threads and prompts, round after round. The SDK (llamacpp engine) and the C driver run in one child:
     * the child loads the model, starts the driver (which loads it too, from the same mapped file), and sends
     * each prompt to one side then the other, alternating which goes first, so that both sides are timed at the
     * same moments of a machine whose speed drifts (separate children of the same side differed by up to 1.2×
     * on this machine). Each side gets 2 unmeasured requests as long as the measured ones first. The old engine
     * runs in a child of its own before or after the pair, alternating.
     */
    private void engines(Path model) {
        if (overBudget("engines")) {
            return;
        }
        for (int threads : new int[] {1, 2}) {
            for (int round = 0; round < config.llamaRounds; round++) {
                // the SDK loads first (its load time is then a first load in the process, as in a separate child)
                String[] order = round % 2 == 0 ? new String[] {"llamacpp+native-c", "jllama"}
                        : new String[] {"jllama", "llamacpp+native-c"};
                for (String variant : order) {
                    boolean paired = variant.contains("+");
                    child("engines.t" + threads + (paired ? "" : "." + variant), "generate", paired ? 600 : 300,
                            "variant=" + variant, "model=" + model, "ctx=1024", "threads=" + threads,
                            "promptTokens=" + config.promptTokens, "genTokens=" + config.genTokens,
                            "reps=" + (paired ? config.llamaReps + 2 : config.llamaReps), "pairBase=native-c",
                            paired ? "warmups=2" : "warmups=1",
                            paired ? "warmupTokens=" + config.genTokens : "warmupTokens=4", "round=" + round,
                            // with one thread each, both sides decode on the same CPU (alternating by round), so
                            // that a CPU the host slows for a while slows both
                            threads == 1 && paired ? "pinCpu=" + round % Runtime.getRuntime().availableProcessors()
                                    : "pinCpu=-1",
                            "budgetMs=" + (paired ? 2 * BUDGET_PER_CHILD_MS : BUDGET_PER_CHILD_MS));
                }
            }
        }
    }

    private void chat() {
        if (overBudget("chat")) {
            return;
        }
        // Turn 10 and turn 1 are paired within each session of a child; the children repeat the whole measurement
        // in fresh processes, so the ratio's spread is over children.
        for (int round = 0; round < config.chatChildren; round++) {
            child("chat", "chat", 400, "model=" + workload.ggufQ8, "ctx=2048", "threads=2", "turns=10",
                    "sessions=" + config.chatSessions, "replyTokens=8", "round=" + round, "budgetMs=120000");
        }
    }

    /**
     * The llama.cpp backend in this process against the same in an engine process (isolate=process). The ratios
     * come from paired children: one child opens the model both ways and sends each prompt to one side then the
     * other, alternating which goes first, after warm-up requests as long as the measured ones on both sides (the
     * engine process's JIT compiles its per-token path during them), so that both sides are timed at the same
     * moments of a machine whose speed drifts; generation tokens/s are timed from the first piece to the end of
     * the answer on both sides. On the workload model with 2 threads, on the 3M-parameter model (tokens in a
     * third of a millisecond) with 1 thread and, reported without a goal, with 2, and on the embedded demo model
     * with the backend's default threads. Separate children per side on the workload model give the load time,
     * time to first token and memory of each side (the paired children hold both in one process).
     */
    private void isolation() {
        String section = "isolation";
        if (overBudget(section)) {
            return;
        }
        String q8 = workload.ggufQ8.toString();
        int tableRounds = Math.min(3, config.llamaRounds);
        for (int round = 0; round < tableRounds; round++) {
            String[] order = round % 2 == 0 ? new String[] {"llamacpp", "isolated"}
                    : new String[] {"isolated", "llamacpp"};
            for (String variant : order) {
                child(section + "." + variant, "generate", 300, "variant=" + variant, "model=" + q8,
                        "ctx=1024", "threads=2", "promptTokens=" + config.promptTokens,
                        "genTokens=" + config.genTokens, "reps=" + config.llamaReps, "warmups=1",
                        "round=" + round, "budgetMs=" + BUDGET_PER_CHILD_MS);
            }
        }
        List<String[]> pairs = new ArrayList<>();
        pairs.add(new String[] {section + ".paired", q8, "2", Integer.toString(2 * config.genTokens)});
        if (tinyWorkload != null) {
            String tiny = tinyWorkload.ggufQ8.toString();
            pairs.add(new String[] {section + ".tiny", tiny, "1", "256"});
            pairs.add(new String[] {section + ".tiny2", tiny, "2", "256"});
        }
        for (String[] m : pairs) {
            for (int round = 0; round < config.llamaRounds; round++) {
                String variant = "llamacpp+isolated";
                child(m[0], "generate", 600, "variant=" + variant, "model=" + m[1], "ctx=1024", "threads=" + m[2],
                        "promptTokens=" + config.promptTokens, "genTokens=" + m[3],
                        "reps=" + (m[0].equals(section + ".paired") ? config.llamaReps + 2 : 3 * config.llamaReps),
                        "warmups=3", "warmupTokens=" + m[3], "rateTo=end",
                        "round=" + round, "budgetMs=" + 2 * BUDGET_PER_CHILD_MS);
            }
        }
        isolationDemo(section + ".demo");
    }

    /**
     * The same comparison on the embedded demo model, the SDK's default model, as its chat is used: its system
     * prompt and a question of its corpus, a greedy answer of a few dozen tokens that ends by itself. Tokens come
     * in a fifth of a millisecond, so this is where the process boundary weighs most. Paired children as above,
     * at least 3, with the backend's default threads for this model (one: it decodes fastest on one); each
     * answer takes about 10 ms, so a child measures 12 times as many requests as the other sections' children.
     */
    private void isolationDemo(String key) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("bench-demo-");
            Path gguf = DemoModel.extractGguf(dir);
            for (int round = 0; round < Math.max(3, config.llamaRounds); round++) {
                String variant = "llamacpp+isolated";
                child(key, "generate", 600, "variant=" + variant, "model=" + gguf, "prompts=demo", "ctx=1024",
                        "threads=default", "genTokens=256", "reps=" + 12 * config.llamaReps, "warmups=3",
                        "warmupTokens=256", "rateTo=end", "round=" + round, "budgetMs=" + 2 * BUDGET_PER_CHILD_MS);
            }
        } catch (IOException | RuntimeException e) {
            errors.put(key, "the demo model could not be extracted: " + e.getMessage());
        } finally {
            if (dir != null) {
                Workload.delete(dir);
            }
        }
    }

    private void djl() {
        if (overBudget("djl")) {
            return;
        }
        String bw = "mbPerThread=" + config.bandwidthMb;
        Path jfr = logs.resolve("djl-profile.jfr");
        // With a classpath of the DJL backend as it was before (its llm-core and llm-djl jars), the same
        // children run on it too, alternating with the current code in every round.
        List<String> before = djlBefore == null ? null : new ArrayList<>(List.of("cp:" + djlBefore));
        // On a crowded machine a 2-thread OpenMP team stalls at every operator's barrier whenever one of its
        // threads is descheduled; one thread per process makes before/after pairs comparable there.
        List<String> threads = new ArrayList<>(jniAgent());
        if (djlOneThread) {
            threads.add("env:OMP_NUM_THREADS=1");
        }
        if (before != null) {
            before.addAll(threads);
        }
        // Before/after pairs get an extra round: on a shared machine each pair is a noisy sample.
        int rounds = before == null ? config.djlRounds : config.djlRounds + 1;
        for (int round = 0; round < rounds; round++) {
            child("bandwidth", "bandwidth", 120, "threads=2", bw, "passes=2", "trials=5");
            for (String dtype : List.of("F32", "F16")) {
                Path model = dtype.equals("F32") ? workload.hfF32 : workload.hfF16;
                String[] params = {"variant=djl", "model=" + model, "ctx=1024",
                    "promptTokens=" + config.promptTokens, "genTokens=" + config.djlGenTokens,
                    "reps=" + config.djlReps, "warmups=1", "round=" + round, "budgetMs=20000"};
                boolean beforeFirst = round % 2 == 1;
                if (before != null && beforeFirst) {
                    child("djl." + dtype + ".before", "generate", 400, before, params);
                }
                child("djl." + dtype, "generate", 400, threads, params);
                if (before != null && !beforeFirst) {
                    child("djl." + dtype + ".before", "generate", 400, before, params);
                }
                if (before == null && !djlOneThread && dtype.equals("F32")) {
                    // The breakdown: the same decode with PyTorch's intra-op (OpenMP) pool limited to one thread,
                    // next to the default in every round.
                    // Same instrumentation as the default side (the JNI counting agent), one OpenMP thread.
                    List<String> omp1 = new ArrayList<>(threads);
                    omp1.add("env:OMP_NUM_THREADS=1");
                    child("djl.F32.omp1", "generate", 400, omp1, params);
                }
            }
        }
        child("bandwidth", "bandwidth", 120, "threads=2", bw, "passes=2", "trials=5");
        djlProducts();
        if (before == null) {
            // One extra child under Flight Recorder says where decoding time goes; it is filed apart and never
            // counted among the measured rounds.
            child("profile.djl.F32", "generate", 400,
                    List.of("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile"), "variant=djl",
                    "model=" + workload.hfF32, "ctx=1024", "promptTokens=" + config.promptTokens,
                    "genTokens=" + config.djlGenTokens, "reps=" + config.djlReps, "warmups=1", "round=8",
                    "budgetMs=20000");
        }
        try {
            if (Files.exists(jfr) && runs.containsKey("profile.djl.F32")) {
                profiles.put("djl", JfrProfile.summarize(jfr, "io.github.locallm.djl.LlamaDecoder.forward",
                        "io.github.locallm.djl.LlamaDecoder"));
            }
        } catch (IOException | RuntimeException e) {
            errors.put("djl.profile", "could not read " + jfr + ": " + e);
        }
    }

    /**
     * The JVM option that installs {@link JniCountAgent} (DJL's PyTorch JNI calls counted at their call sites),
     * or none when its jar cannot be written.
     */
    private List<String> jniAgent() {
        try {
            return List.of("-javaagent:" + JniCountAgent.writeJar(logs.resolve("jni-count-agent.jar")));
        } catch (IOException e) {
            errors.put("djl.jni", "could not write the JNI counting agent: " + e);
            return List.of();
        }
    }

    /**
     * The weight products of one token alone through DJL's PyTorch engine (the ceiling of any PyTorch decode),
     * F32 and F16, with one and two PyTorch threads (process-wide, so set per child), alternating.
     */
    private void djlProducts() {
        String model = "model=" + (config.full ? "full" : "small");
        // at least 3 children per side in a full run, like every other ratio
        for (int round = 0; round < (config.full ? 3 : 2); round++) {
            for (String dtype : List.of("F32", "F16")) {
                for (int k = 0; k < 2; k++) {
                    int t = (k + round) % 2 + 1;
                    child("djlproducts." + dtype + ".t" + t, "djl-products", 300,
                            List.of("env:OMP_NUM_THREADS=" + t, "-Dai.djl.pytorch.num_threads=" + t),
                            "dtype=" + dtype, model, "reps=" + (config.full ? 12 : 4), "round=" + round);
                }
            }
        }
    }

    /**
     * Every HTTP client against one paced server process: the clients rotate their order round after round,
     * one child JVM each, all with the serial collector so that the heap they allocate is counted exactly.
     */
    private void clients() throws IOException {
        if (overBudget("clients")) {
            return;
        }
        String paced = "i" + config.intervalUs;
        String models = String.join(",", "bench:t16", "bench:t2000", "bench:t16" + paced,
                "bench:t" + config.pacedTokens + paced);
        Process server = start("paced-server", List.of("models=" + models));
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(server.getInputStream(),
                    StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null || !line.startsWith("PORT ")) {
                errors.put("clients", "the paced server did not start: " + line);
                return;
            }
            String port = line.substring(5).trim();
            List<String[]> clients = ClientBench.CLIENTS;
            for (int round = 0; round < config.clientRounds; round++) {
                for (int i = 0; i < clients.size(); i++) {
                    String variant = clients.get((i + round * 3) % clients.size())[0];
                    child("client." + variant, "client", 180, List.of("-XX:+UseSerialGC", "-Xmx512m"),
                            "variant=" + variant, "port=" + port, "pacedTokens=" + config.pacedTokens,
                            "intervalUs=" + config.intervalUs, "pacedReps=" + config.pacedReps, "shortTokens=16",
                            "windows=" + config.windows, "windowMs=" + config.windowMs,
                            "warmupMs=" + config.warmupMs);
                }
            }
        } finally {
            try (OutputStream stdin = server.getOutputStream()) {
                stdin.flush();
            } catch (IOException e) {
                // Closing its input is how the server is told to stop; it may already be gone.
            }
            try {
                if (!server.waitFor(10, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            } catch (InterruptedException e) {
                server.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The scaling curves of the llamacpp engine, the jllama engine and DJL on the scaling model: one child per
     * backend and round measures every context fill and every number of concurrent sessions; then, round after
     * round, one child per backend and context size measures resident memory.
     */
    private void scaling() {
        if (overBudget("scaling")) {
            return;
        }
        String[] variants = {"llamacpp", "jllama", "djl"};
        for (int round = 0; round < config.scalingRounds; round++) {
            for (int k = 0; k < variants.length; k++) {
                String variant = variants[(k + round) % variants.length];
                boolean djl = variant.equals("djl");
                child("scaling." + variant, "scaling", 600, "variant=" + variant,
                        "model=" + (djl ? scalingWorkload.hfF32 : scalingWorkload.ggufQ8), "threads=2",
                        "genTokens=32", "round=" + round, "fills=" + (djl ? config.djlFills : config.fills),
                        "sessions=" + config.sessions);
            }
        }
        // Resident memory: every round measures every context size on every backend, one child each, the
        // backends in rotating order, so each point has one child per round.
        for (int round = 0; round < config.rssRounds; round++) {
            for (int c = 0; c < config.rssContexts.size(); c++) {
                int ctx = config.rssContexts.get(c);
                for (int k = 0; k < variants.length; k++) {
                    String variant = variants[(k + round + c) % variants.length];
                    boolean djl = variant.equals("djl");
                    child("rss." + variant + "." + ctx, "rss", 300, "variant=" + variant,
                            "model=" + (djl ? scalingWorkload.hfF32 : scalingWorkload.ggufQ8), "threads=2",
                            "ctx=" + ctx, "round=" + round);
                }
            }
        }
    }

    private Process start(String scenario, List<String> params) throws IOException {
        return start(scenario, List.of(), params);
    }

    private Process start(String scenario, List<String> jvm, List<String> params) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx2g");
        Map<String, String> env = new LinkedHashMap<>();
        for (String option : jvm) {
            if (option.startsWith("cp:")) {
                continue;
            }
            if (option.startsWith("env:")) {
                String kv = option.substring(4);
                env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            } else {
                cmd.add(option);
            }
        }
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-cp");
        String prefix = "";
        for (String option : jvm) {
            if (option.startsWith("cp:")) {
                prefix = option.substring(3) + File.pathSeparator;
            }
        }
        cmd.add(prefix + System.getProperty("java.class.path"));
        cmd.add(ChildMain.class.getName());
        cmd.add(scenario);
        cmd.addAll(params);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().putAll(env);
        File log = logs.resolve(scenario + ".log").toFile();
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log));
        return pb.start();
    }

    /** Runs one child to its end and files its result (or its failure) under {@code key}. */
    private void child(String key, String scenario, long timeoutSeconds, String... params) {
        child(key, scenario, timeoutSeconds, List.of(), params);
    }

    private void child(String key, String scenario, long timeoutSeconds, List<String> jvm, String... params) {
        // A side that already has children is measured, with fewer children than planned: say so apart.
        if (overBudget(runs.containsKey(key) ? key + " (further children)" : key)) {
            log("skip " + key + ": over the time budget");
            return;
        }
        long t0 = System.nanoTime();
        log("run " + key + " ...");
        Process p = null;
        try {
            p = start(scenario, jvm, List.of(params));
            p.getOutputStream().close();
            Process proc = p;
            List<String> lines = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        synchronized (lines) {
                            lines.add(l);
                        }
                    }
                } catch (IOException e) {
                    // The process ended.
                }
            });
            reader.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail(key, "timed out after " + timeoutSeconds + " s");
                return;
            }
            reader.join(5000);
            // "RESULT {...}": the child's one result, kept under the key; "RESULT@side {...}": one side of a
            // paired child, kept under key.side
            Map<String, String> results = new LinkedHashMap<>();
            String error = null;
            synchronized (lines) {
                for (String l : lines) {
                    if (l.startsWith("RESULT ")) {
                        results.put(key, l.substring(7));
                    } else if (l.startsWith("RESULT@") && l.indexOf(' ') > 7) {
                        results.put(key + "." + l.substring(7, l.indexOf(' ')), l.substring(l.indexOf(' ') + 1));
                    } else if (l.startsWith("ERROR ")) {
                        error = l.substring(6);
                    }
                }
            }
            if (!results.isEmpty()) {
                for (Map.Entry<String, String> e : results.entrySet()) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> m = JSON.readValue(e.getValue(), Map.class);
                    m.put("childSeconds", (System.nanoTime() - t0) / 1e9);
                    runs.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(m);
                    log(String.format("    %s done in %.1f s: %s", e.getKey(), (System.nanoTime() - t0) / 1e9,
                            brief(m)));
                }
            } else {
                fail(key, error != null ? error : "exited with status " + p.exitValue() + " and no result (see "
                        + logs.resolve(scenario + ".log") + ")");
            }
        } catch (IOException e) {
            fail(key, "could not run: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (p != null) {
                p.destroyForcibly();
            }
            fail(key, "interrupted");
        }
    }

    private void fail(String key, String message) {
        errors.putIfAbsent(key, message);
        log("    " + key + " FAILED: " + message);
    }

    private static String brief(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (e.getValue() instanceof Number n && !e.getKey().equals("childSeconds")) {
                sb.append(e.getKey()).append('=').append(String.format("%.4g", n.doubleValue())).append(' ');
            }
        }
        return sb.toString().trim();
    }

    private void log(String message) {
        System.out.printf("[%5.0f s] %s%n", (System.nanoTime() - startNanos) / 1e9, message);
        System.out.flush();
    }

    /** Returns the median over rounds of one field of one run key, NaN when it was not measured. */
    double value(String key, String field) {
        List<Double> values = new ArrayList<>();
        for (Map<String, Object> m : runs.getOrDefault(key, List.of())) {
            if (m.get(field) instanceof Number n) {
                values.add(n.doubleValue());
            }
        }
        return Stats.median(values);
    }

    /** Returns the best bandwidth trial of the run in GB/s (others' load can only lower a trial). */
    double bestBandwidth() {
        return values("bandwidth", "gbPerSecondMax").stream().mapToDouble(Double::doubleValue).max()
                .orElse(Double.NaN);
    }

    /** Returns every round's value of one field, for the spread. */
    List<Double> values(String key, String field) {
        List<Double> values = new ArrayList<>();
        for (Map<String, Object> m : runs.getOrDefault(key, List.of())) {
            if (m.get(field) instanceof Number n) {
                values.add(n.doubleValue());
            }
        }
        return values;
    }

    /** The commit of the working tree the harness runs in, marked when tracked files differ from it. */
    static String commit() {
        try {
            String head = NativeTool.exec(List.of("git", "rev-parse", "HEAD"), 20).trim();
            if (!head.matches("[0-9a-f]{40}")) {
                return "unknown (git: " + head.replace('\n', ' ') + ")";
            }
            String changed = NativeTool.exec(List.of("git", "status", "--porcelain", "--untracked-files=no"), 20)
                    .trim();
            return head + (changed.isEmpty() ? "" : " with uncommitted changes to tracked files");
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown (interrupted)";
        }
    }

    /**
     * Names the jars of a class path: the label the user gave them, then each file with its size, modification
     * time and the start of its SHA-256, so that a table says which build its "before" side ran.
     */
    static String describeJars(String classpath, String label) {
        StringBuilder sb = new StringBuilder(label == null ? "build not named (bench.djlBeforeLabel)" : label);
        sb.append(": ");
        boolean first = true;
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            Path jar = Path.of(entry);
            sb.append(first ? "" : ", ").append(jar);
            first = false;
            if (Files.isDirectory(jar)) {
                sb.append(" (directory)");
                continue;
            }
            try {
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                byte[] bytes = Files.readAllBytes(jar);
                String hex = java.util.HexFormat.of().formatHex(sha.digest(bytes));
                sb.append(String.format(java.util.Locale.ROOT, " (%,d bytes, %s, sha256 %s)", bytes.length,
                        Files.getLastModifiedTime(jar).toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        hex.substring(0, 12)));
            } catch (IOException | java.security.NoSuchAlgorithmException | RuntimeException e) {
                sb.append(" (unreadable: ").append(e.getMessage()).append(')');
            }
        }
        return sb.toString();
    }

    private static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            return "unknown";
        }
        return "unknown";
    }

    private static String memTotal() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(l.replaceAll("[^0-9]", ""));
                    return String.format("%.1f GiB", kb / 1024.0 / 1024.0);
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
        return "unknown";
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void replaceSection(Path doc, String markdown) throws IOException {
        if (!Files.exists(doc)) {
            return;
        }
        String text = Files.readString(doc);
        int b = text.indexOf(BEGIN);
        int e = text.indexOf(END);
        if (b < 0 || e < b) {
            return;
        }
        Files.writeString(doc, text.substring(0, b + BEGIN.length()) + "\n" + markdown + "\n" + text.substring(e));
    }
}
