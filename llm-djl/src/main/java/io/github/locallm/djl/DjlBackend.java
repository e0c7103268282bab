package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.DecodeEngine;
import io.github.locallm.spi.DecodeLoop;
import io.github.locallm.spi.PieceDecoder;
import io.github.locallm.spi.PromptEncoder;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OptionValues;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolChoice;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.format.FormattedSink;
import io.github.locallm.grammar.GrammarMatcher;
import io.github.locallm.grammar.JsonSchemaGrammar;
import io.github.locallm.grammar.ToolCallGrammar;
import io.github.locallm.grammar.TokenMask;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An open checkpoint: tokenizer, chat template, generation defaults and the decoder.
 *
 * <p>Thread-safe: generations are serialized by a lock; tokenizing runs concurrently.
 */
final class DjlBackend implements LlmBackend {
    private final Checkpoint ckpt;
    private final CheckpointTokenizer tokenizer;
    private final LlamaDecoder decoder;
    private final ChatTemplate template;
    private final String bosToken;
    private final String eosToken;
    private final Set<Integer> eosIds;
    private final int contextLength;
    private final ModelInfo info;
    private final ReentrantLock lock = new ReentrantLock();
    private final PromptEncoder encoder;
    private final ChatFormat format;
    private volatile List<String> tokenTexts;
    private final EmbeddingPooling pooling;

    /**
     * Takes ownership of the parts: closing the backend closes the decoder (and with it the weights) and the
     * tokenizer.
     *
     * @param ckpt the checked checkpoint
     * @param tokenizer its tokenizer
     * @param chat its chat template, format and prompt encoder (on this tokenizer)
     * @param decoder its loaded decoder
     * @param contextLength the context length to allow
     * @param device where the weights are, for the model's details
     * @param embedding the embedding pooling, or none and why
     */
    DjlBackend(Checkpoint ckpt, CheckpointTokenizer tokenizer, CheckpointChat chat, LlamaDecoder decoder,
               int contextLength, String device, EmbeddingPooling.Setup embedding) {
        this.ckpt = ckpt;
        this.pooling = embedding.pooling();
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.bosToken = ckpt.specialToken("bos_token");
        this.eosToken = ckpt.specialToken("eos_token");
        Set<Integer> eos = new LinkedHashSet<>(ckpt.configuredEosIds());
        int eosFromTokenizer = tokenizer.tokenId(eosToken);
        if (eosFromTokenizer >= 0) {
            eos.add(eosFromTokenizer);
        }
        this.eosIds = Set.copyOf(eos);
        ChatTemplate t = chat.template();
        this.template = t;
        this.format = chat.format();
        this.encoder = chat.encoder();
        this.decoder = decoder;
        EnumSet<Capability> caps = EnumSet.of(Capability.COMPLETION, Capability.TOKENIZE, Capability.SEED,
                Capability.JSON_MODE, Capability.JSON_SCHEMA);
        if (template != null) {
            caps.addAll(EnumSet.of(Capability.CHAT, Capability.TOOLS, Capability.TOOL_CHOICE));
            if (format.needsParsing(template.source(), false)) {
                // only a template that writes reasoning markup keeps reasoning apart
                caps.add(Capability.THINKING);
            }
        }
        if (pooling != null) {
            caps.add(Capability.EMBEDDINGS);
        }
        CheckpointConfig c = ckpt.config();
        Map<String, String> details = new LinkedHashMap<>();
        details.put("architecture", ckpt.architecture());
        if (!ckpt.architecture().equals(c.architecture())) {
            details.put("text_model", c.architecture() + "; the vision tower and projector are not loaded");
        }
        details.put("parameters", Long.toString(ckpt.parameterCount()));
        details.put("weights_dtype", ckpt.storedDtype());
        details.put("compute_dtype", "F32 activations; F16 weights multiply in F16 with F32 accumulation");
        details.put("weights_held", decoder.weightTypes());
        details.put("layers", Integer.toString(c.numLayers()));
        details.put("heads", c.numHeads() + "/" + c.numKvHeads());
        details.put("vocab_size", Integer.toString(c.vocabSize()));
        details.put("device", device);
        details.put("chat_template", chat.status());
        if (format != null) {
            details.put("chat_format", format.name());
        }
        if (t != null) {
            details.put("chat_template_text", t.source());
        }
        details.put("embeddings", pooling != null ? pooling.describe() : "none: " + embedding.reason());
        details.put("path", ckpt.dir().toString());
        String sampling = samplingDefaults(ckpt.generationConfig());
        if (!sampling.isEmpty()) {
            details.put("sampling_defaults", sampling);
        }
        List<String> stops = new ArrayList<>();
        for (int id : eos) {
            String text = tokenizer.decode(new int[] {id}, 0, 1, false);
            if (!text.isEmpty() && text.indexOf('\n') < 0 && !stops.contains(text)) {
                stops.add(text);
            }
        }
        if (!stops.isEmpty()) {
            details.put("stop_tokens", String.join("\n", stops));
        }
        this.info = new ModelInfo("djl", ckpt.model(), contextLength, caps, details);
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        GenerationOptions o = request.options();
        // no per-call djl options: any djl.* key is refused as on every backend
        OptionValues.backendOptions(o, "djl", "djl model " + ckpt.model(), Set.of());
        String promptText = null;
        int[] prompt;
        if (request.isChat()) {
            RenderOptions ro = chatOptions(o);
            prompt = encoder.encode(request.messages(), ro);
            promptText = encoder.render(request.messages(), ro);
        } else {
            prompt = encodePrompt(request.prompt());
        }
        Constraint constraint = constraint(o, request.isChat());
        if (prompt.length == 0) {
            int bos = ckpt.config().bosTokenId() >= 0 ? ckpt.config().bosTokenId() : tokenizer.tokenId(bosToken);
            if (bos < 0) {
                throw new IllegalArgumentException("the prompt is empty and djl model " + ckpt.model()
                        + " has no begin-of-sequence token to start from; give a non-empty prompt");
            }
            prompt = new int[] {bos};
        }
        checkIds(prompt);
        DecodeLoop loop = DecodeLoop.plan("djl model " + ckpt.model(), prompt, contextLength, o,
                ckpt.generationConfig().path("max_new_tokens").asInt(0));
        Sampler sampler = sampler(o);
        lock.lock();
        try (LlamaDecoder.KvCache cache = decoder.newCache(loop.promptTokens() + loop.maxNewTokens())) {
            Steps steps = new Steps(cache, sampler, loop.promptTokens() + loop.maxNewTokens(), constraint);
            if (promptText == null || format == null || !format.needsParsing(template.source(), !o.tools().isEmpty())) {
                return loop.run(steps, sink, cancel);
            }
            // the format's markup may be special tokens (<|python_tag|>, <|channel|>...): the parser must see them
            steps.keepSpecial = true;
            FormattedSink formatted = new FormattedSink(format, promptText, sink, o.tools());
            return formatted.finish(loop.run(steps, formatted, cancel));
        } catch (ai.djl.engine.EngineException e) {
            throw new LlmException("the PyTorch engine failed while generating with djl model " + ckpt.model()
                    + ": " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Tokenizes a prompt with the special tokens the family's tokenizer adds (see CheckpointTokenizer). */
    int[] encodePrompt(String text) {
        JsonNode tc = ckpt.tokenizerConfig();
        Boolean addBos = tc.path("add_bos_token").isBoolean() ? tc.path("add_bos_token").asBoolean() : null;
        Boolean addEos = tc.path("add_eos_token").isBoolean() ? tc.path("add_eos_token").asBoolean() : null;
        int bos = tokenizer.tokenId(bosToken);
        if (bos < 0) {
            bos = ckpt.config().bosTokenId();
        }
        return tokenizer.encodePrompt(text, addBos, addEos, bos, tokenizer.tokenId(eosToken));
    }

    /** The checkpoint's forward pass, sampler, end tokens and tokenizer, for the shared decode loop. */
    private final class Steps implements DecodeEngine {
        private final LlamaDecoder.KvCache cache;
        private final Sampler sampler;
        private final int[] history;
        private int length;
        private float[] logits;
        private final Constraint constraint;
        /** Whether the streamed text keeps special tokens, for a chat-format parser that reads them. */
        boolean keepSpecial;

        Steps(LlamaDecoder.KvCache cache, Sampler sampler, int capacity, Constraint constraint) {
            this.cache = cache;
            this.sampler = sampler;
            this.history = new int[capacity];
            this.constraint = constraint;
        }

        @Override
        public void evaluate(int[] tokens) {
            System.arraycopy(tokens, 0, history, length, tokens.length);
            length += tokens.length;
            logits = decoder.forward(tokens, cache, false);
        }

        @Override
        public int sample() {
            if (constraint == null) {
                return sampler.sample(logits, history, length);
            }
            float[] masked = logits.clone();
            if (!constraint.mask(masked)) {
                // nothing fits the grammar any more (it cannot happen with a vocabulary that spells every
                // character): end the generation rather than leave it
                return eosIds.iterator().next();
            }
            int token = sampler.sample(masked, history, length);
            constraint.accept(token);
            return token;
        }

        @Override
        public boolean isEndOfGeneration(int token) {
            return eosIds.contains(token);
        }

        @Override
        public byte[] tokenBytes(int token) {
            return tokenizer.decode(new int[] {token}, 0, 1, true).getBytes(StandardCharsets.UTF_8);
        }

        /** Byte-level and SentencePiece tokenizers decode in context: the tokenizer library joins the pieces. */
        @Override
        public PieceDecoder newPieceDecoder() {
            CheckpointTokenizer.StreamDecoder text = tokenizer.new StreamDecoder(!keepSpecial);
            return new PieceDecoder() {
                @Override
                public String push(int token) {
                    return text.push(token);
                }

                @Override
                public String flush() {
                    return text.flush();
                }
            };
        }
    }

    private void checkIds(int[] ids) {
        int vocab = ckpt.config().vocabSize();
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new LlmException("the tokenizer of djl model " + ckpt.model() + " produced token id " + id
                        + ", outside the embedding of " + vocab + " rows; tokenizer.json and the weights do not match");
            }
        }
    }

    /**
     * The defaults a generation without options gets from {@code generation_config.json}, one
     * {@code name value} line each under the names Ollama's Modelfiles use ({@code temperature},
     * {@code top_k}, {@code top_p}, {@code min_p}, {@code repeat_penalty}, {@code num_predict}); empty without
     * a generation config. Without {@code do_sample} decoding is greedy: {@code temperature 0}, and the
     * filters that only shape sampling are left out. Kept in step with {@link #sampler}.
     */
    static String samplingDefaults(JsonNode g) {
        if (g == null || !g.isObject() || g.isEmpty()) {
            return "";
        }
        List<String> lines = new ArrayList<>();
        boolean doSample = g.path("do_sample").asBoolean(false);
        lines.add("temperature " + number(doSample ? g.path("temperature").asDouble(1.0) : 0.0));
        if (doSample) {
            if (g.path("top_k").isNumber()) {
                lines.add("top_k " + g.path("top_k").asInt());
            }
            if (g.path("top_p").isNumber()) {
                lines.add("top_p " + number(g.path("top_p").asDouble()));
            }
            if (g.path("min_p").isNumber()) {
                lines.add("min_p " + number(g.path("min_p").asDouble()));
            }
        }
        if (g.path("repetition_penalty").isNumber()) {
            lines.add("repeat_penalty " + number(g.path("repetition_penalty").asDouble()));
        }
        if (g.path("max_new_tokens").isInt() && g.path("max_new_tokens").asInt() > 0) {
            lines.add("num_predict " + g.path("max_new_tokens").asInt());
        }
        return String.join("\n", lines);
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
                : java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    private Sampler sampler(GenerationOptions o) {
        JsonNode g = ckpt.generationConfig();
        boolean doSample = g.path("do_sample").asBoolean(false);
        double temperature = o.temperature().orElse(doSample ? g.path("temperature").asDouble(1.0) : 0.0);
        int topK = o.topK().orElse(g.path("top_k").asInt(0));
        double topP = o.topP().orElse(g.path("top_p").asDouble(1.0));
        double minP = o.minP().orElse(g.path("min_p").asDouble(0.0));
        double penalty = o.repeatPenalty().orElse(g.path("repetition_penalty").asDouble(1.0));
        long seed = o.seed().isPresent() ? o.seed().getAsLong() : ThreadLocalRandom.current().nextLong();
        return new Sampler(temperature, topK, topP, minP, penalty, seed);
    }

    /** Render options of a chat request: generation prompt, tools and the think switch in the chat format's way. */
    private RenderOptions chatOptions(GenerationOptions o) {
        if (format == null) {
            return encoder.renderOptions().toBuilder().addGenerationPrompt(true).tools(o.tools()).build();
        }
        return format.renderOptions(template.source(), encoder.renderOptions(), o.tools(), o.think().orElse(null));
    }

    /**
     * The grammar that constrains a generation, if any: a JSON response format for the whole output; tools with
     * a required tool call ({@link ToolChoice#forcesCall()}) for the whole output; otherwise tools from the first
     * tool-call trigger on.
     */
    private Constraint constraint(GenerationOptions o, boolean chat) {
        ResponseFormat rf = o.responseFormat().orElse(ResponseFormat.TEXT);
        ToolChoice choice = o.toolChoice().orElse(ToolChoice.AUTO);
        String gbnf;
        boolean lazy = false;
        if (rf.kind() == ResponseFormat.Kind.JSON) {
            gbnf = JsonSchemaGrammar.anyJson();
        } else if (rf.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
            try {
                gbnf = JsonSchemaGrammar.fromSchema(rf.schema().orElseThrow());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (djl model " + ckpt.model() + ")", e);
            }
        } else if (chat && format != null && !o.tools().isEmpty() && choice.mode() != ToolChoice.Mode.NONE) {
            gbnf = ToolCallGrammar.of(format, template.source(), choice.callable(o.tools()), choice.forcesCall());
            lazy = !choice.forcesCall();
        } else {
            return null;
        }
        TokenMask mask = new TokenMask(GrammarMatcher.compile(gbnf), tokenTexts(), eosIds::contains);
        return new Constraint(mask, lazy ? format.toolCallTriggers() : List.of());
    }

    /** The text of each token for masking; null for special tokens and bytes that are not whole characters. */
    private List<String> tokenTexts() {
        List<String> t = tokenTexts;
        if (t == null) {
            int n = ckpt.config().vocabSize();
            String[] texts = new String[n];
            java.util.Set<String> specials = new java.util.HashSet<>(tokenizer.specialTokens());
            for (int id = 0; id < n; id++) {
                String s = tokenizer.decode(new int[] {id}, 0, 1, false);
                texts[id] = s.isEmpty() || s.indexOf('\uFFFD') >= 0 || specials.contains(s) ? null : s;
            }
            t = java.util.Collections.unmodifiableList(java.util.Arrays.asList(texts));
            tokenTexts = t;
        }
        return t;
    }

    /**
     * A grammar applied to sampling: from the start, or (lazily) once the text holds one of the triggers, from
     * that trigger on. Not thread-safe: one per generation.
     */
    private final class Constraint {
        private final TokenMask mask;
        private final List<String> triggers;
        private final StringBuilder text = new StringBuilder();
        private GrammarMatcher.State state;
        private boolean done;

        Constraint(TokenMask mask, List<String> triggers) {
            this.mask = mask;
            this.triggers = triggers;
            this.state = triggers.isEmpty() ? mask.matcher().start() : null;
        }

        /** @return false when no token fits */
        boolean mask(float[] logits) {
            if (state == null || done) {
                return true;
            }
            return mask.apply(state, logits);
        }

        void accept(int token) {
            if (done || eosIds.contains(token)) {
                return;
            }
            String piece = tokenTexts().get(token);
            if (piece == null) {
                piece = tokenizer.decode(new int[] {token}, 0, 1, false);
            }
            if (state != null) {
                GrammarMatcher.State next = mask.matcher().advance(state, piece);
                if (!triggers.isEmpty() && (next == null
                        || mask.matcher().isComplete(next) && !mask.matcher().canContinue(next))) {
                    // the call is complete: the output is free again until the next trigger
                    state = null;
                    text.setLength(0);
                } else if (next != null) {
                    state = next;
                } else {
                    done = true;
                }
                return;
            }
            text.append(piece);
            for (String trigger : triggers) {
                int at = text.indexOf(trigger);
                if (at >= 0) {
                    state = mask.matcher().advance(mask.matcher().start(), text.substring(at));
                    if (state == null) {
                        text.setLength(0);
                    }
                    return;
                }
            }
        }
    }

    @Override
    public int[] tokenize(String text) {
        return encoder.encodeText(text);
    }

    @Override
    public String detokenize(int[] tokens) {
        return tokenizer.decode(tokens, 0, tokens.length, false);
    }

    /**
     * Embeds each text: its tokens (with the special tokens the tokenizer adds, truncated to the pooling's
     * {@code max_seq_length} with those kept) run through the decoder from an empty cache, and the final-norm
     * hidden states are pooled. The texts run one after another in one task of the inference thread, so that
     * a text's vector never depends on the other texts of the call.
     */
    @Override
    public List<float[]> embed(List<String> texts) {
        if (pooling == null) {
            throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " cannot compute embeddings: "
                    + info.details().get("embeddings").substring("none: ".length()), Capability.EMBEDDINGS);
        }
        List<int[]> inputs = new java.util.ArrayList<>(texts.size());
        int longest = 0;
        for (String text : texts) {
            int[] ids = embeddingTokens(text);
            longest = Math.max(longest, ids.length);
            inputs.add(ids);
        }
        int width = ckpt.config().hiddenSize();
        List<float[]> out = new java.util.ArrayList<>(texts.size());
        lock.lock();
        try (LlamaDecoder.KvCache cache = decoder.newCache(Math.max(1, longest))) {
            for (int[] ids : inputs) {
                cache.clear();
                float[] hidden = decoder.forward(ids, cache, LlamaDecoder.Output.HIDDEN);
                out.add(pooling.pool(hidden, ids.length, width));
            }
        } catch (ai.djl.engine.EngineException e) {
            throw new LlmException("the PyTorch engine failed while embedding with djl model " + ckpt.model() + ": "
                    + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** The tokens of one text to embed: special tokens as the tokenizer adds them, truncated as configured. */
    int[] embeddingTokens(String text) {
        String t = pooling.lowerCase() ? text.toLowerCase(java.util.Locale.ROOT) : text;
        int[] ids = encodePrompt(t);
        int max = pooling.maxSeqLength();
        if (max > 0 && ids.length > max) {
            // as the tokenizer truncates: the text's tokens are cut, the special tokens around them stay
            int[] body = tokenizer.encode(t, false);
            int prefix = 0;
            while (prefix + body.length <= ids.length
                    && !java.util.Arrays.equals(ids, prefix, prefix + body.length, body, 0, body.length)) {
                prefix++;
            }
            if (prefix + body.length > ids.length) {
                prefix = 0;
                body = ids;
            }
            int suffix = ids.length - prefix - body.length;
            int keep = Math.max(0, max - prefix - suffix);
            int[] cut = new int[Math.min(ids.length, prefix + keep + suffix)];
            System.arraycopy(ids, 0, cut, 0, prefix);
            System.arraycopy(body, 0, cut, prefix, Math.min(keep, body.length));
            System.arraycopy(ids, prefix + body.length, cut, prefix + Math.min(keep, body.length), suffix);
            ids = cut;
        }
        if (ids.length == 0) {
            throw new IllegalArgumentException("cannot embed an empty text with djl model " + ckpt.model()
                    + ": it has no tokens and the tokenizer adds none");
        }
        if (ids.length > contextLength) {
            throw new io.github.locallm.ContextOverflowException("a text of " + ids.length + " tokens is longer than "
                    + "the context of " + contextLength + " tokens of djl model " + ckpt.model() + "; open it with a "
                    + "larger ctx or embed shorter texts", ids.length, 0, contextLength);
        }
        checkIds(ids);
        return ids;
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        return encoder.encodeChat(messages, List.of()).length;
    }

    @Override
    public void close() {
        try {
            decoder.close();
        } finally {
            tokenizer.close();
        }
    }
}
