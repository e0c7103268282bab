package io.github.locallm.ollama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.spi.OptionValues;
import java.util.Locale;
import java.util.Map;

/**
 * Builds the JSON bodies of Ollama's {@code /api/generate}, {@code /api/chat} and {@code /api/embed}
 * requests, with the field names of Ollama's REST API.
 */
final class WireFormat {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** Backend options that go at the top level of a request rather than inside {@code options}. */
    static final String KEEP_ALIVE = "keep_alive";
    static final String THINK = "think";
    static final String RAW = "raw";
    static final String SYSTEM = "system";
    static final String SUFFIX = "suffix";
    static final String TEMPLATE = "template";
    static final String STREAM = "stream";
    static final String OPTIONS = "options";

    private WireFormat() {
    }

    /** Settings fixed when the model was opened. */
    record ModelSettings(String model, Integer numCtx, Integer numGpu, Integer numThread, String keepAlive,
                         Boolean embedTruncate, Integer embedDimensions) {
        /** @return settings naming only a model */
        static ModelSettings of(String model) {
            return new ModelSettings(model, null, null, null, null, null, null);
        }
    }

    static ObjectNode generateBody(ModelSettings m, String prompt, GenerationOptions o, boolean stream) {
        ObjectNode body = F.objectNode();
        body.put("model", m.model());
        body.put("prompt", prompt);
        body.put("stream", stream);
        common(body, m, o);
        Map<String, String> b = o.backendOptions("ollama");
        if (b.containsKey(SYSTEM)) {
            body.put("system", b.get(SYSTEM));
        }
        if (o.suffix().isPresent()) {
            if (b.containsKey(SUFFIX) && !b.get(SUFFIX).equals(o.suffix().get())) {
                throw new IllegalArgumentException("give the suffix once: GenerationOptions.suffix and the "
                        + "ollama.suffix option differ (model " + m.model() + ")");
            }
            body.put("suffix", o.suffix().get());
        } else if (b.containsKey(SUFFIX)) {
            body.put("suffix", b.get(SUFFIX));
        }
        if (b.containsKey(TEMPLATE)) {
            body.put("template", b.get(TEMPLATE));
        }
        if (b.containsKey(RAW)) {
            body.put("raw", bool(RAW, b.get(RAW)));
        }
        return body;
    }

    static ObjectNode chatBody(ModelSettings m, java.util.List<ChatMessage> messages, GenerationOptions o,
                               boolean stream) {
        ObjectNode body = F.objectNode();
        body.put("model", m.model());
        ArrayNode msgs = body.putArray("messages");
        for (ChatMessage msg : messages) {
            msgs.add(message(msg));
        }
        body.put("stream", stream);
        if (!o.tools().isEmpty()) {
            ArrayNode tools = body.putArray("tools");
            for (ToolSpec t : o.tools()) {
                ObjectNode tool = tools.addObject();
                tool.put("type", "function");
                ObjectNode fn = tool.putObject("function");
                fn.put("name", t.name());
                fn.put("description", t.description());
                fn.set("parameters", parseObject(t.parametersSchema(), "parameters schema of tool " + t.name()));
            }
        }
        common(body, m, o);
        return body;
    }

    static ObjectNode message(ChatMessage msg) {
        ObjectNode n = F.objectNode();
        n.put("role", msg.role().wireName());
        n.put("content", msg.content());
        if (!msg.images().isEmpty()) {
            ArrayNode images = n.putArray("images");
            msg.images().forEach(images::add);
        }
        if (!msg.toolCalls().isEmpty()) {
            ArrayNode calls = n.putArray("tool_calls");
            for (ToolCall c : msg.toolCalls()) {
                ObjectNode call = calls.addObject();
                if (!c.id().isEmpty()) {
                    call.put("id", c.id());
                }
                ObjectNode fn = call.putObject("function");
                fn.put("name", c.name());
                fn.set("arguments", parseObject(c.argumentsJson(), "arguments of tool call " + c.name()));
            }
        }
        if (msg.role() == ChatMessage.Role.TOOL && !msg.name().isEmpty()) {
            n.put("tool_name", msg.name());
        }
        if (msg.role() == ChatMessage.Role.TOOL && !msg.toolCallId().isEmpty()) {
            n.put("tool_call_id", msg.toolCallId());
        }
        return n;
    }

    static ObjectNode embedBody(ModelSettings m, java.util.List<String> texts, Boolean truncate, Integer dimensions) {
        ObjectNode body = F.objectNode();
        body.put("model", m.model());
        ArrayNode input = body.putArray("input");
        texts.forEach(input::add);
        if (truncate != null) {
            body.put("truncate", truncate);
        }
        if (dimensions != null) {
            body.put("dimensions", dimensions);
        }
        if (m.keepAlive() != null) {
            body.set("keep_alive", keepAlive(m.keepAlive()));
        }
        ObjectNode options = F.objectNode();
        loadOptions(options, m);
        if (!options.isEmpty()) {
            body.set("options", options);
        }
        return body;
    }

    private static void common(ObjectNode body, ModelSettings m, GenerationOptions o) {
        Map<String, String> b = o.backendOptions("ollama");
        o.responseFormat().ifPresent(f -> {
            if (f.kind() == ResponseFormat.Kind.JSON) {
                body.put("format", "json");
            } else if (f.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
                body.set("format", parseObject(f.schema().orElseThrow(), "JSON schema of the response format"));
            }
        });
        if (b.containsKey(THINK)) {
            body.set("think", think(b.get(THINK)));
        } else if (o.thinkLevel().isPresent()) {
            body.put("think", o.thinkLevel().get().wireName());
        } else {
            o.think().ifPresent(t -> body.put("think", t));
        }
        o.logprobs().ifPresent(l -> body.put("logprobs", l));
        o.topLogprobs().ifPresent(n -> body.put("top_logprobs", n));
        String keepAlive = b.getOrDefault(KEEP_ALIVE, m.keepAlive());
        if (keepAlive != null) {
            body.set("keep_alive", keepAlive(keepAlive));
        }
        ObjectNode options = F.objectNode();
        o.maxTokens().ifPresent(n -> options.put("num_predict", n));
        o.temperature().ifPresent(t -> options.put("temperature", t));
        o.topP().ifPresent(p -> options.put("top_p", p));
        o.topK().ifPresent(k -> options.put("top_k", k));
        o.minP().ifPresent(p -> options.put("min_p", p));
        o.repeatPenalty().ifPresent(p -> options.put("repeat_penalty", p));
        o.seed().ifPresent(s -> options.put("seed", s));
        if (!o.stop().isEmpty()) {
            ArrayNode stop = options.putArray("stop");
            o.stop().forEach(stop::add);
        }
        loadOptions(options, m);
        if (b.containsKey(OPTIONS)) {
            JsonNode raw = parseObject(b.get(OPTIONS), "backend option ollama.options");
            raw.properties().forEach(e -> options.set(e.getKey(), e.getValue()));
        }
        b.forEach((k, v) -> {
            if (!isTopLevel(k)) {
                options.set(k, scalar(v));
            }
        });
        if (!options.isEmpty()) {
            body.set("options", options);
        }
    }

    private static void loadOptions(ObjectNode options, ModelSettings m) {
        if (m.numCtx() != null) {
            options.put("num_ctx", m.numCtx());
        }
        if (m.numGpu() != null) {
            options.put("num_gpu", m.numGpu());
        }
        if (m.numThread() != null) {
            options.put("num_thread", m.numThread());
        }
    }

    static boolean isTopLevel(String key) {
        return switch (key) {
            case KEEP_ALIVE, THINK, RAW, SYSTEM, SUFFIX, TEMPLATE, STREAM, OPTIONS -> true;
            default -> false;
        };
    }

    /** @return a number of seconds as a number, anything else ({@code "5m"}, {@code "-1"}) as text */
    static JsonNode keepAlive(String v) {
        String s = v.strip();
        try {
            return F.numberNode(Long.parseLong(s));
        } catch (NumberFormatException e) {
            return F.textNode(s);
        }
    }

    private static JsonNode think(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("false")) {
            return F.booleanNode(Boolean.parseBoolean(s));
        }
        if (s.isEmpty() || s.length() > 16 || !s.chars().allMatch(c -> c >= 'a' && c <= 'z')) {
            throw new IllegalArgumentException("backend option ollama.think must be true, false or a level such as"
                    + " low, medium or high: '" + (v.length() > 40 ? v.substring(0, 40) + "..." : v) + "'");
        }
        return F.textNode(s);
    }

    static boolean bool(String key, String v) {
        return new OptionValues("ollama option", "Ollama", Map.of(key, v)).bool(key).orElseThrow();
    }

    /** @return the value as a JSON number, boolean, array or object when it reads as one, else as text */
    static JsonNode scalar(String v) {
        String s = v.strip();
        if (!s.isEmpty() && (Character.isDigit(s.charAt(0)) || s.charAt(0) == '-' || s.charAt(0) == '['
                || s.charAt(0) == '{' || s.equals("true") || s.equals("false"))) {
            try {
                return OllamaHttp.JSON.readTree(s);
            } catch (JsonProcessingException e) {
                // plain text after all
            }
        }
        return F.textNode(v);
    }

    static JsonNode parseObject(String json, String what) {
        try {
            JsonNode n = OllamaHttp.JSON.readTree(json);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(what + " must be a JSON object: " + json);
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }
}
