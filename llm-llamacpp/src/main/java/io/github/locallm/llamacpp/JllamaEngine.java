package io.github.locallm.llamacpp;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaOutput;
import io.github.locallm.FinishReason;
import io.github.locallm.LlmException;
import io.github.locallm.spi.CancelSignal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code de.kherud:llama} engine ({@code engine=jllama}, llama.cpp b4916): its native server loop runs
 * each generation; models are shared and never freed (see {@link SharedModel}).
 */
final class JllamaEngine implements Engine {

    private final SharedModel shared;
    private final String spec;
    private final Map<String, String> details = new LinkedHashMap<>();

    JllamaEngine(SharedModel shared, String spec) {
        this.shared = shared;
        this.spec = spec;
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
    public Outcome generate(int[] prompt, Sampling s, int maxTokens, PieceSink sink, CancelSignal cancel) {
        InferenceParameters p = NativeRequest.withTokens(prompt);
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
        if (s.grammar() != null) {
            NativeRequest.put(p, "grammar", Json.quote(s.grammar()));
        }
        if (s.jsonSchema() != null) {
            NativeRequest.put(p, "json_schema", s.jsonSchema());
        }
        LlamaIterator it;
        try {
            it = shared.model.generate(p).iterator();
        } catch (RuntimeException e) {
            throw new LlmException("llamacpp model " + spec + " rejected the request: " + nativeMessage(e), e);
        }
        int produced = 0;
        boolean lastEmpty = false;
        boolean finished = false;
        try {
            while (it.hasNext()) {
                LlamaOutput out;
                boolean last;
                try {
                    out = it.next();
                    last = !it.hasNext();
                } catch (RuntimeException e) {
                    throw new LlmException("llamacpp generation failed for model " + spec + ": " + nativeMessage(e), e);
                }
                if (last) {
                    finished = true;
                    if (!out.text.isEmpty()) {
                        lastEmpty = false;
                        if (sink.accept(out.text)) {
                            return new Outcome(null, produced);
                        }
                    }
                    break;
                }
                produced++;
                lastEmpty = out.text.isEmpty();
                // the sink is the caller's: its exceptions pass through unchanged
                if (!lastEmpty && sink.accept(out.text)) {
                    return new Outcome(null, produced);
                }
                if (cancel.isCancelled()) {
                    return new Outcome(FinishReason.CANCELLED, produced);
                }
            }
        } finally {
            if (!finished) {
                // an abandoned native generation would keep running and delay the next request
                it.cancel();
            }
        }
        if (lastEmpty) {
            return new Outcome(FinishReason.STOP, produced);
        }
        return new Outcome(FinishReason.LENGTH, Math.max(produced, maxTokens));
    }

    /** Returns the message of a native error, taken out of the JSON envelope the native side wraps it in. */
    private static String nativeMessage(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("{")) {
            try {
                if (Json.parse(m) instanceof Map<?, ?> json && json.get("message") instanceof String str) {
                    return str.replace('\n', ' ');
                }
            } catch (IllegalArgumentException notJson) {
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

    /** Returns the shared native model (for tests). */
    SharedModel shared() {
        return shared;
    }

    @Override
    public void release() {
        shared.release();
    }
}
