package io.github.locallm.langchain4j;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.demo.LlamaTrainer;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.Tensor;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A tiny Llama model trained by the test itself to answer exactly what LangChain4j's published chat-model suites
 * ask, so that those suites run on a real model through the real in-process engine.
 *
 * <p>Each exchange is a conversation as the adapter hands it to this SDK (messages and offered tools), rendered
 * through the model's own chat template the way the llama.cpp backend renders it, followed by the answer text the
 * model must generate: plain text, or tool calls in the template's {@code <tool_call>} markup. The model is trained
 * (on DJL's PyTorch engine, loss on the answers only) until greedy decoding in plain Java reproduces every answer,
 * then written as a GGUF and a Hugging Face checkpoint under {@code target/}, named by a hash of everything that
 * went into it, so a build trains it once.
 *
 * <p>One prompt has two trained answers: "What is the capital of Germany?" is answered in prose, and the same
 * question under a JSON schema (where decoding is constrained to start with {@code {}) must give
 * {@code {"city": "Berlin"}}; the prose answer is trained twice as often, so it wins unconstrained and the JSON
 * answer is what remains when the grammar allows only JSON.
 */
final class SuiteModel {

    /**
     * A Hermes-style template: ChatML turns, the offered tools listed in a system turn, tool calls written as
     * {@code <tool_call>} JSON and tool results in {@code tool} turns.
     */
    static final String TEMPLATE = String.join("",
            "{%- if tools %}{{- '<|im_start|>system\\n' }}",
            "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n' }}{%- endif %}",
            "{{- 'Tools:' }}{%- for tool in tools %}{{- ' ' + tool.function.name }}{%- endfor %}",
            "{{- '<|im_end|>\\n' }}",
            "{%- elif messages[0].role == 'system' %}",
            "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}",
            "{%- endif %}",
            "{%- for message in messages %}",
            "{%- if message.role == 'system' %}",
            "{%- elif message.role == 'assistant' and message.tool_calls %}{{- '<|im_start|>assistant\\n' }}",
            "{%- for call in message.tool_calls %}",
            "{{- '<tool_call>\\n{\"name\": \"' + call.function.name + '\", \"arguments\": '",
            " + (call.function.arguments | tojson) + '}\\n</tool_call>\\n' }}",
            "{%- endfor %}{{- '<|im_end|>\\n' }}",
            "{%- elif message.role == 'tool' %}{{- '<|im_start|>tool\\n' + message.content + '<|im_end|>\\n' }}",
            "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}",
            "{%- endif %}",
            "{%- endfor %}",
            "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}");

    static final String CAPITAL = "What is the capital of Germany?";
    static final String CAPITAL_ANSWER = "The capital of Germany is Berlin.";

    /** One trained exchange: the conversation and tools as the model sees them, and the answer to generate. */
    record Exchange(List<ChatMessage> messages, List<ToolSpec> tools, String answer, int weight,
                    boolean jsonConstrained) {
        Exchange(List<ChatMessage> messages, List<ToolSpec> tools, String answer) {
            this(messages, tools, answer, 1, false);
        }
    }

    static final int HIDDEN = 64;
    static final int LAYERS = 2;
    static final int HEADS = 4;
    static final int FFN = 176;
    static final int MERGES = 280;
    static final int CONTEXT = 512;
    static final long SEED = 7;
    static final int STEPS = 360;
    static final int MAX_ROUNDS = 2;
    static final int FIRST_CHECK = 60;
    static final int CHECK_EVERY = 20;
    /** Smallest logit lead of each greedy choice over the runner-up, so that llama.cpp's arithmetic picks the same. */
    static final double MARGIN = 0.5;

    private static Path cached;
    private static Path cachedCheckpoint;

    private SuiteModel() {
    }

    static ToolSpec tool(String name) {
        return new ToolSpec(name, "", "{\"type\":\"object\",\"properties\":{}}");
    }

    static String call(String name, String arguments) {
        return "<tool_call>\n{\"name\": \"" + name + "\", \"arguments\": " + arguments + "}\n</tool_call>";
    }

    private static ChatMessage toolResult(String name, String id, String content) {
        return new ChatMessage(ChatMessage.Role.TOOL, content, List.of(), List.of(), name, id);
    }

    /** Every exchange LangChain4j's chat-model and listener suites send, with the answers they check for. */
    static List<Exchange> exchanges() {
        List<Exchange> out = new ArrayList<>();
        ToolSpec weather = tool("getWeather");
        ToolSpec time = tool("get_current_time");
        ToolSpec countryTime = tool("getTime");
        ToolSpec add = tool("add_two_numbers");
        String munich = "{\"city\": \"Munich\"}";
        String france = "{\"country\": \"France\"}";

        out.add(new Exchange(List.of(ChatMessage.user(CAPITAL)), List.of(), CAPITAL_ANSWER, 2, false));
        out.add(new Exchange(List.of(ChatMessage.user(CAPITAL)), List.of(), "{\"city\": \"Berlin\"}", 1, true));
        out.add(new Exchange(List.of(ChatMessage.system("Translate messages from user into German"),
                ChatMessage.user("Translate: 'I love you'")), List.of(), "Ich liebe dich."));
        out.add(new Exchange(List.of(ChatMessage.user("Hi, my favorite color is green"),
                ChatMessage.assistant("Hi, nice to meet you", List.of()),
                ChatMessage.user("What is my favorite color?")), List.of(), "Your favorite color is green."));
        out.add(new Exchange(List.of(ChatMessage.user("What is the capital of Germany? How much is 2 + 2?")),
                List.of(), "The capital of Germany is Berlin, and 2 + 2 is 4."));
        out.add(new Exchange(List.of(ChatMessage.user("Say 'Hello World'")), List.of(), "Hello World"));
        out.add(new Exchange(List.of(ChatMessage.user("What is the capital of Germany? "
                + "Answer with a JSON object containing a single 'city' field")), List.of(), "{\"city\": \"Berlin\"}"));
        out.add(new Exchange(List.of(ChatMessage.user("Tell me a long story about animals")), List.of(),
                "Once upon a time, a fox, a bear and an owl lived together in a big green forest by a lake."));

        ChatMessage weatherQuestion = ChatMessage.user("What is the weather in Munich?");
        out.add(new Exchange(List.of(weatherQuestion), List.of(weather), call("getWeather", munich)));
        out.add(new Exchange(List.of(weatherQuestion,
                ChatMessage.assistant("", List.of(new ToolCall("a", "getWeather", munich))),
                toolResult("getWeather", "a", "sunny")), List.of(weather), "It is sunny in Munich."));

        ChatMessage timeQuestion = ChatMessage.user("What is the time now? Use the get_current_time tool.");
        out.add(new Exchange(List.of(timeQuestion), List.of(time), call("get_current_time", "{}")));
        out.add(new Exchange(List.of(timeQuestion,
                ChatMessage.assistant("", List.of(new ToolCall("b", "get_current_time", "{}"))),
                toolResult("get_current_time", "b", "10:14")), List.of(time), "It is 10:14 now."));

        ChatMessage both = ChatMessage.user("What is the weather in Munich and time in France? "
                + "Call tools simultaneously (in parallel)");
        out.add(new Exchange(List.of(both), List.of(weather, countryTime),
                call("getWeather", munich) + "\n" + call("getTime", france)));
        out.add(new Exchange(List.of(both, ChatMessage.assistant("", List.of(new ToolCall("c", "getWeather", munich),
                        new ToolCall("d", "getTime", france))),
                toolResult("getWeather", "c", "sunny"), toolResult("getTime", "d", "14:35")),
                List.of(weather, countryTime), "It is sunny in Munich, and the time in France is 14:35."));

        ChatMessage munichResident = ChatMessage.user("I live in Munich");
        out.add(new Exchange(List.of(munichResident), List.of(weather, add), call("getWeather", munich)));
        out.add(new Exchange(List.of(munichResident), List.of(weather), call("getWeather", munich)));

        // the listener suites: a greeting with a tool offered
        out.add(new Exchange(List.of(ChatMessage.user("hello")), List.of(tool("add")),
                "Hello! How can I help you today?"));
        return out;
    }

    /** The prompt text of an exchange, rendered as the llama.cpp backend renders a chat request. */
    static String prompt(ChatTemplate template, ChatFormat format, Exchange e) {
        RenderOptions options = format.renderOptions(TEMPLATE, RenderOptions.defaults(), e.tools(), null).toBuilder()
                .bosToken(BpeTokenizer.END_OF_TEXT).eosToken(BpeTokenizer.IM_END).build();
        return format.render(template, e.messages(), options.tools(), options, null);
    }

    /**
     * The trained model's GGUF: read from {@code target/} when a build already trained it, trained (on a thread of
     * its own, as PyTorch wants) and written there otherwise.
     */
    static synchronized Path gguf() {
        if (cached != null) {
            return cached;
        }
        ChatTemplate template = ChatTemplate.parse(TEMPLATE);
        ChatFormat format = ChatFormat.detect(TEMPLATE);
        List<Exchange> exchanges = exchanges();
        List<String> prompts = new ArrayList<>();
        for (Exchange e : exchanges) {
            prompts.add(prompt(template, format, e));
        }
        StringBuilder fingerprint = new StringBuilder(TEMPLATE);
        for (int i = 0; i < exchanges.size(); i++) {
            fingerprint.append('\u0000').append(prompts.get(i)).append('\u0001').append(exchanges.get(i).answer())
                    .append('\u0002').append(exchanges.get(i).weight()).append(exchanges.get(i).jsonConstrained());
        }
        fingerprint.append(String.format(Locale.ROOT, "|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%d|%s", HIDDEN, LAYERS, HEADS, FFN,
                MERGES, CONTEXT, SEED, STEPS, MAX_ROUNDS, FIRST_CHECK, CHECK_EVERY, MARGIN));
        Path dir = Path.of(System.getProperty("basedir", "."), "target", "langchain4j-suite-model");
        String name = "suite-" + sha256(fingerprint.toString()).substring(0, 16);
        Path file = dir.resolve(name + ".gguf");
        Path checkpoint = dir.resolve(name + "-hf");
        if (!Files.isRegularFile(file) || !Files.isRegularFile(checkpoint.resolve("model.safetensors"))) {
            ExecutorService trainer = Executors.newSingleThreadExecutor(r -> new Thread(r, "suite-model-training"));
            try {
                Future<CheckpointModel> model = trainer.submit(() -> train(exchanges, prompts));
                Files.createDirectories(dir);
                CheckpointModel trained = model.get();
                Path tmpDir = Files.createTempDirectory(dir, "suite-hf-");
                HfCheckpointWriter.write(trained, tmpDir, HfCheckpointWriter.DType.F32);
                if (Files.exists(checkpoint)) {
                    try (var old = Files.walk(checkpoint)) {
                        for (Path p : (Iterable<Path>) old.sorted(java.util.Comparator.reverseOrder())::iterator) {
                            Files.delete(p);
                        }
                    }
                }
                Files.move(tmpDir, checkpoint, StandardCopyOption.ATOMIC_MOVE);
                Path tmp = Files.createTempFile(dir, "suite-", ".tmp");
                GgufWriter.write(trained, tmp, GgufWriter.Quantization.F32);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("training the suite model failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while training the suite model", e);
            } finally {
                trainer.shutdownNow();
            }
        }
        cached = file;
        cachedCheckpoint = checkpoint;
        return file;
    }

    /** The same trained model as a Hugging Face checkpoint folder, for the DJL backend. */
    static synchronized Path checkpoint() {
        gguf();
        return cachedCheckpoint;
    }

    private static CheckpointModel train(List<Exchange> exchanges, List<String> prompts) {
        StringBuilder corpus = new StringBuilder();
        for (int i = 0; i < exchanges.size(); i++) {
            String text = prompts.get(i) + exchanges.get(i).answer() + "\n";
            for (String special : List.of(BpeTokenizer.IM_START, BpeTokenizer.IM_END, BpeTokenizer.END_OF_TEXT)) {
                text = text.replace(special, "\n");
            }
            corpus.append(text);
        }
        BpeTokenizer tokenizer = BpeTokenizer.train(corpus.toString(), MERGES);
        int endOfText = tokenizer.tokenId(BpeTokenizer.END_OF_TEXT);
        int imEnd = tokenizer.tokenId(BpeTokenizer.IM_END);
        LlamaConfig config = new LlamaConfig("llama", tokenizer.size(), HIDDEN, FFN, LAYERS, HEADS, HEADS, 10000.0,
                1e-5, CONTEXT, false, false, endOfText, imEnd);
        List<LlamaTrainer.Sequence> sequences = new ArrayList<>();
        List<int[]> promptTokens = new ArrayList<>();
        for (int i = 0; i < exchanges.size(); i++) {
            int[] prompt = tokenizer.encodeWithSpecials(prompts.get(i));
            int[] answer = tokenizer.encode(exchanges.get(i).answer());
            int[] tokens = new int[prompt.length + answer.length + 1];
            System.arraycopy(prompt, 0, tokens, 0, prompt.length);
            System.arraycopy(answer, 0, tokens, prompt.length, answer.length);
            tokens[tokens.length - 1] = imEnd;
            boolean[] trained = new boolean[tokens.length];
            // position j predicts token j + 1: the answer's tokens and the closing <|im_end|>
            for (int j = prompt.length - 1; j < tokens.length - 1; j++) {
                trained[j] = true;
            }
            for (int w = 0; w < exchanges.get(i).weight(); w++) {
                sequences.add(new LlamaTrainer.Sequence(tokens, trained));
            }
            promptTokens.add(prompt);
        }
        Instant start = Instant.now();
        CheckpointModel[] done = {null};
        try (LlamaTrainer trainer = new LlamaTrainer(config, SEED)) {
            for (int round = 1; round <= MAX_ROUNDS && done[0] == null; round++) {
                LlamaTrainer.Settings settings = new LlamaTrainer.Settings(STEPS, sequences.size(),
                        round == 1 ? 1e-2f : 3e-3f, 1e-4f, round == 1 ? 20 : 5, 1.0f, 1000f, 10, SEED + round);
                int r = round;
                float loss = trainer.train(sequences, settings, step -> {
                    // every few steps: stop as soon as plain-Java greedy decoding gives every answer
                    if (step.step() >= FIRST_CHECK && step.step() % CHECK_EVERY == 0 || step.step() == STEPS) {
                        CheckpointModel model = model(config, tokenizer, trainer);
                        List<String> misses = misses(model, exchanges, promptTokens, imEnd);
                        System.out.printf(Locale.ROOT, "suite model: round %d step %d, loss %.4f, %d of %d answers"
                                        + " reproduced, %d s (%.1f s of CPU on this thread)%n", r, step.step(), step.loss(),
                                exchanges.size() - misses.size(), exchanges.size(),
                                Duration.between(start, Instant.now()).toSeconds(),
                                java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() / 1e9);
                        if (misses.isEmpty()) {
                            done[0] = model;
                            trainer.stop();
                        } else if (step.step() == STEPS) {
                            misses.forEach(m -> System.out.println("  not yet: " + m));
                        }
                    }
                }, System.err::println);
                if (done[0] == null && round == MAX_ROUNDS) {
                    // written anyway: the suites then name the cases whose answers are not reproduced
                    done[0] = model(config, tokenizer, trainer);
                    System.out.printf(Locale.ROOT, "suite model: not every answer reproduced (loss %.4f)%n", loss);
                }
            }
        }
        return done[0];
    }

    private static CheckpointModel model(LlamaConfig config, BpeTokenizer tokenizer, LlamaTrainer trainer) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Tensor t : trainer.exportTensors()) {
            tensors.put(t.name(), t);
        }
        return CheckpointModel.of(config, tokenizer, tensors, TEMPLATE);
    }

    /** The exchanges whose answer greedy decoding does not reproduce (the JSON-only one: after its first token). */
    private static List<String> misses(CheckpointModel model, List<Exchange> exchanges, List<int[]> prompts,
                                       int imEnd) {
        ReferenceForward reference = new ReferenceForward(model);
        BpeTokenizer tokenizer = model.tokenizer();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < exchanges.size(); i++) {
            Exchange e = exchanges.get(i);
            int[] prompt = prompts.get(i);
            String expected = e.answer();
            if (e.jsonConstrained()) {
                // decoding is constrained to JSON here: give the first answer token, check the rest
                int first = tokenizer.encode(expected)[0];
                prompt = java.util.Arrays.copyOf(prompt, prompt.length + 1);
                prompt[prompt.length - 1] = first;
                expected = expected.substring(tokenizer.decode(new int[] {first}).length());
            }
            ReferenceForward.Decoded d = reference.greedy(prompt, 80, imEnd);
            String text = tokenizer.decode(d.tokens());
            if (!d.stopped() || !text.equals(expected) || d.minMargin() < MARGIN) {
                out.add(e.messages().get(e.messages().size() - 1).content() + " -> " + text + " (margin "
                        + String.format(Locale.ROOT, "%.2f", d.minMargin()) + ")");
            }
        }
        return out;
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
