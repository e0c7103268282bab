package io.github.locallm.llamacpp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolChoice;
import io.github.locallm.ToolSpec;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.format.FormattedSink;
import io.github.locallm.grammar.JsonSchemaGrammar;
import io.github.locallm.grammar.ToolCallGrammar;
import io.github.locallm.spi.OptionValues;
import io.github.locallm.spi.DecodeLoop;
import io.github.locallm.spi.PromptEncoder;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import io.github.locallm.template.TemplateException;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One open model, on either engine ({@link Engine}): settings, option validation, chat rendering and prompt
 * escaping ({@link PromptEncoder}), the decode loop ({@link DecodeLoop}) and embeddings checks are the same
 * for both. Thread-safe: calls that reach native code are serialized by the engine's fair lock; after
 * {@link #close()} every call throws {@link IllegalStateException} instead of reaching native code.
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
    private final PromptEncoder encoder;
    /** Tokenizes the prefix and suffix of a fill-in-the-middle prompt: control and fill-in-the-middle texts escaped. */
    private final PromptEncoder fimEncoder;
    private final int vocabSize;
    private final boolean addBos;
    private final int bosId;
    /** The chat format's markup that the vocabulary holds as control tokens, by id (written as text for the parser). */
    private final Map<Integer, String> markupTokens;
    /** The fill-in-the-middle tokens (prefix, suffix, middle), or null when the model names none. */
    private final int[] fimTokens;
    private final ModelInfo info;
    private final AtomicBoolean closed = new AtomicBoolean();

    LlamaCppBackend(Engine engine, GgufFile gguf, Path canonicalPath, String spec, LoadSettings settings) {
        this.engine = engine;
        this.spec = spec;
        this.settings = settings;
        List<String> vocab = gguf.tokens();
        this.vocabSize = vocab.size();
        this.renderer = renderer(settings, gguf, vocab, spec);
        Boolean bos = gguf.bool("tokenizer.ggml.add_bos_token");
        this.addBos = bos != null ? bos : "llama".equals(gguf.string("tokenizer.ggml.model", ""));
        this.bosId = (int) gguf.number("tokenizer.ggml.bos_token_id", -1);
        this.encoder = encoder(gguf, List.of());
        this.markupTokens = renderer == null || renderer.format() == null ? Map.of()
                : Map.copyOf(gguf.controlTokens(renderer.format().markup()));
        this.fimTokens = fimTokens(gguf, vocabSize);
        this.fimEncoder = fimTokens == null ? null : encoder(gguf, fimTokenTexts(gguf, vocab));
        Set<Capability> caps = EnumSet.of(Capability.TOKENIZE);
        if (settings.embedding()) {
            caps.add(Capability.EMBEDDINGS);
        } else {
            caps.addAll(EnumSet.of(Capability.COMPLETION, Capability.JSON_MODE, Capability.SEED));
            caps.add(Capability.JSON_SCHEMA);
            if (fimTokens != null) {
                caps.add(Capability.FILL_IN_MIDDLE);
            }
            if (renderer != null) {
                caps.add(Capability.CHAT);
            }
            if (renderer != null && renderer.format() != null) {
                caps.add(Capability.TOOLS);
                caps.add(Capability.TOOL_CHOICE);
                if (renderer.format().needsParsing(renderer.source(), false)) {
                    // only a template that writes reasoning markup keeps reasoning apart
                    caps.add(Capability.THINKING);
                }
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
        if (renderer != null && renderer.format() != null) {
            details.put("chat_format", renderer.format().name());
        }
        if (renderer != null && !renderer.source().isEmpty()) {
            details.put("chat_template_text", renderer.source());
        }
        details.put("threads", Integer.toString(settings.threads()));
        details.put("kv_type", settings.kvType());
        details.put("gpu_layers", settings.gpuLayers() == 0 || !engine.cpuOnly() ? Integer.toString(settings.gpuLayers())
                : settings.gpuLayers() + " (ignored: the build in use is CPU-only)");
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

    /** The GGUF keys of the fill-in-the-middle tokens: prefix, suffix, middle; current spelling, then the older one. */
    private static final String[][] FIM_KEYS = {
        {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"},
        {"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"},
        {"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"},
    };

    /**
     * Reads the prefix, suffix and middle token ids the GGUF names and checks each against the vocabulary: this
     * is the only check between those ids and native code.
     *
     * @return the three ids, or null unless all three are named
     */
    static int[] fimTokens(GgufFile gguf, int vocabSize) {
        int[] ids = new int[FIM_KEYS.length];
        for (int i = 0; i < FIM_KEYS.length; i++) {
            ids[i] = -1;
            for (String key : FIM_KEYS[i]) {
                long id = gguf.number(key, -1);
                if (id == -1 || id == 0xFFFFFFFFL) {
                    continue; // not named
                }
                if (id < 0 || id >= vocabSize) {
                    throw new io.github.locallm.ModelLoadException(key + " is " + id + ", outside the vocabulary of "
                            + vocabSize + " tokens; the file is damaged: download or convert it again");
                }
                ids[i] = (int) id;
                break;
            }
            if (ids[i] < 0) {
                return null;
            }
        }
        return ids;
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

    /** Tokenizes rendered text: the text of a special token becomes that token. */
    private int[] templateTokens(String text) {
        return text.isEmpty() ? new int[0] : engine.tokenize(text);
    }

    /**
     * The texts of the fill-in-the-middle tokens the GGUF names (prefix, suffix, middle, padding, repository and
     * file separators), whatever their token type: converted vocabularies often hold them as user-defined tokens,
     * which the tokenizer matches in any text, so the prefix and suffix must have them escaped.
     */
    private static List<String> fimTokenTexts(GgufFile gguf, List<String> vocab) {
        List<String> out = new ArrayList<>();
        for (String name : List.of("fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", "prefix",
                "suffix", "middle")) {
            String text = tokenText(gguf, vocab, "tokenizer.ggml." + name + "_token_id");
            if (text != null && !text.isEmpty()) {
                out.add(text);
            }
        }
        return out;
    }

    private PromptEncoder encoder(GgufFile gguf, List<String> moreEscaped) {
        PromptEncoder.Renderer render = renderer == null
                ? (messages, options) -> {
                    // only direct SPI calls get here: core refuses chat to a model without the CHAT capability
                    throw new UnsupportedCapabilityException("llamacpp model " + spec + " has no chat template this"
                            + " backend can render; open it with template=chatml (or another template)", Capability.CHAT);
                }
                : (messages, options) -> renderer.render(messages, options);
        List<String> escaped = new ArrayList<>(gguf.controlTokenTexts());
        escaped.addAll(moreEscaped);
        return PromptEncoder.builder(render, this::templateTokens)
                .controlTokens(escaped)
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
        return engine.detokenize(tokens);
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

    /**
     * The prompt of a fill-in-the-middle completion: [BOS] prefix-token, the prefix, suffix-token, the suffix,
     * middle-token. The prefix and suffix are tokenized as text (the text of a control token inside them stays
     * text), and both engines decode this same sequence.
     */
    int[] fimPromptTokens(String prefix, String suffix) {
        if (fimTokens == null) {
            // only direct SPI calls get here: core refuses a suffix to a model without the capability
            throw new UnsupportedCapabilityException("llamacpp model " + spec + " cannot fill in the middle: "
                    + "fill-in-the-middle needs a model with fill-in-the-middle tokens (its GGUF names none)",
                    Capability.FILL_IN_MIDDLE);
        }
        int[] pre = fimEncoder.encodeText(prefix);
        int[] suf = fimEncoder.encodeText(suffix);
        int bos = addBos && bosId >= 0 ? 1 : 0;
        int[] out = new int[Math.addExact(Math.addExact(pre.length, suf.length), 3 + bos)];
        int at = 0;
        if (bos == 1) {
            out[at++] = bosId;
        }
        out[at++] = fimTokens[0];
        System.arraycopy(pre, 0, out, at, pre.length);
        at += pre.length;
        out[at++] = fimTokens[1];
        System.arraycopy(suf, 0, out, at, suf.length);
        at += suf.length;
        out[at] = fimTokens[2];
        return out;
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
        int[] prompt;
        String promptText = null;
        ChatFormat format = renderer == null ? null : renderer.format();
        if (request.isChat() && o.suffix().isPresent()) {
            throw new UnsupportedCapabilityException("a suffix (fill-in-the-middle) is a completion feature, not a "
                    + "chat one (llamacpp model " + spec + ")", Capability.FILL_IN_MIDDLE);
        }
        if (request.isChat()) {
            RenderOptions ro = format == null
                    ? RenderOptions.builder().addGenerationPrompt(true).tools(o.tools()).build()
                    : format.renderOptions(renderer.source(), RenderOptions.defaults(), o.tools(), o.think().orElse(null));
            prompt = encoder.encode(request.messages(), ro);
            promptText = encoder.render(request.messages(), ro);
        } else if (o.suffix().isPresent()) {
            prompt = fimPromptTokens(request.prompt(), o.suffix().get());
        } else {
            prompt = rawPromptTokens(request.prompt());
        }
        DecodeLoop loop = DecodeLoop.plan("llamacpp model " + spec, prompt, settings.ctx(), o, 0);
        Sampling sampling = sampling(o, request.isChat() ? format : null);
        LogprobSink logprobs = o.logprobs().orElse(false) || o.topLogprobs().isPresent() ? new LogprobSink(sink) : null;
        if (logprobs != null) {
            sink = logprobs;
        }
        if (promptText != null && format != null && format.needsParsing(renderer.source(), !o.tools().isEmpty())) {
            sink = new FormattedSink(format, promptText, sink, o.tools());
            // the parser reads the format's markup, which real vocabularies hold as control tokens
            sampling = sampling.withMarkup(markupTokens);
        }
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
            // closing the model also stops a running generation (close() then frees it)
            CancelSignal cancelOrClosed = new CancelSignal() {
                @Override
                public boolean isCancelled() {
                    return cancel.isCancelled() || closed.get();
                }

                @Override
                public void onCancel(Runnable action) {
                    cancel.onCancel(action);
                }
            };
            try (Engine.Generation generation = engine.start(sampling, loop.maxNewTokens())) {
                if (logprobs != null) {
                    generation.reportLogprobs(o.topLogprobs().orElse(0), logprobs.pending::add);
                }
                BackendResult r = loop.run(generation, sink, cancelOrClosed);
                return sink instanceof FormattedSink f ? f.finish(r) : r;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Jackson, created on first use: a mapper loads a few hundred classes that opening a model never needs. */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    /**
     * Passes on the log probabilities of answer tokens: the entries of the tokens sampled since the last piece go
     * out with the next piece of answer text (after it, as {@link TokenSink#logprobs} asks); tokens that end up
     * as reasoning or are held back for good (a stop sequence, the end-of-generation token) have none.
     */
    private static final class LogprobSink implements TokenSink {
        final List<TokenLogprob> pending = new ArrayList<>();
        private final TokenSink inner;

        LogprobSink(TokenSink inner) {
            this.inner = inner;
        }

        @Override
        public void token(String text) {
            inner.token(text);
            if (!pending.isEmpty()) {
                List<TokenLogprob> entries = List.copyOf(pending);
                pending.clear();
                inner.logprobs(entries);
            }
        }

        @Override
        public void thinking(String text) {
            pending.clear();
            inner.thinking(text);
        }

        @Override
        public void logprobs(List<TokenLogprob> entries) {
            inner.logprobs(entries);
        }
    }

    /** Validates the options into the sampling settings both engines apply. */
    private Sampling sampling(GenerationOptions o, ChatFormat format) {
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
        OptionValues own = OptionValues.backendOptions(o, NAME, "llamacpp model " + spec, BACKEND_OPTIONS);
        ToolChoice toolChoice = o.toolChoice().orElse(ToolChoice.AUTO);
        for (String k : own.keys()) {
            switch (k) {
                case "n_probs" -> throw new UnsupportedCapabilityException("llamacpp option n_probs is not available:"
                        + " ask for GenerationOptions.logprobs(true) and topLogprobs(n) instead (engine=llamacpp)");
                case "grammar" -> {
                    grammar = own.string(k).orElseThrow();
                    Gbnf.validate(grammar);
                }
                case "cache_prompt" -> cachePrompt = own.bool(k).orElseThrow();
                case "repeat_last_n", "dry_penalty_last_n" ->
                        extra.put(k, (double) own.integer(k, -1, Integer.MAX_VALUE).orElseThrow());
                case "mirostat" -> extra.put(k, (double) own.integer(k, 0, 2).orElseThrow());
                case "min_keep", "dry_allowed_length" ->
                        extra.put(k, (double) own.integer(k, 0, Integer.MAX_VALUE).orElseThrow());
                default -> extra.put(k, own.decimal(k, 0, Double.MAX_VALUE).orElseThrow());
            }
        }
        ResponseFormat rf = o.responseFormat().orElse(ResponseFormat.TEXT);
        if (rf.kind() != ResponseFormat.Kind.TEXT && grammar != null) {
            throw new IllegalArgumentException("give either a response format or llamacpp.grammar, not both (model "
                    + spec + ")");
        }
        String jsonSchema = null;
        if (format != null && !o.tools().isEmpty() && toolChoice.forcesCall()) {
            if (grammar != null || rf.kind() != ResponseFormat.Kind.TEXT) {
                throw new IllegalArgumentException("a required tool call cannot be combined with a grammar or a "
                        + "response format (model " + spec + ")");
            }
            // the whole output is one tool call in the model's format, its arguments valid for the tool's schema
            // strings in ASCII (and \\u escapes): llama.cpp's byte-level matching would let invalid UTF-8 through
            grammar = JsonSchemaGrammar.asciiStrings(ToolCallGrammar.of(format, renderer.source(),
                    toolChoice.callable(o.tools()), true));
        }
        if (rf.kind() == ResponseFormat.Kind.JSON_SCHEMA && !(engine instanceof JllamaEngine)) {
            try {
                grammar = JsonSchemaGrammar.asciiStrings(JsonSchemaGrammar.fromSchema(rf.schema().orElseThrow()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (model " + spec + ")", e);
            }
        } else if (rf.kind() == ResponseFormat.Kind.JSON) {
            grammar = Gbnf.JSON_GRAMMAR;
        } else if (rf.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
            JsonNode schema;
            try {
                schema = Json.MAPPER.readTree(rf.schema().orElseThrow());
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("the JSON schema for model " + spec + " is not valid JSON: "
                        + e.getOriginalMessage(), e);
            }
            if (schema == null || !schema.isObject()) {
                throw new IllegalArgumentException("the JSON schema for model " + spec + " must be a JSON object");
            }
            jsonSchema = schema.toString();
        }
        Sampling s = new Sampling(temperature, topK, topP, minP, repeat, seed, Map.copyOf(extra), grammar, jsonSchema,
                cachePrompt);
        if (format != null && !o.tools().isEmpty() && toolChoice.mode() == ToolChoice.Mode.AUTO && grammar == null
                && jsonSchema == null && !(engine instanceof JllamaEngine)) {
            s = withLazyToolGrammar(s, o.tools(), format);
        }
        return s;
    }

    /**
     * Tools the model may call: a grammar that waits for the format's tool-call opener and from there keeps the
     * call valid for the tool's schema. An opener the vocabulary holds as one token switches it on wherever it
     * appears. Another opener switches it on when the reply begins with it (after whitespace) and the text so far
     * is a start of a call the grammar accepts: the patterns are anchored and short, so matching them never scans
     * long text, and what they hand the grammar is always something it accepts. A call that starts later is
     * parsed as the model writes it.
     */
    private Sampling withLazyToolGrammar(Sampling s, List<ToolSpec> tools, ChatFormat format) {
        List<String> openers = ToolCallGrammar.openers(format, renderer.source(), tools);
        List<String> patterns = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        for (String trigger : format.toolCallTriggers()) {
            List<String> rests = new ArrayList<>();
            for (String opener : openers) {
                if (opener.startsWith(trigger)) {
                    rests.add(opener.substring(trigger.length()));
                }
            }
            if (rests.isEmpty()) {
                continue; // the grammar does not start with this trigger's text: it cannot be handed over
            }
            int[] ids = engine.tokenize(trigger);
            if (ids.length == 1) {
                tokens.add(ids[0]);
                continue;
            }
            String pattern = TriggerPattern.anchored(trigger, rests);
            if (pattern != null) {
                patterns.add(pattern);
            }
        }
        if (patterns.isEmpty() && tokens.isEmpty()) {
            return s;
        }
        String gbnf;
        try {
            gbnf = JsonSchemaGrammar.asciiStrings(ToolCallGrammar.of(format, renderer.source(), tools, false));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (model " + spec + ")", e);
        }
        return s.withLazyGrammar(gbnf, patterns, tokens.stream().mapToInt(Integer::intValue).toArray());
    }

    private double finite(double d) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("option value must be finite: " + d + " (model " + spec + ")");
        }
        return d;
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
}
