package io.github.locallm.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ResponseFormat;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import io.github.locallm.ToolSpec;
import io.github.locallm.http.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The OpenAI-compatible wire format: request bodies for {@code /v1/chat/completions},
 * {@code /v1/completions} and {@code /v1/embeddings} built from {@link GenerationOptions}, and the
 * pieces of answers (finish reasons, tool-call deltas).
 *
 * <p>Standard fields go to every server; the sampling extensions ({@code top_k}, {@code min_p}, a repeat
 * penalty) only to servers that take them, under the name each uses; per-call options of the namespace
 * {@code openai} are copied into the body as they are.
 */
final class WireFormat {
    static final ObjectMapper JSON = Json.MAPPER;
    /** Namespace of per-call options: {@code backendOption("openai", key, value)}. */
    static final String NAMESPACE = "openai";
    /** Per-call option: {@code false} asks for one JSON answer instead of a stream. */
    static final String STREAM = "stream";

    private WireFormat() {
    }

    /** What a request body depends on besides the options. */
    record Target(String model, ServerKind server, boolean streamUsage) {
    }

    static ObjectNode chatBody(Target t, List<ChatMessage> messages, GenerationOptions o, boolean stream) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", t.model());
        ArrayNode list = body.putArray("messages");
        for (ChatMessage m : messages) {
            list.add(message(m));
        }
        sampling(body, t, o, stream);
        o.responseFormat().ifPresent(f -> responseFormat(body, f, t.server()));
        if (!o.tools().isEmpty()) {
            ArrayNode tools = body.putArray("tools");
            for (ToolSpec spec : o.tools()) {
                ObjectNode tool = tools.addObject();
                tool.put("type", "function");
                ObjectNode fn = tool.putObject("function");
                fn.put("name", spec.name());
                if (!spec.description().isEmpty()) {
                    fn.put("description", spec.description());
                }
                fn.set("parameters", parseObject(spec.parametersSchema(), "parameters schema of tool " + spec.name()));
            }
            o.toolChoice().ifPresent(choice -> body.set("tool_choice", toolChoice(choice)));
        }
        o.think().ifPresent(think -> {
            if (t.server().templateKwargs()) {
                body.putObject("chat_template_kwargs").put("enable_thinking", think);
            } else if (t.server() == ServerKind.OLLAMA && !think) {
                body.put("reasoning_effort", "none");
            }
        });
        // a level is the API's reasoning_effort (gpt-oss and other models that take one)
        o.thinkLevel().ifPresent(level -> body.put("reasoning_effort", level.wireName()));
        if (o.logprobs().orElse(false)) {
            body.put("logprobs", true);
            o.topLogprobs().ifPresent(n -> body.put("top_logprobs", n));
        }
        extras(body, o);
        return body;
    }

    static ObjectNode completionBody(Target t, String prompt, GenerationOptions o, boolean stream) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", t.model());
        body.put("prompt", prompt);
        sampling(body, t, o, stream);
        o.responseFormat().ifPresent(f -> responseFormat(body, f, t.server()));
        if (o.logprobs().orElse(false)) {
            // the completions API takes the number of alternatives here
            body.put("logprobs", o.topLogprobs().orElse(0));
        }
        extras(body, o);
        return body;
    }

    static ObjectNode embeddingsBody(String model, List<String> texts) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model);
        ArrayNode input = body.putArray("input");
        texts.forEach(input::add);
        body.put("encoding_format", "float");
        return body;
    }

    private static ObjectNode message(ChatMessage m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("role", m.role().wireName());
        if (m.images().isEmpty()) {
            n.put("content", m.content());
        } else {
            ArrayNode parts = n.putArray("content");
            if (!m.content().isEmpty()) {
                parts.addObject().put("type", "text").put("text", m.content());
            }
            for (String image : m.images()) {
                ObjectNode part = parts.addObject().put("type", "image_url");
                String url = image.startsWith("data:") || image.startsWith("http://") || image.startsWith("https://")
                        ? image : "data:" + mediaType(image) + ";base64," + image;
                part.putObject("image_url").put("url", url);
            }
        }
        if (!m.toolCalls().isEmpty()) {
            ArrayNode calls = n.putArray("tool_calls");
            for (ToolCall c : m.toolCalls()) {
                ObjectNode call = calls.addObject();
                if (!c.id().isEmpty()) {
                    call.put("id", c.id());
                }
                call.put("type", "function");
                // the API carries arguments as a JSON text, not an object
                call.putObject("function").put("name", c.name()).put("arguments", c.argumentsJson());
            }
        }
        if (m.role() == ChatMessage.Role.TOOL) {
            if (!m.toolCallId().isEmpty()) {
                n.put("tool_call_id", m.toolCallId());
            } else if (!m.name().isEmpty()) {
                n.put("name", m.name());
            }
        } else if (!m.name().isEmpty() && m.role() == ChatMessage.Role.USER) {
            n.put("name", m.name());
        }
        return n;
    }

    private static String mediaType(String base64) {
        if (base64.startsWith("iVBOR")) {
            return "image/png";
        }
        if (base64.startsWith("/9j/")) {
            return "image/jpeg";
        }
        if (base64.startsWith("R0lG")) {
            return "image/gif";
        }
        if (base64.startsWith("UklG")) {
            return "image/webp";
        }
        return "image/png";
    }

    private static void sampling(ObjectNode body, Target t, GenerationOptions o, boolean stream) {
        body.put("stream", stream);
        if (stream && t.streamUsage()) {
            body.putObject("stream_options").put("include_usage", true);
        }
        o.maxTokens().ifPresent(n -> body.put("max_tokens", n));
        o.temperature().ifPresent(v -> body.put("temperature", v));
        o.topP().ifPresent(v -> body.put("top_p", v));
        o.seed().ifPresent(v -> body.put("seed", v));
        if (!o.stop().isEmpty()) {
            ArrayNode stop = body.putArray("stop");
            o.stop().forEach(stop::add);
        }
        ServerKind server = t.server();
        if (server.samplingExtensions()) {
            o.topK().ifPresent(v -> body.put("top_k", v));
            o.minP().ifPresent(v -> body.put("min_p", v));
        }
        if (server.repeatPenaltyField() != null) {
            o.repeatPenalty().ifPresent(v -> body.put(server.repeatPenaltyField(), v));
        }
    }

    private static void responseFormat(ObjectNode body, ResponseFormat f, ServerKind server) {
        switch (f.kind()) {
            case TEXT -> {
                // the default; nothing to send
            }
            case JSON -> {
                if (server == ServerKind.LM_STUDIO) {
                    // LM Studio takes only json_schema; an empty schema admits any JSON value
                    schema(body, "{}");
                } else {
                    body.putObject("response_format").put("type", "json_object");
                }
            }
            case JSON_SCHEMA -> schema(body, f.schema().orElseThrow());
        }
    }

    private static void schema(ObjectNode body, String schema) {
        ObjectNode rf = body.putObject("response_format");
        rf.put("type", "json_schema");
        ObjectNode js = rf.putObject("json_schema");
        js.put("name", "response");
        js.set("schema", parseObject(schema, "JSON schema"));
    }

    /** The API's {@code tool_choice}: {@code "auto"}, {@code "none"}, {@code "required"} or one named function. */
    static JsonNode toolChoice(ToolChoice choice) {
        if (choice.function().isPresent()) {
            ObjectNode named = JSON.createObjectNode().put("type", "function");
            named.putObject("function").put("name", choice.function().get());
            return named;
        }
        return JSON.getNodeFactory().textNode(choice.mode().name().toLowerCase(java.util.Locale.ROOT));
    }

    /** Request fields that {@link GenerationOptions} and the request itself set; an extra must not replace them. */
    static final Map<String, String> RESERVED = Map.ofEntries(
            Map.entry("model", "the model of the spec"), Map.entry("messages", "chat(...)"),
            Map.entry("prompt", "generate(...)"), Map.entry("input", "embed(...)"),
            Map.entry("stream_options", "the setting stream_usage"), Map.entry("max_tokens", "maxTokens(...)"),
            Map.entry("max_completion_tokens", "maxTokens(...)"), Map.entry("temperature", "temperature(...)"),
            Map.entry("top_p", "topP(...)"), Map.entry("top_k", "topK(...)"), Map.entry("min_p", "minP(...)"),
            Map.entry("repeat_penalty", "repeatPenalty(...)"), Map.entry("repetition_penalty", "repeatPenalty(...)"),
            Map.entry("seed", "seed(...)"), Map.entry("stop", "stop(...)"),
            Map.entry("response_format", "responseFormat(...)"), Map.entry("tools", "tool(...)"),
            Map.entry("tool_choice", "toolChoice(...)"),
            Map.entry("logprobs", "logprobs(...)"), Map.entry("top_logprobs", "topLogprobs(...)"));

    /**
     * Copies the per-call options of the {@code openai} namespace into the body; their values are JSON if they
     * parse. Any other field may be given (servers take many extensions), except one that would replace what
     * {@link GenerationOptions} sets.
     */
    private static void extras(ObjectNode body, GenerationOptions o) {
        for (Map.Entry<String, String> e : o.backendOptions(NAMESPACE).entrySet()) {
            if (e.getKey().equals(STREAM)) {
                continue;
            }
            String owner = RESERVED.get(e.getKey());
            if (owner != null) {
                throw new IllegalArgumentException("openai option [" + e.getKey() + "] would replace a field that is "
                        + "set with GenerationOptions or the call (" + owner + "); set it there instead");
            }
            body.set(e.getKey(), jsonOrText(e.getValue()));
        }
    }

    static JsonNode jsonOrText(String value) {
        try {
            JsonNode n = JSON.readTree(value);
            if (n != null && !n.isMissingNode()) {
                return n;
            }
        } catch (JsonProcessingException e) {
            // plain text
        }
        return JSON.getNodeFactory().textNode(value);
    }

    static ObjectNode parseObject(String json, String what) {
        try {
            JsonNode n = JSON.readTree(json);
            if (n instanceof ObjectNode obj) {
                return obj;
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        throw new IllegalArgumentException(what + " must be a JSON object: " + snippet(json));
    }

    /**
     * @param raw the server's {@code finish_reason}, or {@code null}
     * @param toolCalls whether the answer holds tool calls
     * @return the finish reason
     */
    static FinishReason finish(String raw, boolean toolCalls) {
        if (toolCalls || "tool_calls".equals(raw) || "function_call".equals(raw)) {
            return toolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
        }
        return "length".equals(raw) ? FinishReason.LENGTH : FinishReason.STOP;
    }

    /**
     * Reads the log probabilities of a choice: the chat shape ({@code logprobs.content}: token, logprob,
     * bytes, top_logprobs) or the completions shape ({@code logprobs.tokens}, {@code token_logprobs},
     * {@code top_logprobs} as maps).
     *
     * @param logprobs the {@code logprobs} of a choice
     * @return the entries, empty when there are none
     */
    static List<TokenLogprob> logprobs(JsonNode logprobs) {
        List<TokenLogprob> out = new ArrayList<>();
        if (logprobs == null || !logprobs.isObject()) {
            return out;
        }
        if (logprobs.path("content").isArray()) {
            for (JsonNode e : logprobs.get("content")) {
                TokenLogprob main = entry(e);
                if (main == null) {
                    continue;
                }
                List<TokenLogprob> top = new ArrayList<>();
                for (JsonNode alt : e.path("top_logprobs")) {
                    TokenLogprob a = entry(alt);
                    if (a != null) {
                        top.add(a);
                    }
                }
                out.add(new TokenLogprob(main.token(), main.logprob(), main.bytes(), top));
            }
            return out;
        }
        JsonNode tokens = logprobs.path("tokens");
        JsonNode values = logprobs.path("token_logprobs");
        JsonNode tops = logprobs.path("top_logprobs");
        for (int i = 0; i < tokens.size() && i < values.size(); i++) {
            if (!tokens.get(i).isTextual() || !values.get(i).isNumber()) {
                continue;
            }
            List<TokenLogprob> top = new ArrayList<>();
            JsonNode alternatives = tops.path(i);
            if (alternatives.isObject()) {
                for (Map.Entry<String, JsonNode> f : alternatives.properties()) {
                    if (f.getValue().isNumber()) {
                        top.add(TokenLogprob.of(f.getKey(), f.getValue().asDouble()));
                    }
                }
                top.sort((a, b) -> Double.compare(b.logprob(), a.logprob()));
            }
            out.add(new TokenLogprob(tokens.get(i).asText(), values.get(i).asDouble(), List.of(), top));
        }
        return out;
    }

    private static TokenLogprob entry(JsonNode e) {
        if (!e.path("token").isTextual() || !e.path("logprob").isNumber()) {
            return null;
        }
        List<Integer> bytes = new ArrayList<>();
        for (JsonNode b : e.path("bytes")) {
            if (!b.canConvertToInt() || b.asInt() < 0 || b.asInt() > 255) {
                return TokenLogprob.of(e.get("token").asText(), e.get("logprob").asDouble());
            }
            bytes.add(b.asInt());
        }
        return new TokenLogprob(e.get("token").asText(), e.get("logprob").asDouble(), bytes, List.of());
    }

    static String snippet(String text) {
        String t = text.strip().replaceAll("\\s+", " ");
        return "'" + (t.length() > 200 ? t.substring(0, 200) + "..." : t) + "'";
    }

    /**
     * Assembles tool calls from streamed deltas: each delta names the call by {@code index}; the first carries
     * the id and the function name, later ones fragments of the arguments text. A whole (non-streamed)
     * message goes through the same path with one delta per call.
     *
     * <p>Not thread-safe: one per answer.
     */
    static final class ToolCalls {
        private static final class Partial {
            String id = "";
            final StringBuilder name = new StringBuilder();
            final StringBuilder arguments = new StringBuilder();
        }

        private final TreeMap<Integer, Partial> calls = new TreeMap<>();
        private final long maxChars;
        private long chars;

        ToolCalls(long maxChars) {
            this.maxChars = maxChars;
        }

        boolean isEmpty() {
            return calls.isEmpty();
        }

        /** @param deltas the {@code tool_calls} array of a delta or message */
        void add(JsonNode deltas) {
            int position = 0;
            for (JsonNode d : deltas) {
                int index = d.has("index") && d.get("index").canConvertToInt() ? d.get("index").intValue()
                        : indexOf(d.path("id").asText(""), position);
                position++;
                Partial p = calls.computeIfAbsent(index, i -> new Partial());
                String id = d.path("id").asText("");
                if (!id.isEmpty()) {
                    p.id = id;
                }
                JsonNode fn = d.path("function");
                String name = fn.path("name").asText("");
                if (!name.isEmpty() && !p.name.toString().equals(name)) {
                    p.name.append(name);
                }
                JsonNode args = fn.path("arguments");
                String piece;
                if (args.isObject()) {
                    // a server that sends arguments as an object rather than as text
                    piece = args.toString();
                } else {
                    piece = args.isNull() || args.isMissingNode() ? "" : args.asText("");
                }
                chars += piece.length() + name.length();
                if (chars > maxChars) {
                    throw new LlmException("The server sent tool calls longer than " + maxChars
                            + " characters; the answer was stopped (setting max_line_bytes).");
                }
                p.arguments.append(piece);
            }
        }

        private int indexOf(String id, int position) {
            if (!id.isEmpty()) {
                for (Map.Entry<Integer, Partial> e : calls.entrySet()) {
                    if (e.getValue().id.equals(id)) {
                        return e.getKey();
                    }
                }
                return calls.isEmpty() ? 0 : calls.lastKey() + 1;
            }
            // no index and no id: a whole message lists its calls in order
            return position;
        }

        /**
         * @param idPrefix prefix of ids made up for calls the server sent without one
         * @return the calls, arguments checked to be a JSON object
         */
        List<ToolCall> build(String idPrefix) {
            List<ToolCall> out = new ArrayList<>();
            int n = 0;
            for (Partial p : calls.values()) {
                String name = p.name.toString();
                if (name.isEmpty()) {
                    throw new LlmException("The server sent a tool call without a function name: "
                            + snippet(p.arguments.toString()));
                }
                String args = p.arguments.toString().strip();
                String json = args.isEmpty() ? "{}" : parseArguments(args, name);
                String id = p.id.isEmpty() ? idPrefix + n : p.id;
                out.add(new ToolCall(id, name, json));
                n++;
            }
            return out;
        }

        private static String parseArguments(String args, String name) {
            try {
                JsonNode node = JSON.readTree(args);
                if (node != null && node.isObject()) {
                    return node.toString();
                }
            } catch (JsonProcessingException e) {
                throw new LlmException("The model called tool '" + name + "' with arguments that are not JSON: "
                        + snippet(args) + ". Retry, or use a model or server with better tool-call support.", e);
            }
            throw new LlmException("The model called tool '" + name + "' with arguments that are not a JSON "
                    + "object: " + snippet(args));
        }
    }
}
