package io.github.locallm.llamacpp;

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
import io.github.locallm.spi.StopSequenceFilter;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.TemplateException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

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

    private final Engine engine;
    private final String spec;
    private final LoadSettings settings;
    private final ChatRenderer renderer;
    private final List<String> controlTexts;
    private final int vocabSize;
    private final boolean addBos;
    private final int bosId;
    private final ModelInfo info;
    private final AtomicBoolean closed = new AtomicBoolean();

    LlamaCppBackend(Engine engine, GgufFile gguf, Path canonicalPath, String spec, LoadSettings settings) {
        this.engine = engine;
        this.spec = spec;
        this.settings = settings;
        List<String> vocab = gguf.tokens();
        this.vocabSize = vocab.size();
        List<String> controls = new ArrayList<>(gguf.controlTokenTexts());
        controls.sort(Comparator.comparingInt(String::length).reversed());
        this.controlTexts = List.copyOf(controls);
        this.renderer = renderer(settings, gguf, vocab, spec);
        Boolean bos = gguf.bool("tokenizer.ggml.add_bos_token");
        this.addBos = bos != null ? bos : "llama".equals(gguf.string("tokenizer.ggml.model", ""));
        this.bosId = (int) gguf.number("tokenizer.ggml.bos_token_id", -1);
        Set<Capability> caps = EnumSet.of(Capability.TOKENIZE);
        if (settings.embedding()) {
            caps.add(Capability.EMBEDDINGS);
        } else {
            caps.addAll(EnumSet.of(Capability.COMPLETION, Capability.JSON_MODE, Capability.SEED));
            if (engine instanceof JllamaEngine) {
                caps.add(Capability.JSON_SCHEMA);
            }
            if (renderer != null) {
                caps.add(Capability.CHAT);
            }
        }
        Map<String, String> details = new LinkedHashMap<>(engine.details());
        details.put("architecture", gguf.architecture());
        details.put("path", canonicalPath.toString());
        details.put("file_type", Long.toString(gguf.number("general.file_type", -1)));
        details.put("gguf_version", Integer.toString(gguf.version));
        details.put("tensors", Long.toString(gguf.tensorCount));
        details.put("vocab_size", Integer.toString(vocabSize));
        details.put("trained_context_length", Long.toString(gguf.trainedContext()));
        details.put("chat_template", renderer == null ? "none" : renderer.description());
        details.put("threads", Integer.toString(settings.threads()));
        details.put("kv_type", settings.kvType());
        details.put("gpu_layers", settings.gpuLayers() == 0 ? "0" : settings.libPath() == null
                && !(engine instanceof NativeEngine) ? settings.gpuLayers() + " (ignored: the bundled build is CPU-only)"
                : Integer.toString(settings.gpuLayers()));
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

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("llamacpp model " + spec + " is closed; open it again");
        }
    }

    // ---------------------------------------------------------------- tokenization

    /** Tokenizes text that may contain special-token text, which becomes special tokens (a raw prompt). */
    private int[] templateTokens(String text) {
        return text.isEmpty() ? new int[0] : engine.tokenize(text);
    }

    /**
     * Tokenizes text as plain text: where it contains the text of a control token, that text is tokenized
     * in two parts, so it is read as ordinary characters and can never act as a control token.
     */
    private void plainTokens(String text, IntList out) {
        int at = -1;
        String found = null;
        for (String c : controlTexts) {
            int i = text.indexOf(c);
            if (i >= 0 && (at < 0 || i < at)) {
                at = i;
                found = c;
            }
        }
        if (found == null) {
            out.addAll(templateTokens(text));
            return;
        }
        out.addAll(templateTokens(text.substring(0, at)));
        int cut = Character.charCount(found.codePointAt(0));
        out.addAll(templateTokens(found.substring(0, cut)));
        plainTokens(found.substring(cut) + text.substring(at + found.length()), out);
    }

    @Override
    public int[] tokenize(String text) {
        ensureOpen();
        IntList out = new IntList();
        plainTokens(text, out);
        return out.toArray();
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
        return engine.detokenize(tokens);
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        ensureOpen();
        return chatTokens(messages).length;
    }

    private int[] rawPromptTokens(String prompt) {
        IntList out = new IntList();
        if (addBos && bosId >= 0) {
            out.add(bosId);
        }
        out.addAll(templateTokens(prompt));
        if (out.size() == 0) {
            out.add(bosId >= 0 ? bosId : 0);
        }
        return out.toArray();
    }

    SharedModel sharedForTest() {
        return engine instanceof JllamaEngine j ? j.shared() : null;
    }

    Engine engineForTest() {
        return engine;
    }

    /** Returns the prompt tokens of a conversation (for tests of the escaping). */
    int[] chatTokensForTest(List<ChatMessage> messages) {
        ensureOpen();
        return chatTokens(messages);
    }

    private int[] chatTokens(List<ChatMessage> messages) {
        if (renderer == null) {
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " has no chat template this backend"
                    + " can render; open it with template=chatml (or another template) or use completion");
        }
        List<ChatMessage> placeholders = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (!m.images().isEmpty()) {
                throw new UnsupportedCapabilityException("llamacpp model " + spec + " cannot read images"
                        + " (VISION is not supported by this backend)");
            }
            if (!m.toolCalls().isEmpty()) {
                throw new UnsupportedCapabilityException("llamacpp model " + spec + " does not support tool calls");
            }
            placeholders.add(new ChatMessage(m.role(), OPEN + Integer.toString(i) + CLOSE, List.of(), List.of(),
                    m.name()));
        }
        String rendered = renderer.render(placeholders, true);
        List<String> contents = contentsAsRendered(rendered, messages);
        IntList out = new IntList();
        int pos = 0;
        while (pos < rendered.length()) {
            int open = rendered.indexOf(OPEN, pos);
            if (open < 0) {
                out.addAll(templateTokens(rendered.substring(pos)));
                break;
            }
            int close = rendered.indexOf(CLOSE, open);
            out.addAll(templateTokens(rendered.substring(pos, open)));
            int index = Integer.parseInt(rendered.substring(open + 1, close));
            plainTokens(contents.get(index), out);
            pos = close + 1;
        }
        int[] tokens = out.toArray();
        if (addBos && bosId >= 0 && (tokens.length == 0 || tokens[0] != bosId)) {
            int[] withBos = new int[tokens.length + 1];
            withBos[0] = bosId;
            System.arraycopy(tokens, 0, withBos, 1, tokens.length);
            return withBos;
        }
        return tokens;
    }

    /**
     * Returns the message contents as the template prints them. Templates that print contents as they are
     * (almost all) get them unchanged; a template that trims them gets them trimmed; for one that changes
     * them otherwise the contents are used as given, which is the template's structure with the user's text.
     */
    private List<String> contentsAsRendered(String withPlaceholders, List<ChatMessage> messages) {
        List<String> given = new ArrayList<>();
        List<String> stripped = new ArrayList<>();
        for (ChatMessage m : messages) {
            given.add(m.content());
            stripped.add(m.content().strip());
        }
        String real = renderer.render(messages, true);
        if (substitute(withPlaceholders, given).equals(real)) {
            return given;
        }
        if (substitute(withPlaceholders, stripped).equals(real)) {
            return stripped;
        }
        LOG.log(System.Logger.Level.DEBUG, "chat template of {0} changes message contents; they are used as given",
                spec);
        return given;
    }

    private static String substitute(String withPlaceholders, List<String> contents) {
        StringBuilder sb = new StringBuilder();
        int pos = 0;
        while (true) {
            int open = withPlaceholders.indexOf(OPEN, pos);
            if (open < 0) {
                return sb.append(withPlaceholders, pos, withPlaceholders.length()).toString();
            }
            int close = withPlaceholders.indexOf(CLOSE, open);
            sb.append(withPlaceholders, pos, open);
            sb.append(contents.get(Integer.parseInt(withPlaceholders.substring(open + 1, close))));
            pos = close + 1;
        }
    }

    // ---------------------------------------------------------------- generation

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        ensureOpen();
        if (settings.embedding()) {
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " was opened with embedding=true and"
                    + " cannot generate text; open it again without embedding to generate");
        }
        GenerationOptions o = request.options();
        int[] prompt = request.isChat() ? chatTokens(request.messages()) : rawPromptTokens(request.prompt());
        int room = settings.ctx() - prompt.length;
        if (room < 1) {
            throw new ContextOverflowException("the prompt of " + prompt.length + " tokens does not fit the context of "
                    + settings.ctx() + " tokens of llamacpp model " + spec
                    + "; shorten it or open the model with a larger ctx");
        }
        int nPredict = Math.min(o.maxTokens().orElse(room), room);
        Sampling sampling = sampling(o);

        StopSequenceFilter filter = new StopSequenceFilter(o.stop(), sink);
        ReentrantLock lock = engine.lock();
        try {
            // Waits for the model in short slices, so that a call cancelled while queued returns at once.
            while (!lock.tryLock(20, TimeUnit.MILLISECONDS)) {
                if (cancel.isCancelled()) {
                    return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
        }
        try {
            ensureOpen();
            if (cancel.isCancelled()) {
                return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
            }
            // the sink is the caller's: its exceptions pass through unchanged; closing the model also stops it
            Engine.Outcome outcome = engine.generate(prompt, sampling, nPredict, filter::accept,
                    new CancelSignal() {
                        @Override
                        public boolean isCancelled() {
                            return cancel.isCancelled() || closed.get();
                        }

                        @Override
                        public void onCancel(Runnable action) {
                            cancel.onCancel(action);
                        }
                    });
            FinishReason reason = outcome.reason();
            if (reason == null) {
                reason = FinishReason.STOP;
            } else if (reason != FinishReason.CANCELLED) {
                filter.flush();
                if (filter.stopped()) {
                    reason = FinishReason.STOP;
                }
            }
            return BackendResult.of(reason, prompt.length, outcome.generated());
        } finally {
            lock.unlock();
        }
    }

    /** Validates the options into the sampling settings both engines apply. */
    private Sampling sampling(GenerationOptions o) {
        if (!o.tools().isEmpty()) {
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " does not support tool calling");
        }
        if (o.think().orElse(false)) {
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " has no separate reasoning output;"
                    + " leave think unset");
        }
        Double temperature = o.temperature().isPresent() ? finite(o.temperature().getAsDouble()) : null;
        Double topP = o.topP().isPresent() ? finite(o.topP().getAsDouble()) : null;
        Integer topK = o.topK().isPresent() ? o.topK().getAsInt() : null;
        Double minP = o.minP().isPresent() ? finite(o.minP().getAsDouble()) : null;
        Double repeat = o.repeatPenalty().isPresent() ? finite(o.repeatPenalty().getAsDouble()) : null;
        // llama.cpp seeds are 32-bit and 0xFFFFFFFF means "random": fold a long seed into [0, 2^32 - 2].
        Long seed = o.seed().isPresent() ? Long.remainderUnsigned(o.seed().getAsLong(), 0xFFFFFFFFL) : null;
        Map<String, Double> extra = new LinkedHashMap<>();
        String grammar = null;
        boolean cachePrompt = true;
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
                    grammar = e.getValue();
                }
                case "cache_prompt" -> cachePrompt = bool(k, v);
                case "repeat_last_n", "mirostat", "min_keep", "dry_allowed_length", "dry_penalty_last_n" ->
                        extra.put(k, (double) integer(k, v, k.equals("repeat_last_n") || k.equals("dry_penalty_last_n")
                                ? -1 : 0, k.equals("mirostat") ? 2 : Integer.MAX_VALUE));
                default -> extra.put(k, decimal(k, v));
            }
        }
        ResponseFormat rf = o.responseFormat().orElse(ResponseFormat.TEXT);
        if (rf.kind() != ResponseFormat.Kind.TEXT && grammar != null) {
            throw new IllegalArgumentException("give either a response format or llamacpp.grammar, not both (model "
                    + spec + ")");
        }
        String jsonSchema = null;
        if (rf.kind() == ResponseFormat.Kind.JSON) {
            grammar = Gbnf.JSON_GRAMMAR;
        } else if (rf.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
            if (engine instanceof NativeEngine) {
                throw new UnsupportedCapabilityException("JSON schema output is not available with the llamacpp"
                        + " engine for model " + spec + "; give a GBNF grammar as llamacpp.grammar, use JSON mode,"
                        + " or open the model with engine=jllama");
            }
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
            jsonSchema = Json.write(schema);
        }
        return new Sampling(temperature, topK, topP, minP, repeat, seed, Map.copyOf(extra), grammar, jsonSchema,
                cachePrompt);
    }

    private double finite(double d) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("option value must be finite: " + d + " (model " + spec + ")");
        }
        return d;
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
        if (!settings.embedding()) {
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " was not opened for embeddings;"
                    + " open it with embedding=true (pooling=last or cls)");
        }
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
                        + "; open it with a larger batch (and ctx)");
            }
            int[] tokens = rawPromptTokens(text);
            engine.lock().lock();
            try {
                ensureOpen();
                out.add(engine.embed(text, tokens));
            } catch (RuntimeException e) {
                if (e instanceof IllegalStateException ise && closed.get()) {
                    throw ise;
                }
                throw new LlmException("llamacpp embedding failed for model " + spec + ": " + e.getMessage(), e);
            } finally {
                engine.lock().unlock();
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            // a running generation sees the close at its next token and ends; then the native side is freed
            engine.lock().lock();
            try {
                engine.release();
            } finally {
                engine.lock().unlock();
            }
        }
    }

    /** A growable int array. */
    static final class IntList {
        private int[] data = new int[64];
        private int size;

        void add(int v) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }

        void addAll(int[] values) {
            for (int v : values) {
                add(v);
            }
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}
