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

    static Result run(LlmServer server, ModelSlot slot, List<String> inputs) {
        long t0 = System.nanoTime();
        ModelSlot.Permit permit = slot.acquire();
        try {
            List<float[]> v = slot.llm.embed(inputs);
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
