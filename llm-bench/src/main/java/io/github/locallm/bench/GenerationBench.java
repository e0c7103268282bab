package io.github.locallm.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.StreamHandler;
import io.github.locallm.demo.DemoModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One model in one process: load time, then warm-up and repeated greedy generations of a fixed prompt length,
 * through the raw {@code de.kherud:llama} API ({@code variant=raw}) or through {@link LocalLlm} with a named
 * backend ({@code variant=llamacpp}: the llamacpp engine, {@code variant=jllama}: the llamacpp backend on its
 * de.kherud engine, or {@code variant=djl}), or the llama.cpp backend in an engine process
 * ({@code variant=isolated}, {@code isolate=process}).
 */
final class GenerationBench {
    private GenerationBench() {
    }

    /** The timestamps and counts of one generation. */
    record Sample(long startNs, long firstNs, long lastNs, int tokens, int promptTokens, long allocBytes,
                  long jniFirst, long jniLast, long doneNs) {
        Sample(long startNs, long firstNs, long lastNs, int tokens, int promptTokens, long allocBytes) {
            this(startNs, firstNs, lastNs, tokens, promptTokens, allocBytes, -1, -1, lastNs);
        }

        /**
         * Generation tokens/s from the first piece to the moment the caller is told the answer is complete
         * (rather than to its last piece): what a caller waits for in full, the step that finds the end of the
         * answer included. A side that sends its pieces in batches delivers the last one with the answer, so
         * its last piece is as late as its end; timed to the end, both sides count the same steps.
         */
        double genToEndTokensPerSecond() {
            return tokens > 1 && doneNs > firstNs ? (tokens - 1) / ((doneNs - firstNs) / 1e9) : Double.NaN;
        }

        /** DJL PyTorch JNI calls per generated token after the first, NaN without the counting agent. */
        double jniPerToken() {
            return jniFirst >= 0 && tokens > 1 ? (double) (jniLast - jniFirst) / (tokens - 1) : Double.NaN;
        }

        double ttftMs() {
            return (firstNs - startNs) / 1e6;
        }

        double genTokensPerSecond() {
            return tokens > 1 && lastNs > firstNs ? (tokens - 1) / ((lastNs - firstNs) / 1e9) : Double.NaN;
        }

        double promptTokensPerSecond() {
            return promptTokens / ((firstNs - startNs) / 1e9);
        }

        double allocPerToken() {
            return tokens > 0 ? (double) allocBytes / tokens : Double.NaN;
        }
    }

    /** A way to run generations. */
    interface Runner extends AutoCloseable {
        Sample generate(String prompt, int maxTokens) throws Exception;

        @Override
        void close();
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        String variant = p.get("variant");
        Path model = Path.of(p.get("model"));
        int ctx = Integer.parseInt(p.getOrDefault("ctx", "1024"));
        // "default": the backend's own choice (the llama.cpp backend's is read back from the model's details)
        String threadsArg = p.getOrDefault("threads", "2");
        int threads = threadsArg.equals("default") ? 0 : Integer.parseInt(threadsArg);
        int promptTokens = Integer.parseInt(p.getOrDefault("promptTokens", "128"));
        int genTokens = Integer.parseInt(p.getOrDefault("genTokens", "32"));
        int reps = Integer.parseInt(p.getOrDefault("reps", "3"));
        int warmups = Integer.parseInt(p.getOrDefault("warmups", "1"));
        // Tokens of each warm-up: a few load classes and touch the weights; as many as a measured request also
        // let the JIT compile the per-token path in every JVM involved before anything is timed.
        int warmupTokens = Integer.parseInt(p.getOrDefault("warmupTokens", "4"));
        int round = Integer.parseInt(p.getOrDefault("round", "0"));
        long budgetNs = Long.parseLong(p.getOrDefault("budgetMs", "600000")) * 1_000_000L;
        // "demo": the demo model's own chat, its system prompt and a question of its corpus per request
        boolean demo = p.getOrDefault("prompts", "workload").equals("demo");
        // "end": generation tokens/s timed from the first piece to the end of the answer, not to its last piece
        boolean toEnd = p.getOrDefault("rateTo", "last").equals("end");

        // Every prompt is built before the model loads: building one runs the modelkit tokenizer, whose code the
        // JIT would otherwise compile during the timed requests, on a core that a 2-thread decode needs (the C
        // driver reads its prompts from files written before it starts).
        String[] warmupPrompts = new String[warmups];
        for (int i = 0; i < warmups; i++) {
            warmupPrompts[i] = demo ? demoQuestion(500 + i) : Workload.prompt(Math.min(32, promptTokens), 500 + i);
        }
        String[] prompts = new String[reps];
        for (int i = 0; i < reps; i++) {
            // A different first token on every request (and round) so that no KV prefix is reused.
            prompts[i] = demo ? demoQuestion(round * 50 + i) : Workload.prompt(promptTokens, round * 50 + i);
        }
        // "a+b": both sides in this one process, their requests interleaved one by one (a b, b a, a b, ...), so
        // that both see the same moments of a machine whose speed drifts; one result per side
        String[] variants = variant.split("\\+");
        String pairBase = p.getOrDefault("pairBase", variants[0]);
        // "pinCpu=N": this thread, and so every thread and process it starts from here on (the backend's
        // generation threads, the C driver), runs on CPU N only; threads that exist already (the JIT compiler,
        // the collector) keep every CPU. One-thread sides then decode on the same CPU, whatever the others do.
        int pinCpu = Integer.parseInt(p.getOrDefault("pinCpu", "-1"));
        if (pinCpu >= 0) {
            Probe.pinCallingThread(pinCpu);
        }
        List<Side> sides = new ArrayList<>();
        try {
            for (String v : variants) {
                long t0 = System.nanoTime();
                Runner runner = v.startsWith("raw") ? new Raw(model, ctx, threads, v.equals("raw-nowarmup"))
                        : v.equals("native-c") ? new NativeDriverBench.Served(model, ctx, threads, genTokens)
                        : new Backend(v, model, ctx, threads, demo);
                Side side = new Side(v, runner, runner instanceof NativeDriverBench.Served d ? d.loadMs()
                        : (System.nanoTime() - t0) / 1e6);
                sides.add(side);
                side.used = threads > 0 ? threads : runner instanceof Backend be ? be.threads() : 0;
            }
            long rssAfterLoad = Probe.rssBytes();
            for (int i = 0; i < warmups; i++) {
                for (Side side : sides) {
                    side.runner.generate(warmupPrompts[i], Math.min(warmupTokens, genTokens));
                }
            }
            long measureStart = System.nanoTime();
            for (int i = 0; i < reps && (i == 0 || System.nanoTime() - measureStart < budgetNs); i++) {
                for (int k = 0; k < sides.size(); k++) {
                    // the side that goes first alternates, so that neither always follows the other
                    Side side = sides.get((k + i) % sides.size());
                    side.add(side.runner.generate(prompts[i], genTokens), toEnd);
                }
            }
            Map<String, Map<String, Object>> results = new LinkedHashMap<>();
            for (Side side : sides) {
                Map<String, Object> r = side.result(ctx, warmups, Math.min(warmupTokens, genTokens), threads, demo);
                if (toEnd) {
                    r.put("settings", r.get("settings") + "; generation tokens/s from the first piece to the end of "
                            + "the answer");
                }
                if (pinCpu >= 0) {
                    r.put("settings", r.get("settings") + "; its decoding thread on CPU " + pinCpu + " (pinned)");
                }
                r.put("rssAfterLoad", (double) rssAfterLoad);
                r.put("peakRss", (double) Probe.peakRssBytes());
                if (sides.size() > 1) {
                    // the median over requests of this side's rate over the base side's (pairBase, else the
                    // first side) on the same prompt
                    List<Double> ratios = new ArrayList<>();
                    List<Double> base = sides.stream().filter(o -> o.variant.equals(pairBase)).findFirst()
                            .orElse(sides.get(0)).gen;
                    for (int i = 0; i < Math.min(base.size(), side.gen.size()); i++) {
                        ratios.add(side.gen.get(i) / base.get(i));
                    }
                    r.put("pairRatio", Stats.median(ratios));
                    r.put("settings", r.get("settings") + "; in one process with "
                            + String.join(" and ", java.util.Arrays.stream(variants).filter(v -> !v.equals(side.variant))
                            .toList()) + ", requests interleaved one by one, each prompt on every side");
                }
                results.put(side.variant, r);
            }
            if (sides.size() == 1) {
                return results.values().iterator().next();
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("paired", results);
            return r;
        } finally {
            for (Side side : sides) {
                side.runner.close();
            }
        }
    }

    /** One side of a child: its runner and what its measured requests gave. */
    private static final class Side {
        final String variant;
        final Runner runner;
        final double loadMs;
        int used;
        final List<Double> ttft = new ArrayList<>();
        final List<Double> gen = new ArrayList<>();
        final List<Double> prompt = new ArrayList<>();
        final List<Double> alloc = new ArrayList<>();
        final List<Double> jni = new ArrayList<>();
        final List<Double> tokens = new ArrayList<>();
        final List<Double> promptCounts = new ArrayList<>();
        /** Milliseconds from the last piece to the end of the answer. */
        final List<Double> tail = new ArrayList<>();

        Side(String variant, Runner runner, double loadMs) {
            this.variant = variant;
            this.runner = runner;
            this.loadMs = loadMs;
        }

        void add(Sample s, boolean toEnd) {
            ttft.add(s.ttftMs());
            gen.add(toEnd ? s.genToEndTokensPerSecond() : s.genTokensPerSecond());
            prompt.add(s.promptTokensPerSecond());
            alloc.add(s.allocPerToken());
            jni.add(s.jniPerToken());
            tokens.add((double) s.tokens());
            promptCounts.add((double) s.promptTokens());
            tail.add((s.doneNs() - s.lastNs()) / 1e6);
        }

        Map<String, Object> result(int ctx, int warmups, int warmupTokens, int threads, boolean demo) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("variant", variant);
            r.put("settings", settings(variant, ctx, used, warmups, warmupTokens)
                    + (threads > 0 ? "" : "; threads: the backend's default for this model")
                    + (demo ? "; the demo model's chat: its system prompt and one of its " + DEMO_QUESTIONS
                    + " longest-answered corpus questions per request, greedy" : ""));
            r.put("reps", (double) ttft.size());
            r.put("loadMs", loadMs);
            r.put("ttftMs", Stats.median(ttft));
            r.put("genTps", Stats.median(gen));
            r.put("promptTps", Stats.median(prompt));
            r.put("allocPerToken", Stats.median(alloc));
            if (JniCountAgent.count() >= 0) {
                // Counted by the agent at DJL's call sites, between the first and the last token of each generation.
                r.put("jniPerToken", Stats.median(jni));
            }
            r.put("tokens", Stats.median(tokens));
            r.put("promptTokens", Stats.median(promptCounts));
            r.put("ttftAll", ttft);
            r.put("genAll", gen);
            r.put("tailMs", Stats.median(tail));
            return r;
        }
    }

    /** How many of the demo corpus's questions with the longest answers the demo workload cycles through. */
    static final int DEMO_QUESTIONS = 20;

    /** Returns a question of the demo model's corpus, among those with the longest trained answers. */
    static String demoQuestion(int n) {
        List<DemoModel.Exchange> corpus = new ArrayList<>(DemoModel.corpus());
        corpus.sort(java.util.Comparator.comparingInt((DemoModel.Exchange e) -> e.answer().length()).reversed());
        return corpus.get(Math.floorMod(n, Math.min(DEMO_QUESTIONS, corpus.size()))).question();
    }

    /** Returns the load and thread settings of one side, as the report prints them next to its ratios. */
    static String settings(String variant, int ctx, int threads, int warmups, int warmupTokens) {
        String load;
        if (variant.startsWith("raw")) {
            load = "de.kherud LlamaModel: ctx " + ctx + ", threads " + threads + ", batch threads " + threads
                    + ", GPU layers 0, "
                    + (variant.equals("raw-nowarmup") ? "batch " + Math.min(512, ctx) + ", micro-batch "
                    + Math.min(512, ctx) + ", 1 sequence, no context shift, load warm-up skipped"
                    : "binding defaults, load warm-up on");
        } else if (variant.equals("native-c")) {
            load = "llama_driver.c (gcc -O2) on the engine's libraries: ctx " + ctx + ", threads " + threads
                    + ", batch threads " + threads + ", batch 512, micro-batch 512, 1 sequence, mmap, no warm-up "
                    + "decode at load, one 4-token request at start; served one request per line from the Java child";
        } else if (variant.equals("djl")) {
            load = "LocalLlm djl: ctx " + ctx;
        } else {
            load = "LocalLlm llamacpp (engine " + variant + "): ctx " + ctx + ", threads " + threads
                    + ", batch threads " + threads + ", batch " + Math.min(512, ctx) + ", 1 sequence, load warm-up "
                    + "skipped";
        }
        return load + "; " + warmups + " unmeasured generation(s) of at most " + warmupTokens
                + " tokens on the measuring thread";
    }

    /**
     * The raw binding, used the way its README shows: a streamed {@code generate} iterable. With
     * {@code noWarmup} the model is loaded with {@code --no-warmup}, one of the load settings of the llama.cpp
     * backend, to measure that setting alone.
     */
    static final class Raw implements Runner {
        private final LlamaModel model;

        Raw(Path path, int ctx, int threads, boolean noWarmup) {
            LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
            ModelParameters mp = new ModelParameters().setModel(path.toString()).setCtxSize(ctx)
                    .setThreads(threads).setThreadsBatch(threads).setGpuLayers(0);
            if (noWarmup) {
                // Exactly the load settings of the backend's jllama engine: batch min(512, ctx), micro-batch
                // min(batch, 512), one sequence, no context shift, no warm-up decode.
                int batch = Math.min(512, ctx);
                mp.setBatchSize(batch).setUbatchSize(Math.min(batch, 512)).setParallel(1).disableContextShift()
                        .skipWarmup();
            }
            model = new LlamaModel(mp);
        }

        @Override
        public Sample generate(String prompt, int maxTokens) {
            int promptTokens = model.encode(prompt).length;
            InferenceParameters ip = new InferenceParameters(prompt).setNPredict(maxTokens).setTemperature(0f);
            long a0 = Probe.allocatedBytes();
            long start = System.nanoTime();
            long first = 0;
            long last = 0;
            int n = 0;
            for (LlamaOutput out : model.generate(ip)) {
                if (!out.text.isEmpty()) {
                    long now = System.nanoTime();
                    if (n++ == 0) {
                        first = now;
                    }
                    last = now;
                }
            }
            long alloc = Probe.allocatedBytes() - a0;
            // The binding streams text, not tokens: a token that ends inside a UTF-8 sequence is held back and
            // sent with the next one, so pieces undercount tokens. The workload model cannot end a turn early
            // (see Workload.model), so every request generates exactly maxTokens tokens.
            return new Sample(start, first == 0 ? System.nanoTime() : first, last, n == 0 ? 0 : maxTokens,
                    promptTokens, alloc);
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /** The SDK: {@link LocalLlm#stream} with a callback, on the named backend. */
    static final class Backend implements Runner {
        final LocalLlm llm;
        /** Whether a prompt is a question put to the demo model's chat rather than a completion prompt. */
        final boolean demoChat;

        Backend(String variant, Path path, int ctx, int threads) {
            this(variant, path, ctx, threads, false);
        }

        Backend(String variant, Path path, int ctx, int threads, boolean demoChat) {
            this.demoChat = demoChat;
            // variant "isolated": the llama.cpp backend in an engine process (isolate=process);
            // "llamacpp" and "jllama": the llama.cpp backend on that engine
            boolean isolated = variant.equals("isolated");
            boolean llama = isolated || variant.equals("llamacpp") || variant.equals("jllama");
            String backend = llama ? "llamacpp" : variant;
            OpenOptions.Builder b = OpenOptions.builder().backend(backend).contextLength(ctx);
            if (isolated) {
                b.parameter("isolate", "process");
            } else if (llama) {
                b.parameter("engine", variant);
            }
            if (!backend.equals("djl") && threads > 0) {
                b.threads(threads);
            }
            llm = LocalLlm.open(path, b.build());
        }

        /** Returns the threads the model was opened with, as its details say, or 0 when they do not say. */
        int threads() {
            String t = llm.info().details().get("threads");
            return t == null ? 0 : Integer.parseInt(t);
        }

        @Override
        public Sample generate(String prompt, int maxTokens) throws Exception {
            GenerationOptions options = GenerationOptions.builder().maxTokens(maxTokens).temperature(0).build();
            TokenClock clock = new TokenClock();
            long a0 = Probe.allocatedBytes();
            long start = System.nanoTime();
            GenerationHandle h = demoChat
                    ? llm.streamChat(List.of(ChatMessage.system(DemoModel.systemPrompt()), ChatMessage.user(prompt)),
                            options, clock)
                    : llm.stream(prompt, options, clock);
            Completion c = h.completion().get(10, TimeUnit.MINUTES);
            long alloc = Probe.allocatedBytes() - a0;
            long first = clock.first == 0 ? System.nanoTime() : clock.first;
            return new Sample(start, first, clock.last, c.usage().completionTokens(), c.usage().promptTokens(), alloc,
                    clock.jniFirst, clock.jniLast, clock.done == 0 ? System.nanoTime() : clock.done);
        }

        @Override
        public void close() {
            llm.close();
        }
    }

    /** Records when the first and the last piece of text arrived. */
    static final class TokenClock implements StreamHandler {
        volatile long first;
        volatile long last;
        volatile int pieces;
        volatile long jniFirst = -1;
        volatile long jniLast = -1;

        @Override
        public void onToken(String text) {
            long now = System.nanoTime();
            long jni = JniCountAgent.count();
            if (first == 0) {
                first = now;
                jniFirst = jni;
            }
            last = now;
            jniLast = jni;
            pieces++;
        }

        /** When the generation thread reported the answer complete. */
        volatile long done;

        @Override
        public void onComplete(Completion completion) {
            done = System.nanoTime();
        }

        @Override
        public void onError(Throwable error) {
        }
    }
}
