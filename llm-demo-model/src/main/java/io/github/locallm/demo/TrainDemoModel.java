package io.github.locallm.demo;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * Trains the demo model from the corpus on DJL's PyTorch engine and writes it as {@code demo.gguf}, a
 * Hugging Face checkpoint folder {@code hf/}, a {@code README.md} with the run's numbers and a
 * {@code manifest.txt}, then checks that greedy decoding reproduces every trained answer.
 *
 * <p>Run it from the project root (2 cores: a few minutes):
 * <pre>{@code
 * mvn -B -q -pl llm-demo-model -am package -DskipTests -Ptrain -Dtrain.args="--out /tmp/demo-model --seed 42"
 * }</pre>
 * To ship the result, pass {@code --out llm-demo-model/src/main/resources/io/github/locallm/demo/model}.
 * Interrupting the run (Ctrl-C) lets the current step finish and exports nothing.
 *
 * <p>Options: {@code --out DIR} (required), {@code --seed N} (42), {@code --steps N}, {@code --merges N},
 * {@code --threads N} (1: the result is then reproducible bit for bit), {@code --gguf auto|F32|Q8_0}
 * ({@code auto} picks Q8_0 when its emulated arithmetic still reproduces every answer), {@code --hf F32|F16}
 * (weights of the Hugging Face checkpoint).
 *
 * <p>A command-line program; not meant to be called concurrently.
 */
public final class TrainDemoModel {

    static final int HIDDEN = 128;
    static final int LAYERS = 4;
    static final int HEADS = 4;
    static final int FFN = 352;
    static final double ROPE_THETA = 10000.0;
    static final double RMS_EPS = 1e-5;
    static final int CONTEXT = 512;
    /** Generation limit of the checks; the longest trained answer is far shorter. */
    static final int MAX_ANSWER_TOKENS = 120;
    static final int DEFAULT_STEPS = 1200;
    /** Conversations per optimizer step; each holds one to {@link #MAX_TURNS} exchanges. */
    static final int BATCH = 8;
    /** Most exchanges in one training conversation. */
    static final int MAX_TURNS = 6;
    /** Most tokens in one training conversation: room for the history a session keeps in the trained context. */
    static final int CONVERSATION_TOKENS = 400;
    /** Turns of each session the checks run. */
    static final int SESSION_TURNS = 5;
    static final int DEFAULT_MERGES = 600;
    static final String DEFAULT_HF = "F16";

    private TrainDemoModel() {
    }

    /** Options of one run. */
    record Options(Path out, long seed, int steps, int merges, int threads, String gguf, String hf) {
    }

    /**
     * Entry point; see the class comment for the options.
     *
     * @param args command-line options
     * @throws Exception if training or writing fails
     */
    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(o.threads()));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Result r = run(o, System.out);
        if (!r.allReproduced()) {
            System.err.println("not every answer is reproduced; see " + o.out().resolve("README.md"));
            System.exit(2);
        }
    }

    private static Options parse(String[] args) {
        Path out = null;
        long seed = 42;
        int steps = DEFAULT_STEPS;
        int merges = DEFAULT_MERGES;
        int threads = 1;
        String gguf = "auto";
        String hf = DEFAULT_HF;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--out" -> out = Path.of(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--merges" -> merges = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                case "--gguf" -> gguf = v;
                case "--hf" -> hf = v;
                default -> throw new IllegalArgumentException("unknown option " + a
                        + "; known: --out --seed --steps --merges --threads --gguf --hf");
            }
        }
        if (out == null) {
            throw new IllegalArgumentException("--out DIR is required");
        }
        if (!List.of("auto", "F32", "Q8_0").contains(gguf)) {
            throw new IllegalArgumentException("--gguf must be auto, F32 or Q8_0: " + gguf);
        }
        if (!List.of("F32", "F16").contains(hf)) {
            throw new IllegalArgumentException("--hf must be F32 or F16: " + hf);
        }
        return new Options(out, seed, steps, merges, threads, gguf, hf);
    }

    /** What a run produced. */
    record Result(long parameters, int steps, int skippedSteps, float finalLoss, Duration trainingTime, String ggufType, String hfType,
                  int checked, Map<ReferenceForward.Arithmetic, Check> checks,
                  int sessionAnswers, Map<ReferenceForward.Arithmetic, Check> sessionChecks) {
        boolean allReproduced() {
            return checks.get(ReferenceForward.Arithmetic.F32).reproduced() == checked
                    && checks.get(ReferenceForward.Arithmetic.valueOf(ggufType)).reproduced() == checked
                    && checks.get(ReferenceForward.Arithmetic.valueOf(hfType)).reproduced() == checked
                    && sessionChecks.get(ReferenceForward.Arithmetic.valueOf(ggufType)).reproduced() == sessionAnswers
                    && sessionChecks.get(ReferenceForward.Arithmetic.valueOf(hfType)).reproduced() == sessionAnswers;
        }
    }

    /** Training data built from the corpus. */
    record Prepared(String corpusText, List<DemoModel.Exchange> exchanges, BpeTokenizer tokenizer,
                    LlamaConfig config, List<LlamaTrainer.Sequence> sequences,
                    IntFunction<List<LlamaTrainer.Sequence>> epochs) {
    }

    /** Token ids of one exchange as it appears first in a conversation (with or without system) and later. */
    private record Pieces(int[] firstWithSystem, int[] firstWithout, int[] later, int[] answer) {
    }

    /** The text the tokenizer's merges are learned from. */
    static String tokenizerText(List<DemoModel.Exchange> exchanges) {
        StringBuilder sb = new StringBuilder();
        sb.append("system\n").append(DemoModel.systemPrompt()).append("\nuser\nassistant\n");
        for (DemoModel.Exchange e : exchanges) {
            sb.append(e.question()).append('\n').append(e.answer()).append('\n');
        }
        return sb.toString();
    }

    static Prepared prepare(String corpusText, int merges, long seed) {
        List<DemoModel.Exchange> exchanges = DemoModel.parseCorpus(corpusText);
        BpeTokenizer tokenizer = BpeTokenizer.train(tokenizerText(exchanges), merges);
        int endOfText = tokenizer.tokenId(BpeTokenizer.END_OF_TEXT);
        int imEnd = tokenizer.tokenId(BpeTokenizer.IM_END);
        LlamaConfig config = new LlamaConfig("llama", tokenizer.size(), HIDDEN, FFN, LAYERS, HEADS, HEADS,
                ROPE_THETA, RMS_EPS, CONTEXT, false, false, endOfText, imEnd);
        List<LlamaTrainer.Sequence> sequences = new ArrayList<>();
        for (DemoModel.Exchange e : exchanges) {
            for (String system : new String[] {DemoModel.systemPrompt(), null}) {
                int[] prompt = tokenizer.encodeWithSpecials(DemoModel.chatMlPrompt(system, e.question()));
                int[] answer = tokenizer.encode(e.answer());
                int[] tokens = new int[prompt.length + answer.length + 1];
                System.arraycopy(prompt, 0, tokens, 0, prompt.length);
                System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
                tokens[tokens.length - 1] = imEnd;
                boolean[] trained = new boolean[tokens.length];
                // Position j predicts token j + 1: train the answer tokens and the closing <|im_end|>.
                for (int j = prompt.length - 1; j < tokens.length - 1; j++) {
                    trained[j] = true;
                }
                sequences.add(new LlamaTrainer.Sequence(tokens, trained));
            }
        }
        List<Pieces> pieces = new ArrayList<>();
        for (DemoModel.Exchange e : exchanges) {
            pieces.add(new Pieces(
                    tokenizer.encodeWithSpecials(DemoModel.chatMlPrompt(DemoModel.systemPrompt(), e.question())),
                    tokenizer.encodeWithSpecials(DemoModel.chatMlPrompt(null, e.question())),
                    tokenizer.encodeWithSpecials("\n" + DemoModel.chatMlPrompt(null, e.question())),
                    tokenizer.encode(e.answer())));
        }
        IntFunction<List<LlamaTrainer.Sequence>> epochs =
                epoch -> conversations(exchanges, pieces, imEnd, new Random(seed * 1_000_003L + epoch));
        // The pieces must tokenize a whole conversation the way a backend tokenizes its rendered text.
        Random probe = new Random(seed);
        for (int i = 0; i < 20; i++) {
            List<DemoModel.Exchange> turns = new ArrayList<>();
            for (int t = 0; t <= i % MAX_TURNS; t++) {
                turns.add(exchanges.get(probe.nextInt(exchanges.size())));
            }
            String system = i % 2 == 0 ? DemoModel.systemPrompt() : null;
            List<String> history = new ArrayList<>();
            for (DemoModel.Exchange e : turns.subList(0, turns.size() - 1)) {
                history.add(e.question());
                history.add(e.answer());
            }
            int[] whole = tokenizer.encodeWithSpecials(
                    DemoModel.chatMlConversation(system, history, turns.get(turns.size() - 1).question()));
            int[] joined = promptTokens(exchanges, pieces, imEnd, system != null, turns);
            if (!java.util.Arrays.equals(whole, joined)) {
                throw new IllegalStateException("a conversation's pieces do not tokenize like its text: " + turns);
            }
        }
        return new Prepared(corpusText, exchanges, tokenizer, config, sequences, epochs);
    }

    /** The prompt tokens of a conversation whose last turn's answer is still to come. */
    private static int[] promptTokens(List<DemoModel.Exchange> exchanges, List<Pieces> pieces, int imEnd,
                                      boolean system, List<DemoModel.Exchange> turns) {
        List<Integer> out = new ArrayList<>();
        for (int t = 0; t < turns.size(); t++) {
            Pieces p = pieces.get(exchanges.indexOf(turns.get(t)));
            for (int id : t == 0 ? (system ? p.firstWithSystem() : p.firstWithout()) : p.later()) {
                out.add(id);
            }
            if (t < turns.size() - 1) {
                for (int id : p.answer()) {
                    out.add(id);
                }
                out.add(imEnd);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * One epoch of multi-turn conversations: every exchange once with the system prompt and once without, in
     * random order, cut into conversations of one to {@link #MAX_TURNS} exchanges (at most
     * {@link #CONVERSATION_TOKENS} tokens). Every answer of a conversation is trained, so its first answer is
     * learnt as a fresh session sees it and the others with history before them.
     */
    private static List<LlamaTrainer.Sequence> conversations(List<DemoModel.Exchange> exchanges, List<Pieces> pieces,
                                                             int imEnd, Random random) {
        List<LlamaTrainer.Sequence> out = new ArrayList<>();
        for (boolean system : new boolean[] {true, false}) {
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < exchanges.size(); i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, random);
            int next = 0;
            while (next < order.size()) {
                int wanted = 1 + random.nextInt(MAX_TURNS);
                int[] tokens = new int[CONVERSATION_TOKENS];
                boolean[] trained = new boolean[CONVERSATION_TOKENS];
                int length = 0;
                for (int turn = 0; turn < wanted && next < order.size(); turn++) {
                    Pieces p = pieces.get(order.get(next));
                    int[] prompt = turn == 0 ? (system ? p.firstWithSystem() : p.firstWithout()) : p.later();
                    int needed = prompt.length + p.answer().length + 1;
                    if (length + needed > CONVERSATION_TOKENS) {
                        if (turn == 0) {
                            throw new IllegalStateException("one exchange exceeds " + CONVERSATION_TOKENS
                                    + " tokens: " + exchanges.get(order.get(next)).question());
                        }
                        break;
                    }
                    System.arraycopy(prompt, 0, tokens, length, prompt.length);
                    length += prompt.length;
                    System.arraycopy(p.answer(), 0, tokens, length, p.answer().length);
                    // Position j predicts token j + 1: train the answer tokens and the closing <|im_end|>.
                    for (int j = length - 1; j < length + p.answer().length; j++) {
                        trained[j] = true;
                    }
                    length += p.answer().length;
                    tokens[length++] = imEnd;
                    next++;
                }
                out.add(new LlamaTrainer.Sequence(java.util.Arrays.copyOf(tokens, length),
                        java.util.Arrays.copyOf(trained, length)));
            }
        }
        return out;
    }

    static Result run(Options o, java.io.PrintStream log) throws IOException, InterruptedException {
        String corpusText = readCorpus();
        Prepared p = prepare(corpusText, o.merges(), o.seed());
        int maxLen = p.sequences().stream().mapToInt(s -> s.tokens().length).max().orElse(0);
        List<LlamaTrainer.Sequence> first = p.epochs().apply(0);
        long trainedTokens = first.stream().mapToLong(s -> countTrue(s.trainedTarget())).sum();
        long epochTokens = first.stream().mapToLong(s -> s.tokens().length).sum();
        log.printf(Locale.ROOT, "corpus: %d exchanges, longest exchange %d tokens; vocabulary %d tokens; "
                        + "an epoch: %d conversations of 1 to %d exchanges, %d tokens, %d trained targets%n",
                p.exchanges().size(), maxLen, p.tokenizer().size(), first.size(), MAX_TURNS, epochTokens,
                trainedTokens);
        LlamaTrainer.Settings settings = new LlamaTrainer.Settings(o.steps(), BATCH, 3e-3f, 1e-4f, 50, 1.0f, 1000f, 10, o.seed());
        CountDownLatch finished = new CountDownLatch(1);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        float loss;
        long parameters;
        List<String> skippedMessages;
        Instant start = Instant.now();
        try (LlamaTrainer trainer = new LlamaTrainer(p.config(), o.seed())) {
            parameters = trainer.parameterCount();
            log.printf(Locale.ROOT, "model: %d parameters (hidden %d, %d layers, %d heads, SwiGLU %d)%n",
                    parameters, HIDDEN, LAYERS, HEADS, FFN);
            Thread hook = new Thread(() -> {
                trainer.stop();
                try {
                    finished.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "demo-training-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            int[] lastStep = {0};
            List<String> skippedSteps = new ArrayList<>();
            skippedMessages = skippedSteps;
            try {
                loss = trainer.train(p.epochs(), settings, s -> {
                    lastStep[0] = s.step();
                    if (s.step() % 50 == 0 || s.step() == 1) {
                        log.printf(Locale.ROOT, "step %5d  loss %.4f  grad norm %.3f  lr %.5f  %ds%n", s.step(),
                                s.loss(), s.gradNorm(), s.learningRate(),
                                Duration.between(start, Instant.now()).toSeconds());
                    }
                }, message -> {
                    skippedSteps.add(message);
                    log.println(message);
                });
                if (lastStep[0] < o.steps()) {
                    throw new InterruptedException("training stopped at step " + lastStep[0] + " of " + o.steps()
                            + "; nothing exported");
                }
                for (Tensor t : trainer.exportTensors()) {
                    tensors.put(t.name(), t);
                }
            } finally {
                finished.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is already exiting: the hook has run
                }
            }
        }
        Duration trainingTime = Duration.between(start, Instant.now());
        int skipped = skippedMessages.size();
        log.printf(Locale.ROOT, "trained %d steps in %ds, final loss %.5f%n", o.steps(), trainingTime.toSeconds(), loss);

        CheckpointModel model = CheckpointModel.of(p.config(), p.tokenizer(), tensors, CheckpointModel.CHATML_TEMPLATE);
        Files.createDirectories(o.out());
        HfCheckpointWriter.write(model, o.out().resolve(DemoModel.CHECKPOINT_DIR),
                HfCheckpointWriter.DType.valueOf(o.hf()));
        Map<ReferenceForward.Arithmetic, Check> checks = new java.util.EnumMap<>(ReferenceForward.Arithmetic.class);
        for (ReferenceForward.Arithmetic a : java.util.EnumSet.of(ReferenceForward.Arithmetic.F32,
                ReferenceForward.Arithmetic.F16, ReferenceForward.Arithmetic.Q8_0)) {
            checks.put(a, check(p, model, a, log));
        }
        int checked = p.exchanges().size() * 2;
        Map<ReferenceForward.Arithmetic, Check> sessionChecks = new java.util.EnumMap<>(ReferenceForward.Arithmetic.class);
        List<List<DemoModel.Exchange>> sessions = sessions(p.exchanges(), o.seed());
        int sessionAnswers = sessions.stream().mapToInt(List::size).sum() * 2;
        for (ReferenceForward.Arithmetic a : java.util.EnumSet.of(ReferenceForward.Arithmetic.F16,
                ReferenceForward.Arithmetic.Q8_0)) {
            sessionChecks.put(a, sessionCheck(p, model, a, sessions, log));
        }
        String ggufType = switch (o.gguf()) {
            case "auto" -> checks.get(ReferenceForward.Arithmetic.Q8_0).reproduced() == checked
                    && sessionChecks.get(ReferenceForward.Arithmetic.Q8_0).reproduced() == sessionAnswers ? "Q8_0" : "F32";
            default -> o.gguf();
        };
        for (String type : List.of(ggufType, o.hf())) {
            sessionChecks.computeIfAbsent(ReferenceForward.Arithmetic.valueOf(type),
                    a -> sessionCheck(p, model, a, sessions, log));
        }
        GgufWriter.write(model, o.out().resolve(DemoModel.GGUF_FILE),
                "Q8_0".equals(ggufType) ? GgufWriter.Quantization.Q8_0 : GgufWriter.Quantization.F32);
        Result result = new Result(parameters, o.steps(), skipped, loss, trainingTime, ggufType, o.hf(), checked, checks,
                sessionAnswers, sessionChecks);
        writeReadme(o, p, result);
        writeManifest(o.out());
        log.printf(Locale.ROOT, "wrote %s (GGUF %s)%n", o.out(), ggufType);
        return result;
    }

    /** Exact-match count and smallest decision margin of one arithmetic over every trained prompt. */
    record Check(int reproduced, float minMargin) {
    }

    static Check check(Prepared p, CheckpointModel model, ReferenceForward.Arithmetic arithmetic,
                       java.io.PrintStream log) {
        ReferenceForward reference = new ReferenceForward(model, arithmetic);
        int imEnd = p.config().eosTokenId();
        int ok = 0;
        float minMargin = Float.POSITIVE_INFINITY;
        List<String> failures = new ArrayList<>();
        for (DemoModel.Exchange e : p.exchanges()) {
            for (String system : new String[] {DemoModel.systemPrompt(), null}) {
                int[] prompt = p.tokenizer().encodeWithSpecials(DemoModel.chatMlPrompt(system, e.question()));
                ReferenceForward.Decoded d = reference.greedy(prompt, MAX_ANSWER_TOKENS, imEnd);
                String text = p.tokenizer().decode(d.tokens());
                minMargin = Math.min(minMargin, (float) d.minMargin());
                if (d.stopped() && text.equals(e.answer())) {
                    ok++;
                } else if (failures.size() < 5) {
                    failures.add((system == null ? "[no system] " : "") + e.question() + " -> " + text);
                }
            }
        }
        log.printf(Locale.ROOT, "%s check: %d/%d answers reproduced, smallest logit margin %.3f%n", arithmetic, ok,
                p.exchanges().size() * 2, minMargin);
        failures.forEach(f -> log.println("  mismatch: " + f));
        return new Check(ok, minMargin);
    }

    /** The checked sessions: every exchange once, in a seeded order, cut into sessions of {@link #SESSION_TURNS}. */
    static List<List<DemoModel.Exchange>> sessions(List<DemoModel.Exchange> exchanges, long seed) {
        List<DemoModel.Exchange> order = new ArrayList<>(exchanges);
        java.util.Collections.shuffle(order, new Random(seed + 1));
        List<List<DemoModel.Exchange>> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += SESSION_TURNS) {
            out.add(order.subList(i, Math.min(order.size(), i + SESSION_TURNS)));
        }
        return out;
    }

    /**
     * Runs every session with and without the system prompt, one turn after the other with the answers the model
     * gave in the history (as a chat application does), and counts the turns that give the trained answer.
     */
    static Check sessionCheck(Prepared p, CheckpointModel model, ReferenceForward.Arithmetic arithmetic,
                              List<List<DemoModel.Exchange>> sessions, java.io.PrintStream log) {
        ReferenceForward reference = new ReferenceForward(model, arithmetic);
        int imEnd = p.config().eosTokenId();
        int ok = 0;
        int total = 0;
        float minMargin = Float.POSITIVE_INFINITY;
        List<String> failures = new ArrayList<>();
        for (List<DemoModel.Exchange> session : sessions) {
            for (String system : new String[] {DemoModel.systemPrompt(), null}) {
                List<String> history = new ArrayList<>();
                for (DemoModel.Exchange e : session) {
                    int[] prompt = p.tokenizer().encodeWithSpecials(
                            DemoModel.chatMlConversation(system, history, e.question()));
                    ReferenceForward.Decoded d = reference.greedy(prompt, MAX_ANSWER_TOKENS, imEnd);
                    String text = p.tokenizer().decode(d.tokens());
                    minMargin = Math.min(minMargin, (float) d.minMargin());
                    total++;
                    if (d.stopped() && text.equals(e.answer())) {
                        ok++;
                    } else if (failures.size() < 5) {
                        failures.add("turn " + (history.size() / 2 + 1) + (system == null ? " [no system] " : " ")
                                + e.question() + " -> " + text);
                    }
                    history.add(e.question());
                    history.add(text);
                }
            }
        }
        log.printf(Locale.ROOT, "%s sessions check: %d/%d answers reproduced in sessions of %d turns, smallest logit "
                + "margin %.3f%n", arithmetic, ok, total, SESSION_TURNS, minMargin);
        failures.forEach(f -> log.println("  mismatch: " + f));
        return new Check(ok, minMargin);
    }

    private static long countTrue(boolean[] a) {
        long n = 0;
        for (boolean b : a) {
            n += b ? 1 : 0;
        }
        return n;
    }

    static String readCorpus() throws IOException {
        try (var in = TrainDemoModel.class.getResourceAsStream(DemoModel.CORPUS_RESOURCE)) {
            if (in == null) {
                throw new IOException("corpus resource " + DemoModel.CORPUS_RESOURCE + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void writeReadme(Options o, Prepared p, Result r) throws IOException {
        String corpusHash = DemoModel.sha256(p.corpusText().getBytes(StandardCharsets.UTF_8));
        LlamaConfig c = p.config();
        String text = String.join("\n",
                "# LocalLLM demo model",
                "",
                "A tiny Llama-architecture model trained by `io.github.locallm.demo.TrainDemoModel` on the project's",
                "own corpus of French and English questions about Python basics (`corpus.txt`). It reproduces the",
                "trained answer to each corpus question under greedy decoding and knows little else.",
                "",
                "| | |",
                "|---|---|",
                "| architecture | llama, hidden " + c.hiddenSize() + ", " + c.numLayers() + " layers, " + c.numHeads()
                        + " heads, SwiGLU " + c.intermediateSize() + ", RoPE theta " + c.ropeTheta()
                        + ", RMSNorm eps " + c.rmsNormEps() + ", untied output |",
                "| parameters | " + r.parameters() + " |",
                "| tokenizer | byte-level BPE, " + p.tokenizer().merges().size() + " merges, "
                        + c.vocabSize() + " tokens |",
                "| corpus | " + p.exchanges().size() + " exchanges, sha256 " + corpusHash + " |",
                "| training | seed " + o.seed() + ", " + r.steps() + " Adam steps, batch " + BATCH
                        + " conversations of 1 to " + MAX_TURNS + " exchanges (at most " + CONVERSATION_TOKENS
                        + " tokens, drawn anew each epoch), "
                        + o.threads() + " thread(s), " + r.trainingTime().toSeconds() + " s, "
                        + r.skippedSteps() + " step(s) skipped for non-finite gradients |",
                "| final loss | " + String.format(Locale.ROOT, "%.5f", r.finalLoss()) + " |",
                "| GGUF | demo.gguf, " + r.ggufType() + " |",
                "| Hugging Face checkpoint | hf/, " + r.hfType() + " |",
                checkRow(r, ReferenceForward.Arithmetic.F32, "plain-Java check, F32"),
                checkRow(r, ReferenceForward.Arithmetic.F16, "plain-Java check, F16 weights"),
                checkRow(r, ReferenceForward.Arithmetic.Q8_0, "plain-Java check, emulated llama.cpp Q8_0"),
                sessionRow(r, ReferenceForward.Arithmetic.F16, "plain-Java sessions, F16 weights"),
                sessionRow(r, ReferenceForward.Arithmetic.Q8_0, "plain-Java sessions, emulated llama.cpp Q8_0"),
                "",
                "Prompts are ChatML; the system prompt is `" + DemoModel.systemPrompt() + "` (the model was also",
                "trained without one). Retrain with:",
                "",
                "```",
                "mvn -B -q -pl llm-demo-model -am package -DskipTests -Ptrain -Dtrain.args=\"--out DIR --seed "
                        + o.seed() + " --steps " + o.steps() + " --merges " + o.merges() + " --threads " + o.threads()
                        + " --gguf " + o.gguf() + " --hf " + o.hf() + "\"",
                "```",
                "");
        Files.writeString(o.out().resolve("README.md"), text, StandardCharsets.UTF_8);
    }

    private static String sessionRow(Result r, ReferenceForward.Arithmetic a, String label) {
        Check c = r.sessionChecks().get(a);
        return "| " + label + " | " + c.reproduced() + "/" + r.sessionAnswers() + " answers reproduced in sessions of "
                + SESSION_TURNS + " turns (each exchange once, with and without system prompt, the model's own answers"
                + " in the history), smallest logit margin " + String.format(Locale.ROOT, "%.3f", c.minMargin()) + " |";
    }

    private static String checkRow(Result r, ReferenceForward.Arithmetic a, String label) {
        Check c = r.checks().get(a);
        return "| " + label + " | " + c.reproduced() + "/" + r.checked() + " answers reproduced (with and without"
                + " system prompt), smallest logit margin " + String.format(Locale.ROOT, "%.3f", c.minMargin()) + " |";
    }

    private static void writeManifest(Path out) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.walk(out)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                String rel = out.relativize(f).toString().replace('\\', '/');
                if (rel.equals(DemoModel.MANIFEST)) {
                    continue;
                }
                lines.add(rel + " " + DemoModel.sha256(f) + " " + Files.size(f));
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        Files.write(out.resolve(DemoModel.MANIFEST), lines, StandardCharsets.UTF_8);
    }
}
