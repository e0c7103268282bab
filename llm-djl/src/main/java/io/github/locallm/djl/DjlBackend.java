package io.github.locallm.djl;

import ai.djl.ndarray.NDManager;
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
import io.github.locallm.spi.TokenSink;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import java.nio.charset.StandardCharsets;
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

    DjlBackend(Checkpoint ckpt, CheckpointTokenizer tokenizer, NDManager weights, int contextLength,
               String device) {
        this.ckpt = ckpt;
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
        ChatTemplate t = null;
        RuntimeException error = null;
        if (ckpt.chatTemplate() != null) {
            try {
                t = ChatTemplate.parse(ckpt.chatTemplate());
            } catch (RuntimeException e) {
                error = e;
            }
        }
        this.template = t;
        this.encoder = encoder();
        this.decoder = LlamaDecoder.load(ckpt, weights);
        EnumSet<Capability> caps = EnumSet.of(Capability.COMPLETION, Capability.TOKENIZE, Capability.SEED);
        if (template != null) {
            caps.add(Capability.CHAT);
        }
        CheckpointConfig c = ckpt.config();
        Map<String, String> details = new LinkedHashMap<>();
        details.put("architecture", c.architecture());
        details.put("parameters", Long.toString(ckpt.parameterCount()));
        details.put("weights_dtype", ckpt.storedDtype());
        details.put("compute_dtype", "F32 activations; F16 weights multiply in F16 with F32 accumulation");
        details.put("weights_held", decoder.weightTypes());
        details.put("layers", Integer.toString(c.numLayers()));
        details.put("heads", c.numHeads() + "/" + c.numKvHeads());
        details.put("vocab_size", Integer.toString(c.vocabSize()));
        details.put("device", device);
        details.put("chat_template", t != null ? "from the checkpoint" : error != null
                ? "cannot be used: " + error.getMessage() : "none: tokenizer_config.json has no chat_template");
        details.put("path", ckpt.dir().toString());
        this.info = new ModelInfo("djl", ckpt.model(), contextLength, caps, details);
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        GenerationOptions o = request.options();
        int[] prompt = request.isChat() ? encodeChat(request.messages(), o)
                : encodePrompt(request.prompt());
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
            return loop.run(new Steps(cache, sampler, loop.promptTokens() + loop.maxNewTokens()), sink, cancel);
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

        Steps(LlamaDecoder.KvCache cache, Sampler sampler, int capacity) {
            this.cache = cache;
            this.sampler = sampler;
            this.history = new int[capacity];
        }

        @Override
        public void evaluate(int[] tokens) {
            System.arraycopy(tokens, 0, history, length, tokens.length);
            length += tokens.length;
            logits = decoder.forward(tokens, cache, false);
        }

        @Override
        public int sample() {
            return sampler.sample(logits, history, length);
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
            CheckpointTokenizer.StreamDecoder text = tokenizer.new StreamDecoder();
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

    private PromptEncoder encoder() {
        RenderOptions.Builder options = RenderOptions.builder();
        if (bosToken != null) {
            options.bosToken(bosToken);
        }
        if (eosToken != null) {
            options.eosToken(eosToken);
        }
        PromptEncoder.Renderer render = (messages, o) -> {
            if (template == null) {
                // only direct SPI calls get here: core refuses chat to a model without the CHAT capability
                throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " cannot chat: "
                        + info.details().get("chat_template"), Capability.CHAT);
            }
            try {
                return template.render(messages, o);
            } catch (RuntimeException e) {
                throw new LlmException("the chat template of djl model " + ckpt.model() + " cannot render this "
                        + "conversation: " + e.getMessage(), e);
            }
        };
        // The template writes the special tokens itself (BOS included), so the tokenizer adds none.
        return PromptEncoder.builder(render, text -> tokenizer.encode(text, false))
                .controlTokens(tokenizer.specialTokens())
                .renderOptions(options.build())
                .build();
    }

    /** Renders and tokenizes a conversation; message contents never become special tokens. */
    private int[] encodeChat(List<ChatMessage> messages, GenerationOptions o) {
        return encoder.encodeChat(messages, o.tools());
    }

    /** @return the token ids of a conversation as the model reads it, for tests in this package */
    int[] chatTokens(List<ChatMessage> messages) {
        return encoder.encodeChat(messages, List.of());
    }

    /** @return the conversation as the model reads it, for tests in this package */
    String renderChat(List<ChatMessage> messages) {
        return encoder.render(messages, encoder.renderOptions().toBuilder().addGenerationPrompt(true).build());
    }

    @Override
    public int[] tokenize(String text) {
        return encoder.encodeText(text);
    }

    @Override
    public String detokenize(int[] tokens) {
        return tokenizer.decode(tokens, 0, tokens.length, false);
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        return encoder.encodeChat(messages, List.of()).length;
    }

    /** @return the decoder, for tests in this package */
    LlamaDecoder decoder() {
        return decoder;
    }

    /** @return the tokenizer, for tests in this package */
    CheckpointTokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the end token ids */
    Set<Integer> eosIds() {
        return eosIds;
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
