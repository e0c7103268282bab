package io.github.locallm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rules both APIs share: request fields to {@link GenerationOptions}, tools, response formats, the
 * server's bounds, and exceptions to HTTP errors.
 */
final class Conversions {
    private Conversions() {
    }

    /** The server's bounds on one request. */
    record Bounds(int maxPromptChars, int maxTokens, int maxInputs) {
    }

    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw HttpError.badRequest(field, "'" + field + "' must be a string");
        }
        return v.asText();
    }

    static String requiredText(JsonNode node, String field) {
        String v = text(node, field);
        if (v == null) {
            throw HttpError.badRequest(field, "'" + field + "' is required");
        }
        return v;
    }

    static boolean bool(JsonNode node, String field, boolean dflt) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw HttpError.badRequest(field, "'" + field + "' must be true or false");
        }
        return v.asBoolean();
    }

    static Double number(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw HttpError.badRequest(field, "'" + field + "' must be a number");
        }
        return v.asDouble();
    }

    static Long integer(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw HttpError.badRequest(field, "'" + field + "' must be an integer");
        }
        return v.asLong();
    }

    /**
     * The sampling fields both APIs name alike: {@code temperature}, {@code top_p}, {@code top_k} (0 or less:
     * unset), {@code min_p}, {@code repeat_penalty}, {@code seed} (negative: unset) and {@code stop}.
     *
     * @param b the options being built
     * @param node the object holding the fields (Ollama's {@code options}, OpenAI's body)
     * @param stopField the name {@code stop} has in error messages
     * @param repeatPenaltyAlias another name {@code repeat_penalty} may have, or null
     * @throws IllegalArgumentException when a value is out of its range
     */
    static void sampling(GenerationOptions.Builder b, JsonNode node, String stopField, String repeatPenaltyAlias) {
        Double t = number(node, "temperature");
        if (t != null) {
            b.temperature(t);
        }
        Double topP = number(node, "top_p");
        if (topP != null) {
            b.topP(topP);
        }
        Long topK = integer(node, "top_k");
        if (topK != null && topK > 0) {
            b.topK((int) Math.min(topK, Integer.MAX_VALUE));
        }
        Double minP = number(node, "min_p");
        if (minP != null) {
            b.minP(minP);
        }
        Double rp = number(node, "repeat_penalty");
        if (rp == null && repeatPenaltyAlias != null) {
            rp = number(node, repeatPenaltyAlias);
        }
        if (rp != null) {
            b.repeatPenalty(rp);
        }
        Long seed = integer(node, "seed");
        if (seed != null && seed >= 0) {
            b.seed(seed);
        }
        List<String> stop = stops(node.get("stop"), stopField);
        if (!stop.isEmpty()) {
            b.stop(stop);
        }
    }

    /** Builds the options; a value the options refuse is the client's error. */
    static GenerationOptions build(GenerationOptions.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
    }

    /**
     * The tool calls of an assistant message, in the shape both APIs share:
     * {@code [{"id"?, "function": {"name", "arguments"}}]}, the arguments an object or a JSON string.
     */
    static List<ToolCall> toolCalls(JsonNode calls, ObjectMapper mapper) {
        List<ToolCall> out = new ArrayList<>();
        if (calls == null || !calls.isArray()) {
            return out;
        }
        for (JsonNode c : calls) {
            JsonNode f = c.path("function");
            String id = c.hasNonNull("id") ? c.get("id").asText() : "";
            out.add(new ToolCall(id, requiredText(f, "name"), argumentsJson(f.get("arguments"), mapper)));
        }
        return out;
    }

    /** Applies the token bound: absent means the bound, more than the bound is refused. */
    static void maxTokens(GenerationOptions.Builder b, Long requested, String field, Bounds bounds) {
        if (requested == null) {
            b.maxTokens(bounds.maxTokens());
            return;
        }
        if (requested < 1) {
            throw HttpError.badRequest(field, "'" + field + "' must be >= 1: " + requested);
        }
        if (requested > bounds.maxTokens()) {
            throw HttpError.badRequest(field, "'" + field + "' is " + requested + ", over the server's limit of "
                    + bounds.maxTokens() + " tokens per request");
        }
        b.maxTokens(requested.intValue());
    }

    static List<String> stops(JsonNode v, String field) {
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            for (JsonNode s : v) {
                if (!s.isTextual()) {
                    throw HttpError.badRequest(field, "'" + field + "' must hold strings");
                }
                out.add(s.asText());
            }
        } else {
            throw HttpError.badRequest(field, "'" + field + "' must be a string or an array of strings");
        }
        out.removeIf(String::isEmpty);
        return out;
    }

    /** Tools in the shape both APIs share: {@code [{"type":"function","function":{name,description,parameters}}]}. */
    static void tools(GenerationOptions.Builder b, JsonNode tools, ObjectMapper mapper) {
        if (tools == null || tools.isNull()) {
            return;
        }
        if (!tools.isArray()) {
            throw HttpError.badRequest("tools", "'tools' must be an array");
        }
        for (JsonNode t : tools) {
            JsonNode type = t.get("type");
            if (type != null && !"function".equals(type.asText())) {
                throw HttpError.unsupported("tools", "only tools of type 'function' are supported: " + type);
            }
            JsonNode f = t.get("function");
            if (f == null || !f.isObject()) {
                throw HttpError.badRequest("tools", "each tool needs a 'function' object");
            }
            String name = requiredText(f, "name");
            String description = text(f, "description");
            JsonNode params = f.get("parameters");
            String schema;
            if (params == null || params.isNull()) {
                schema = "{\"type\":\"object\",\"properties\":{}}";
            } else if (params.isObject()) {
                schema = params.toString();
            } else {
                throw HttpError.badRequest("tools", "tool '" + name + "': 'parameters' must be a JSON schema object");
            }
            try {
                b.tool(new ToolSpec(name, description == null ? "" : description, schema));
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest("tools", e.getMessage());
            }
        }
    }

    static ResponseFormat schemaFormat(JsonNode schema, String field) {
        if (schema == null || !schema.isObject()) {
            throw HttpError.badRequest(field, "'" + field + "' must hold a JSON schema object");
        }
        return ResponseFormat.jsonSchema(schema.toString());
    }

    /** Arguments as the JSON text a {@link ToolCall} holds, from an object or a string of JSON. */
    static String argumentsJson(JsonNode args, ObjectMapper mapper) {
        if (args == null || args.isNull()) {
            return "{}";
        }
        if (args.isTextual()) {
            String s = args.asText().strip();
            return s.isEmpty() ? "{}" : s;
        }
        return args.toString();
    }

    /** Arguments as a JSON value for Ollama's wire format, which sends an object, not a string. */
    static JsonNode argumentsObject(ToolCall call, ObjectMapper mapper) {
        try {
            JsonNode n = mapper.readTree(call.argumentsJson());
            return n == null ? mapper.createObjectNode() : n;
        } catch (Exception e) {
            // a model's malformed arguments reach the client as text rather than being lost
            return mapper.getNodeFactory().textNode(call.argumentsJson());
        }
    }

    static void checkPrompt(List<ChatMessage> messages, Bounds bounds) {
        long total = 0;
        for (ChatMessage m : messages) {
            total += m.content().length();
            for (ToolCall c : m.toolCalls()) {
                total += c.argumentsJson().length();
            }
        }
        checkPrompt(total, bounds);
    }

    static void checkPrompt(long chars, Bounds bounds) {
        if (chars > bounds.maxPromptChars()) {
            throw HttpError.badRequest("the prompt has " + chars + " characters, over the server's limit of "
                    + bounds.maxPromptChars());
        }
    }

    static ChatMessage.Role role(String role) {
        switch (role == null ? "" : role.toLowerCase(Locale.ROOT)) {
            case "system", "developer":
                return ChatMessage.Role.SYSTEM;
            case "user":
                return ChatMessage.Role.USER;
            case "assistant":
                return ChatMessage.Role.ASSISTANT;
            case "tool":
                return ChatMessage.Role.TOOL;
            default:
                throw HttpError.badRequest("messages", "unknown message role: '" + role
                        + "' (expected system, user, assistant or tool)");
        }
    }

    static String openAiFinish(FinishReason r) {
        switch (r) {
            case LENGTH:
                return "length";
            case TOOL_CALLS:
                return "tool_calls";
            default:
                return "stop";
        }
    }

    /** Maps what the model layer threw to the HTTP answer. */
    static HttpError toHttp(Throwable t) {
        if (t instanceof HttpError h) {
            return h;
        }
        if (t instanceof UnsupportedCapabilityException || t instanceof ContextOverflowException
                || t instanceof IllegalArgumentException) {
            return HttpError.badRequest(t.getMessage());
        }
        if (t instanceof ModelNotFoundException) {
            return HttpError.notFound(t.getMessage());
        }
        if (t instanceof IllegalStateException) {
            return HttpError.unavailable("the model is closed or the server is stopping: " + t.getMessage());
        }
        if (t instanceof LlmException) {
            return HttpError.internal(t.getMessage());
        }
        return HttpError.internal("internal error: " + t);
    }
}
