package io.github.locallm.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.Capability;
import java.util.ArrayList;
import java.util.List;

/** Embedding requests of both APIs: input parsing, bounds, and one call to the model under its slot. */
final class Embeddings {
    private Embeddings() {
    }

    record Result(List<float[]> vectors, int promptTokens, long nanos) {
    }

    static List<String> inputs(JsonNode input, String field, Conversions.Bounds bounds) {
        List<String> out = new ArrayList<>();
        if (input == null || input.isNull()) {
            throw HttpError.badRequest(field, "'" + field + "' is required");
        }
        if (input.isTextual()) {
            out.add(input.asText());
        } else if (input.isArray()) {
            for (JsonNode i : input) {
                if (!i.isTextual()) {
                    throw HttpError.unsupported(field, "'" + field + "' must be a string or an array of strings "
                            + "(token arrays are not supported)");
                }
                out.add(i.asText());
            }
        } else {
            throw HttpError.badRequest(field, "'" + field + "' must be a string or an array of strings");
        }
        if (out.isEmpty()) {
            throw HttpError.badRequest(field, "'" + field + "' must not be empty");
        }
        if (out.size() > bounds.maxInputs()) {
            throw HttpError.badRequest(field, "'" + field + "' has " + out.size() + " texts, over the server's limit of "
                    + bounds.maxInputs());
        }
        long chars = 0;
        for (String s : out) {
            chars += s.length();
        }
        Conversions.checkPrompt(chars, bounds);
        return out;
    }

    /**
     * How many texts go to the model in one call. Between two calls the server looks whether the client is
     * still connected, so a client that goes away stops the texts not embedded yet; a call under way runs to
     * its end. The in-process backends embed text by text, so the vectors are the same whatever the split.
     */
    static final int TEXTS_PER_CALL = 8;

    /**
     * Embeds the texts under the model's slot, a few at a time, stopping when the client goes away.
     *
     * @throws HttpError when the model fails or the client went away (status 499, which no one reads)
     */
    static Result run(LlmServer server, ModelSlot slot, List<String> inputs, Exchange ex) {
        long t0 = System.nanoTime();
        ModelSlot.Permit permit = slot.acquire();
        try {
            List<float[]> v = new ArrayList<>(inputs.size());
            for (int from = 0; from < inputs.size(); from += TEXTS_PER_CALL) {
                if (from > 0 && ex.clientGone()) {
                    throw HttpError.clientClosed("the client closed the connection; the embedding of "
                            + (inputs.size() - from) + " of " + inputs.size() + " texts was not done");
                }
                v.addAll(slot.llm.embed(inputs.subList(from, Math.min(inputs.size(), from + TEXTS_PER_CALL))));
            }
            int tokens = 0;
            if (slot.llm.info().supports(Capability.TOKENIZE)) {
                for (String s : inputs) {
                    tokens += slot.llm.countTokens(s);
                }
            }
            return new Result(v, tokens, System.nanoTime() - t0);
        } catch (RuntimeException e) {
            throw Conversions.toHttp(e);
        } finally {
            permit.close();
        }
    }
}
