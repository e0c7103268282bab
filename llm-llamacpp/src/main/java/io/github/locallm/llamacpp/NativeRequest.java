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
        put(p, "prompt", tokenList(tokens));
        return p;
    }

    /** Returns token ids as a JSON array. */
    static String tokenList(int[] tokens) {
        StringBuilder sb = new StringBuilder(tokens.length * 6 + 2).append('[');
        for (int i = 0; i < tokens.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(tokens[i]);
        }
        return sb.append(']').toString();
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
