package io.github.locallm.llamacpp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaOutput;
import io.github.locallm.LlmException;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code de.kherud:llama} engine ({@code engine=jllama}, llama.cpp b4916): its native server loop runs
 * each generation; models are shared and never freed (see {@link SharedModel}).
 */
final class JllamaEngine implements Engine {
    private static final ObjectMapper JSON = new ObjectMapper();


    private final SharedModel shared;
    private final String spec;
    private final Map<String, String> details = new LinkedHashMap<>();
    /** The bundled build (no lib_path) is CPU-only. */
    private final boolean libPathless;

    JllamaEngine(SharedModel shared, String spec, boolean libPathless) {
        this.shared = shared;
        this.spec = spec;
        this.libPathless = libPathless;
        details.put("engine", "jllama");
        details.put("llama_cpp_build", "b4916 (de.kherud:llama " + NativeRuntime.BINDING_VERSION + ")");
        details.put("native_library", String.valueOf(NativeRuntime.loadedFrom()));
        details.put("cpu_variant", "generic x86-64/arm64 build of the binding");
    }

    @Override
    public String name() {
        return "jllama";
    }

    @Override
    public ReentrantLock lock() {
        return shared.lock;
    }

    @Override
    public Map<String, String> details() {
        return details;
    }

    @Override
    public int[] tokenize(String text) {
        return shared.model.encode(text);
    }

    @Override
    public String detokenize(int[] tokens) {
        return shared.model.decode(tokens);
    }

    @Override
    public boolean cpuOnly() {
        return libPathless;
    }

    @Override
    public Generation start(Sampling s, int maxTokens) {
        InferenceParameters p = NativeRequest.withTokens(new int[0]);
        NativeRequest.put(p, "n_predict", Integer.toString(maxTokens));
        NativeRequest.put(p, "cache_prompt", Boolean.toString(s.cachePrompt()));
        if (s.temperature() != null) {
            NativeRequest.put(p, "temperature", Double.toString(s.temperature()));
        }
        if (s.topP() != null) {
            NativeRequest.put(p, "top_p", Double.toString(s.topP()));
        }
        if (s.topK() != null) {
            NativeRequest.put(p, "top_k", Integer.toString(s.topK()));
        }
        if (s.minP() != null) {
            NativeRequest.put(p, "min_p", Double.toString(s.minP()));
        }
        if (s.repeatPenalty() != null) {
            NativeRequest.put(p, "repeat_penalty", Double.toString(s.repeatPenalty()));
        }
        if (s.seed() != null) {
            NativeRequest.put(p, "seed", Long.toString(s.seed()));
        }
        for (Map.Entry<String, Double> e : s.extra().entrySet()) {
            double v = e.getValue();
            NativeRequest.put(p, e.getKey(), v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
                    : Double.toString(v));
        }
        if (s.lazy()) {
            throw new io.github.locallm.UnsupportedCapabilityException("lazy grammars (grammars switched on by a"
                    + " trigger) need the llamacpp engine; model " + spec + " runs on engine=jllama");
        }
        if (!s.markup().isEmpty()) {
            // the binding writes these control tokens as their text (the markup a chat-format parser reads)
            com.fasterxml.jackson.databind.node.ArrayNode texts = JSON.createArrayNode();
            s.markup().values().stream().sorted().forEach(texts::add);
            NativeRequest.put(p, "preserved_tokens", texts.toString());
        }
        if (s.grammar() != null) {
            NativeRequest.put(p, "grammar", JSON.getNodeFactory().textNode(s.grammar()).toString());
        }
        if (s.jsonSchema() != null) {
            NativeRequest.put(p, "json_schema", s.jsonSchema());
        }
        return new NativeGeneration(p);
    }

    /**
     * The binding's native generation as a {@link io.github.locallm.spi.DecodeEngine}: the native side samples
     * and evaluates, and hands over one text piece per token, so {@link #sample()} reads the next piece and
     * {@link #evaluate(int[])} after the prompt does nothing.
     *
     * <p>The native side sends nothing for a token that ends inside a UTF-8 character (its bytes come with
     * the next piece), so it can spend the token budget in fewer pieces than tokens. When it ends before the
     * loop counted the budget, the end is an end-of-generation token if the last piece was the empty text of
     * that token; otherwise the budget was spent, and the tokens not counted yet are reported as empty pieces
     * so the loop ends with LENGTH and the true count.
     */
    private final class NativeGeneration implements Generation {
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
            NativeRequest.put(params, "prompt", NativeRequest.tokenList(tokens));
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

        @Override
        public void close() {
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
                JsonNode message = JSON.readTree(m).path("message");
                if (message.isTextual()) {
                    return message.asText().replace('\n', ' ');
                }
            } catch (JsonProcessingException notJson) {
                // keep the raw text
            }
        }
        return m;
    }

    @Override
    public float[] embed(String text, int[] tokens) {
        // the binding tokenizes the text itself
        return shared.model.embed(text);
    }

    @Override
    public void release() {
        shared.release();
    }
}
