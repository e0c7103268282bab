package io.github.locallm.djl;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.StopSequenceFilter;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
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
    private final RuntimeException templateError;
    private final String bosToken;
    private final String eosToken;
    private final Set<Integer> eosIds;
    private final int contextLength;
    private final ModelInfo info;
    private final ReentrantLock lock = new ReentrantLock();

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
        this.templateError = error;
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
        checkSupported(o);
        int[] prompt = request.isChat() ? encodeChat(request.messages())
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
        if (prompt.length >= contextLength) {
            throw new ContextOverflowException("the prompt of " + prompt.length + " tokens does not fit the context of "
                    + contextLength + " tokens of djl model " + ckpt.model()
                    + "; shorten the prompt or open the model with a larger ctx setting");
        }
        int room = contextLength - prompt.length;
        int asked = o.maxTokens().orElse(ckpt.generationConfig().path("max_new_tokens").asInt(room));
        int maxTokens = Math.max(1, Math.min(asked, room));
        Sampler sampler = sampler(o);
        lock.lock();
        try {
            return run(prompt, maxTokens, sampler, new StopSequenceFilter(o.stop(), sink), cancel);
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

    private BackendResult run(int[] prompt, int maxTokens, Sampler sampler, StopSequenceFilter stops,
                              CancelSignal cancel) {
        int[] history = new int[prompt.length + maxTokens];
        System.arraycopy(prompt, 0, history, 0, prompt.length);
        int length = prompt.length;
        int produced = 0;
        FinishReason reason = FinishReason.LENGTH;
        CheckpointTokenizer.StreamDecoder text = tokenizer.new StreamDecoder();
        try (LlamaDecoder.KvCache cache = decoder.newCache(prompt.length + maxTokens)) {
            if (cancel.isCancelled()) {
                return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
            }
            float[] logits = decoder.forward(prompt, cache, false);
            while (true) {
                if (cancel.isCancelled()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                int next = sampler.sample(logits, history, length);
                if (eosIds.contains(next)) {
                    reason = FinishReason.STOP;
                    break;
                }
                history[length++] = next;
                produced++;
                if (stops.accept(text.push(next))) {
                    reason = FinishReason.STOP;
                    break;
                }
                if (produced >= maxTokens) {
                    reason = FinishReason.LENGTH;
                    break;
                }
                if (cancel.isCancelled()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                logits = decoder.forward(new int[] {next}, cache, false);
            }
        } catch (ai.djl.engine.EngineException e) {
            throw new LlmException("the PyTorch engine failed while generating with djl model " + ckpt.model()
                    + ": " + e.getMessage(), e);
        }
        // After a cancel nothing more is sent; otherwise text held back for UTF-8 or stop matching goes out.
        if (reason != FinishReason.CANCELLED && !stops.stopped() && !stops.accept(text.flush())) {
            stops.flush();
        }
        if (stops.stopped()) {
            reason = FinishReason.STOP;
        }
        return new BackendResult(reason, prompt.length, produced, List.<ToolCall>of(), null);
    }

    private void checkSupported(GenerationOptions o) {
        if (o.responseFormat().isPresent() && o.responseFormat().get().kind() != ResponseFormat.Kind.TEXT) {
            throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " cannot constrain output to "
                    + o.responseFormat().get() + "; use the llamacpp or ollama backend for JSON output");
        }
        if (!o.tools().isEmpty()) {
            throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " does not support tool calling;"
                    + " use the llamacpp or ollama backend for tools");
        }
        if (o.think().orElse(false)) {
            throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " does not separate thinking "
                    + "text; leave think unset");
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

    /**
     * Renders a conversation with the checkpoint's template and tokenizes it; the template writes the
     * special tokens itself, so the tokenizer adds none.
     */
    private int[] encodeChat(List<ChatMessage> messages) {
        return tokenizer.encode(renderChat(messages), false);
    }

    String renderChat(List<ChatMessage> messages) {
        if (template == null) {
            String why = templateError != null ? "its chat template cannot be used: " + templateError.getMessage()
                    : "its tokenizer_config.json has no chat_template";
            throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " cannot chat because " + why
                    + "; use generate with a prompt you format yourself", templateError);
        }
        RenderOptions.Builder options = RenderOptions.builder().addGenerationPrompt(true);
        if (bosToken != null) {
            options.bosToken(bosToken);
        }
        if (eosToken != null) {
            options.eosToken(eosToken);
        }
        try {
            return template.render(messages, options.build());
        } catch (RuntimeException e) {
            throw new LlmException("the chat template of djl model " + ckpt.model() + " cannot render this "
                    + "conversation: " + e.getMessage(), e);
        }
    }

    @Override
    public int[] tokenize(String text) {
        return tokenizer.encode(text, false);
    }

    @Override
    public String detokenize(int[] tokens) {
        return tokenizer.decode(tokens, 0, tokens.length, false);
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        return encodeChat(messages).length;
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
