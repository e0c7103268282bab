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
                  long jniFirst, long jniLast) {
        Sample(long startNs, long firstNs, long lastNs, int tokens, int promptTokens, long allocBytes) {
            this(startNs, firstNs, lastNs, tokens, promptTokens, allocBytes, -1, -1);
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
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        int promptTokens = Integer.parseInt(p.getOrDefault("promptTokens", "128"));
        int genTokens = Integer.parseInt(p.getOrDefault("genTokens", "32"));
        int reps = Integer.parseInt(p.getOrDefault("reps", "3"));
        int warmups = Integer.parseInt(p.getOrDefault("warmups", "1"));
        int round = Integer.parseInt(p.getOrDefault("round", "0"));
        long budgetNs = Long.parseLong(p.getOrDefault("budgetMs", "600000")) * 1_000_000L;
        // "demo": the demo model's own chat, its system prompt and a question of its corpus per request
        boolean demo = p.getOrDefault("prompts", "workload").equals("demo");

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
        long t0 = System.nanoTime();
        Runner runner = variant.startsWith("raw") ? new Raw(model, ctx, threads, variant.equals("raw-nowarmup"))
                : new Backend(variant, model, ctx, threads, demo);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        List<Double> ttft = new ArrayList<>();
        List<Double> gen = new ArrayList<>();
        List<Double> prompt = new ArrayList<>();
        List<Double> alloc = new ArrayList<>();
        List<Double> jni = new ArrayList<>();
        List<Double> tokens = new ArrayList<>();
        List<Double> promptCounts = new ArrayList<>();
        long rssAfterLoad = Probe.rssBytes();
        try (runner) {
            for (int i = 0; i < warmups; i++) {
                // Short: it only has to load classes, compile hot code and touch the weights once.
                runner.generate(warmupPrompts[i], Math.min(4, genTokens));
            }
            long measureStart = System.nanoTime();
            for (int i = 0; i < reps && (i == 0 || System.nanoTime() - measureStart < budgetNs); i++) {
                Sample s = runner.generate(prompts[i], genTokens);
                ttft.add(s.ttftMs());
                gen.add(s.genTokensPerSecond());
                prompt.add(s.promptTokensPerSecond());
                alloc.add(s.allocPerToken());
                jni.add(s.jniPerToken());
                tokens.add((double) s.tokens());
                promptCounts.add((double) s.promptTokens());
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("variant", variant);
        r.put("settings", settings(variant, ctx, threads, warmups) + (demo ? "; the demo model's chat: its system "
                + "prompt and one of its " + DEMO_QUESTIONS + " longest-answered corpus questions per request, greedy" : ""));
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
        r.put("rssAfterLoad", (double) rssAfterLoad);
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
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
    static String settings(String variant, int ctx, int threads, int warmups) {
        String load;
        if (variant.startsWith("raw")) {
            load = "de.kherud LlamaModel: ctx " + ctx + ", threads " + threads + ", batch threads " + threads
                    + ", GPU layers 0, "
                    + (variant.equals("raw-nowarmup") ? "batch " + Math.min(512, ctx) + ", micro-batch "
                    + Math.min(512, ctx) + ", 1 sequence, no context shift, load warm-up skipped"
                    : "binding defaults, load warm-up on");
        } else if (variant.equals("djl")) {
            load = "LocalLlm djl: ctx " + ctx;
        } else {
            load = "LocalLlm llamacpp (engine " + variant + "): ctx " + ctx + ", threads " + threads
                    + ", batch threads " + threads + ", batch " + Math.min(512, ctx) + ", 1 sequence, load warm-up "
                    + "skipped";
        }
        return load + "; " + warmups + " unmeasured short generation(s) on the measuring thread";
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
            if (!backend.equals("djl")) {
                b.threads(threads);
            }
            llm = LocalLlm.open(path, b.build());
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
                    clock.jniFirst, clock.jniLast);
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

        @Override
        public void onComplete(Completion completion) {
        }

        @Override
        public void onError(Throwable error) {
        }
    }
}
