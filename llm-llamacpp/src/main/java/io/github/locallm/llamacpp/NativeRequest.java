package io.github.locallm.llamacpp;

import de.kherud.llama.InferenceParameters;

import java.lang.reflect.Field;
import java.util.Map;

/**
 * Builds the binding's request object with entries its setters cannot express: the prompt as token ids
 * (so user text is never re-tokenized with special-token parsing) and {@code json_schema}.
 */
final class NativeRequest {

    private static final Field PARAMETERS;

    static {
        try {
            PARAMETERS = InferenceParameters.class.getSuperclass().getDeclaredField("parameters");
            PARAMETERS.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private NativeRequest() {
    }

    /** Creates a request whose prompt is exactly these token ids. */
    static InferenceParameters withTokens(int[] tokens) {
        InferenceParameters p = new InferenceParameters("");
        StringBuilder sb = new StringBuilder(tokens.length * 6 + 2).append('[');
        for (int i = 0; i < tokens.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(tokens[i]);
        }
        put(p, "prompt", sb.append(']').toString());
        return p;
    }

    /** Puts a raw JSON value under a key. */
    @SuppressWarnings("unchecked")
    static void put(InferenceParameters p, String key, String rawJson) {
        try {
            ((Map<String, String>) PARAMETERS.get(p)).put(key, rawJson);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot fill the llama.cpp request", e);
        }
    }
}
