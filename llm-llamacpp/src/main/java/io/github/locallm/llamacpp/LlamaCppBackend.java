package io.github.locallm.llamacpp;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaOutput;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.DecodeEngine;
import io.github.locallm.spi.DecodeLoop;
import io.github.locallm.spi.PromptEncoder;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.TemplateException;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.nio.charset.StandardCharsets;

/**
 * One open handle on a shared native model. Thread-safe: calls that reach the model's worker are
 * serialized by the shared model's fair lock; after {@link #close()} every call throws
 * {@link IllegalStateException} instead of reaching native code (where it would block forever).
 */
final class LlamaCppBackend implements LlmBackend {

    static final String NAME = "llamacpp";
    /** Generation options this backend takes under {@code llamacpp.*}. */
    static final Set<String> BACKEND_OPTIONS = Set.of("grammar", "cache_prompt", "frequency_penalty",
            "presence_penalty", "repeat_last_n", "typical_p", "mirostat", "mirostat_tau", "mirostat_eta",
            "dynatemp_range", "dynatemp_exponent", "xtc_probability", "xtc_threshold", "min_keep", "dry_multiplier",
            "dry_base", "dry_allowed_length", "dry_penalty_last_n", "n_probs");

    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final char OPEN = '\uE000';
    private static final char CLOSE = '\uE001';

    private final SharedModel shared;
    private final String spec;
    private final LoadSettings settings;
    private final ChatRenderer renderer;
    private final PromptEncoder encoder;
    private final int vocabSize;
    private final boolean addBos;
    private final int bosId;
    private final ModelInfo info;
    private final AtomicBoolean closed = new AtomicBoolean();

    LlamaCppBackend(SharedModel shared, String spec, LoadSettings settings) {
        this.shared = shared;
        this.spec = spec;
        this.settings = settings;
        GgufFile gguf = shared.gguf;
        List<String> vocab = gguf.tokens();
        this.vocabSize = vocab.size();
        this.renderer = renderer(settings, gguf, vocab, spec);
        Boolean bos = gguf.bool("tokenizer.ggml.add_bos_token");
        this.addBos = bos != null ? bos : "llama".equals(gguf.string("tokenizer.ggml.model", ""));
        this.bosId = (int) gguf.number("tokenizer.ggml.bos_token_id", -1);
        this.encoder = encoder(gguf);
        Set<Capability> caps = EnumSet.of(Capability.TOKENIZE);
        if (settings.embedding()) {
            caps.add(Capability.EMBEDDINGS);
        } else {
            caps.addAll(EnumSet.of(Capability.COMPLETION, Capability.JSON_MODE, Capability.JSON_SCHEMA,
                    Capability.SEED));
            if (renderer != null) {
                caps.add(Capability.CHAT);
            }
        }
        Map<String, String> details = new LinkedHashMap<>();
        details.put("architecture", gguf.architecture());
        details.put("path", shared.key.canonicalPath().toString());
        details.put("file_type", Long.toString(gguf.number("general.file_type", -1)));
        details.put("gguf_version", Integer.toString(gguf.version));
        details.put("tensors", Long.toString(gguf.tensorCount));
        details.put("vocab_size", Integer.toString(vocabSize));
        details.put("trained_context_length", Long.toString(gguf.trainedContext()));
        details.put("chat_template", renderer == null ? "none" : renderer.description());
        details.put("threads", Integer.toString(settings.threads()));
        details.put("kv_type", settings.kvType());
        details.put("gpu_layers", settings.gpuLayers() == 0 ? "0" : settings.libPath() == null
                ? settings.gpuLayers() + " (ignored: the bundled build is CPU-only)" : Integer.toString(settings.gpuLayers()));
        details.put("native_library", String.valueOf(NativeRuntime.loadedFrom()));
        this.info = new ModelInfo(NAME, spec, settings.ctx(), caps, details);
    }

    /**
     * Picks the chat renderer: {@code template=chatml} or a template text from the settings (which must
     * parse), else the GGUF's own template, else ChatML when the vocabulary has its tokens.
     */
    private static ChatRenderer renderer(LoadSettings settings, GgufFile gguf, List<String> vocab, String spec) {
        String bos = tokenText(gguf, vocab, "tokenizer.ggml.bos_token_id");
        String eos = tokenText(gguf, vocab, "tokenizer.ggml.eos_token_id");
        if (settings.template() != null) {
            if (settings.template().strip().equalsIgnoreCase("chatml")) {
                return new ChatRenderer.ChatMl();
            }
            try {
                return new ChatRenderer.Jinja(ChatTemplate.parse(settings.template()), bos, eos, "template setting");
            } catch (TemplateException e) {
                throw new IllegalArgumentException("the template setting of model " + spec + " is not a valid chat"
                        + " template: " + e.getMessage(), e);
            }
        }
        String own = gguf.string("tokenizer.chat_template", null);
        if (own != null) {
            try {
                return new ChatRenderer.Jinja(ChatTemplate.parse(own), bos, eos, "gguf");
            } catch (TemplateException e) {
                LOG.log(System.Logger.Level.DEBUG, "chat template of {0} does not parse: {1}", spec, e.getMessage());
            }
        }
        return vocab.contains("<|im_start|>") && vocab.contains("<|im_end|>") ? new ChatRenderer.ChatMl() : null;
    }

    private static String tokenText(GgufFile gguf, List<String> vocab, String key) {
        long id = gguf.number(key, -1);
        return id >= 0 && id < vocab.size() ? vocab.get((int) id) : null;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    /** @return the native model this handle shares with the other handles on the same file and settings */
    SharedModel shared() {
        return shared;
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("llamacpp model " + spec + " is closed; open it again");
        }
    }

    // ---------------------------------------------------------------- tokenization

    /** Tokenizes rendered text: the text of a special token becomes that token. */
    private int[] templateTokens(String text) {
        return text.isEmpty() ? new int[0] : shared.model.encode(text);
    }

    private PromptEncoder encoder(GgufFile gguf) {
        PromptEncoder.Renderer render = renderer == null
                ? (messages, options) -> {
                    // only direct SPI calls get here: core refuses chat to a model without the CHAT capability
                    throw new UnsupportedCapabilityException("llamacpp model " + spec + " has no chat template this"
                            + " backend can render; open it with template=chatml (or another template)", Capability.CHAT);
                }
                : (messages, options) -> renderer.render(messages, options.addGenerationPrompt());
        return PromptEncoder.builder(render, this::templateTokens)
                .controlTokens(gguf.controlTokenTexts())
                .bosToken(addBos ? bosId : -1)
                .build();
    }

    @Override
    public int[] tokenize(String text) {
        ensureOpen();
        return encoder.encodeText(text);
    }

    @Override
    public String detokenize(int[] tokens) {
        ensureOpen();
        for (int t : tokens) {
            if (t < 0 || t >= vocabSize) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocabSize
                        + ") of model " + spec);
            }
        }
        return shared.model.decode(tokens);
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        ensureOpen();
        return chatTokens(messages).length;
    }

    private int[] rawPromptTokens(String prompt) {
        int[] tokens = templateTokens(prompt);
        if (addBos && bosId >= 0) {
            int[] withBos = new int[tokens.length + 1];
            withBos[0] = bosId;
            System.arraycopy(tokens, 0, withBos, 1, tokens.length);
            return withBos;
        }
        return tokens.length == 0 ? new int[] {bosId >= 0 ? bosId : 0} : tokens;
    }

    /** The prompt tokens of a conversation: the template's structure as control tokens, contents as text. */
    int[] chatTokens(List<ChatMessage> messages) {
        return encoder.encodeChat(messages, List.of());
    }

    // ---------------------------------------------------------------- generation

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        ensureOpen();
        GenerationOptions o = request.options();
        int[] prompt = request.isChat() ? chatTokens(request.messages()) : rawPromptTokens(request.prompt());
        DecodeLoop loop = DecodeLoop.plan("llamacpp model " + spec, prompt, settings.ctx(), o, 0);
        InferenceParameters p = NativeRequest.withTokens(prompt);
        Map<String, String> extra = options(o);
        boolean cachePrompt = !"false".equals(extra.remove("cache_prompt"));
        NativeRequest.put(p, "n_predict", Integer.toString(loop.maxNewTokens()));
        NativeRequest.put(p, "cache_prompt", Boolean.toString(cachePrompt));
        extra.forEach((k, v) -> NativeRequest.put(p, k, v));
        try {
            // Waits for the model in short slices, so that a call cancelled while queued returns at once.
            while (!shared.lock.tryLock(20, TimeUnit.MILLISECONDS)) {
                if (cancel.isCancelled()) {
                    return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
        }
        NativeGeneration native_ = new NativeGeneration(p);
        try {
            ensureOpen();
            return loop.run(native_, sink, cancel);
        } finally {
            try {
                native_.close();
            } finally {
                shared.lock.unlock();
            }
        }
    }

    /**
     * The binding's native generation as a {@link DecodeEngine}: the native side samples and evaluates, and
     * hands over one text piece per token, so {@link #sample()} reads the next piece and
     * {@link #evaluate(int[])} after the prompt does nothing.
     *
     * <p>The native side sends nothing for a token that ends inside a UTF-8 character (its bytes come with
     * the next piece), so it can spend the token budget in fewer pieces than tokens. When it ends before the
     * loop counted the budget, the end is an end-of-generation token if the last piece was the empty text of
     * that token; otherwise the budget was spent, and the tokens not counted yet are reported as empty pieces
     * so the loop ends with LENGTH and the true count.
     */
    private final class NativeGeneration implements DecodeEngine {
        private static final int PIECE = 0;
        private static final int END = -1;

        private final InferenceParameters params;
        private LlamaIterator it;
        private boolean finished;
        private boolean lastEmpty;
        private String current = "";
        private String finalText;

        NativeGeneration(InferenceParameters params) {
            this.params = params;
        }

        @Override
        public void evaluate(int[] tokens) {
            if (it != null) {
                return;
            }
            try {
                it = shared.model.generate(params).iterator();
            } catch (RuntimeException e) {
                throw new LlmException("llamacpp model " + spec + " rejected the request: " + nativeMessage(e), e);
            }
        }

        @Override
        public int sample() {
            if (finalText != null) {
                current = finalText;
                finalText = null;
                return PIECE;
            }
            if (finished) {
                current = "";
                return lastEmpty ? END : PIECE;
            }
            LlamaOutput out;
            try {
                out = it.next();
                finished = !it.hasNext();
            } catch (RuntimeException e) {
                throw new LlmException("llamacpp generation failed for model " + spec + ": " + nativeMessage(e), e);
            }
            if (finished) {
                if (out.text.isEmpty()) {
                    return sample();
                }
                lastEmpty = false;
                finalText = out.text;
                return sample();
            }
            lastEmpty = out.text.isEmpty();
            current = out.text;
            return PIECE;
        }

        @Override
        public boolean isEndOfGeneration(int token) {
            return token == END;
        }

        @Override
        public byte[] tokenBytes(int token) {
            return current.getBytes(StandardCharsets.UTF_8);
        }

        void close() {
            if (it != null && !finished) {
                // an abandoned native generation would keep running and delay the next request
                it.cancel();
            }
        }
    }

    /** Returns the message of a native error, taken out of the JSON envelope the native side wraps it in. */
    private static String nativeMessage(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("{")) {
            try {
                if (Json.parse(m) instanceof Map<?, ?> json && json.get("message") instanceof String s) {
                    return s.replace('\n', ' ');
                }
            } catch (IllegalArgumentException notJson) {
                // keep the raw text
            }
        }
        return m;
    }

    /** Validates the options and returns the native request entries (raw JSON values) they call for. */
    private Map<String, String> options(GenerationOptions o) {
        Map<String, String> m = new LinkedHashMap<>();
        o.temperature().ifPresent(t -> m.put("temperature", num(t)));
        o.topP().ifPresent(t -> m.put("top_p", num(t)));
        o.topK().ifPresent(t -> m.put("top_k", Integer.toString(t)));
        o.minP().ifPresent(t -> m.put("min_p", num(t)));
        o.repeatPenalty().ifPresent(t -> m.put("repeat_penalty", num(t)));
        // llama.cpp seeds are 32-bit and 0xFFFFFFFF means "random": fold a long seed into [0, 2^32 - 2].
        o.seed().ifPresent(s -> m.put("seed", Long.toString(Long.remainderUnsigned(s, 0xFFFFFFFFL))));
        Map<String, String> own = o.backendOptions(NAME);
        for (Map.Entry<String, String> e : own.entrySet()) {
            String k = e.getKey();
            String v = e.getValue().strip();
            if (!BACKEND_OPTIONS.contains(k)) {
                throw new IllegalArgumentException("unknown llamacpp option '" + k + "' for model " + spec + "; known: "
                        + new java.util.TreeSet<>(BACKEND_OPTIONS));
            }
            switch (k) {
                case "n_probs" -> throw new UnsupportedCapabilityException("llamacpp option n_probs is not available:"
                        + " token probabilities abort the native library of this llama.cpp build");
                case "grammar" -> {
                    Gbnf.validate(e.getValue());
                    m.put("grammar", Json.quote(e.getValue()));
                }
                case "cache_prompt" -> m.put(k, Boolean.toString(bool(k, v)));
                case "repeat_last_n", "mirostat", "min_keep", "dry_allowed_length", "dry_penalty_last_n" ->
                        m.put(k, Integer.toString(integer(k, v, k.equals("repeat_last_n") || k.equals("dry_penalty_last_n")
                                ? -1 : 0, k.equals("mirostat") ? 2 : Integer.MAX_VALUE)));
                default -> m.put(k, num(decimal(k, v)));
            }
        }
        ResponseFormat rf = o.responseFormat().orElse(ResponseFormat.TEXT);
        if (rf.kind() != ResponseFormat.Kind.TEXT && m.containsKey("grammar")) {
            throw new IllegalArgumentException("give either a response format or llamacpp.grammar, not both (model "
                    + spec + ")");
        }
        if (rf.kind() == ResponseFormat.Kind.JSON) {
            m.put("grammar", Json.quote(Gbnf.JSON_GRAMMAR));
        } else if (rf.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
            Object schema;
            try {
                schema = Json.parse(rf.schema().orElseThrow());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the JSON schema for model " + spec + " is not valid JSON: "
                        + e.getMessage(), e);
            }
            if (!(schema instanceof Map)) {
                throw new IllegalArgumentException("the JSON schema for model " + spec + " must be a JSON object");
            }
            m.put("json_schema", Json.write(schema));
        }
        return m;
    }

    private String num(double d) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("option value must be finite: " + d + " (model " + spec + ")");
        }
        return Double.toString(d);
    }

    private double decimal(String key, String v) {
        try {
            double d = Double.parseDouble(v);
            if (!Double.isFinite(d) || d < 0) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("llamacpp option " + key + " must be a finite number >= 0: '" + v
                    + "' (model " + spec + ")", e);
        }
    }

    private int integer(String key, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("llamacpp option " + key + " must be an integer in [" + min + ", "
                    + max + "]: '" + v + "' (model " + spec + ")", e);
        }
    }

    private boolean bool(String key, String v) {
        if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new IllegalArgumentException("llamacpp option " + key + " must be true or false: '" + v + "' (model "
                + spec + ")");
    }

    // ---------------------------------------------------------------- embeddings

    @Override
    public List<float[]> embed(List<String> texts) {
        ensureOpen();
        List<float[]> out = new ArrayList<>(texts.size());
        for (String text : texts) {
            int n = templateTokens(text).length + (addBos && bosId >= 0 ? 1 : 0);
            if (n == 0) {
                // an empty input aborts the native embedding code
                throw new IllegalArgumentException("cannot embed an empty text with llamacpp model " + spec
                        + ": it has no tokens");
            }
            if (n > settings.batch() || n >= settings.ctx()) {
                throw new ContextOverflowException("a text of " + n + " tokens is longer than the batch of "
                        + settings.batch() + " tokens of llamacpp embedding model " + spec
                        + "; open it with a larger batch (and ctx)", n, 0, Math.min(settings.batch(), settings.ctx()));
            }
            shared.lock.lock();
            try {
                ensureOpen();
                out.add(shared.model.embed(text));
            } catch (RuntimeException e) {
                if (e instanceof IllegalStateException ise && closed.get()) {
                    throw ise;
                }
                throw new LlmException("llamacpp embedding failed for model " + spec + ": " + e.getMessage(), e);
            } finally {
                shared.lock.unlock();
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            shared.release();
        }
    }
}
