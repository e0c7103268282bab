package io.github.locallm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ThinkLevel;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The OpenAI-compatible API: {@code GET /v1/models}, {@code POST /v1/chat/completions} (SSE streaming
 * with the usage chunk, tools with ids, {@code response_format}), {@code POST /v1/completions},
 * {@code POST /v1/embeddings}, and OpenAI's error shape.
 */
final class OpenAiApi {
    private static final SecureRandom IDS = new SecureRandom();
    /** OpenAI's default for the legacy completions endpoint when {@code max_tokens} is absent. */
    private static final long COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

    private final LlmServer server;
    private final ObjectMapper mapper;

    OpenAiApi(LlmServer server, ObjectMapper mapper) {
        this.server = server;
        this.mapper = mapper;
    }

    void handle(Exchange ex) throws IOException, InterruptedException {
        String p = ex.path;
        if (p.equals("/v1/models")) {
            OllamaApi.requireMethod(ex, "GET");
            ObjectNode root = mapper.createObjectNode();
            root.put("object", "list");
            ArrayNode data = root.putArray("data");
            for (ModelSlot s : server.slots()) {
                data.add(model(s));
            }
            ex.send(200, root);
        } else if (p.startsWith("/v1/models/")) {
            OllamaApi.requireMethod(ex, "GET");
            ex.send(200, model(server.slot(p.substring("/v1/models/".length()))));
        } else if (p.equals("/v1/chat/completions")) {
            OllamaApi.requireMethod(ex, "POST");
            chat(ex);
        } else if (p.equals("/v1/completions")) {
            OllamaApi.requireMethod(ex, "POST");
            completions(ex);
        } else if (p.equals("/v1/embeddings")) {
            OllamaApi.requireMethod(ex, "POST");
            embeddings(ex);
        } else {
            throw HttpError.notFound("no such endpoint: " + ex.method + " " + p);
        }
    }

    private ObjectNode model(ModelSlot s) {
        ObjectNode m = mapper.createObjectNode();
        m.put("id", s.name);
        m.put("object", "model");
        m.put("created", s.loadedAtMillis / 1000);
        m.put("owned_by", "locallm");
        // vLLM's field for the context window, which OpenAI clients of local servers read
        m.put("max_model_len", s.llm.info().contextLength());
        return m;
    }

    /** OpenAI's error shape: {@code {"error": {"message", "type", "param", "code"}}}. */
    ObjectNode errorBody(HttpError e) {
        ObjectNode root = mapper.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type);
        if (e.param == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param);
        }
        if (e.code == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code);
        }
        return root;
    }

    void sendError(Exchange ex, HttpError e) {
        if (e.retryAfterSeconds > 0) {
            ex.response.getHeaders().put("Retry-After", Integer.toString(e.retryAfterSeconds));
        }
        ex.send(e.status, errorBody(e));
    }

    // ---- request fields ----

    private GenerationOptions.Builder common(JsonNode body, String maxField, Long defaultMax) {
        GenerationOptions.Builder b = GenerationOptions.builder();
        Long n = Conversions.integer(body, "n");
        if (n != null && n != 1) {
            throw HttpError.unsupported("n", "only n=1 is supported: " + n);
        }
        JsonNode logprobs = body.get("logprobs");
        if (logprobs != null && !logprobs.isNull() && !(logprobs.isBoolean() && !logprobs.asBoolean())) {
            throw HttpError.unsupported("logprobs", "'logprobs' is not supported by this server");
        }
        Long max = Conversions.integer(body, "max_completion_tokens");
        String field = "max_completion_tokens";
        if (max == null) {
            max = Conversions.integer(body, maxField);
            field = maxField;
        }
        if (max == null && defaultMax != null) {
            max = Math.min(defaultMax, server.bounds().maxTokens());
        }
        Conversions.maxTokens(b, max, field, server.bounds());
        try {
            // top_k, min_p and repeat_penalty (or repetition_penalty): fields llama.cpp's server and vLLM accept
            Conversions.sampling(b, body, "stop", "repetition_penalty");
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        return b;
    }

    private void responseFormat(GenerationOptions.Builder b, JsonNode rf) {
        if (rf == null || rf.isNull()) {
            return;
        }
        String type = Conversions.requiredText(rf, "type");
        switch (type) {
            case "text":
                return;
            case "json_object":
                b.responseFormat(ResponseFormat.JSON);
                return;
            case "json_schema":
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw HttpError.badRequest("response_format", "'response_format.json_schema' must be an object");
                }
                b.responseFormat(Conversions.schemaFormat(js.get("schema"), "response_format.json_schema.schema"));
                return;
            default:
                throw HttpError.badRequest("response_format", "unknown response_format type: '" + type + "'");
        }
    }

    private List<ChatMessage> messages(JsonNode body) {
        JsonNode arr = body.get("messages");
        if (arr == null || !arr.isArray() || arr.isEmpty()) {
            throw HttpError.badRequest("messages", "'messages' must be a non-empty array");
        }
        Map<String, String> callNames = new HashMap<>();
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : arr) {
            if (!m.isObject()) {
                throw HttpError.badRequest("messages", "each message must be an object");
            }
            ChatMessage.Role role = Conversions.role(Conversions.text(m, "role"));
            StringBuilder text = new StringBuilder();
            List<String> images = new ArrayList<>();
            JsonNode content = m.get("content");
            if (content == null || content.isNull()) {
                // an assistant message that only calls tools
            } else if (content.isTextual()) {
                text.append(content.asText());
            } else if (content.isArray()) {
                for (JsonNode part : content) {
                    String type = Conversions.requiredText(part, "type");
                    if (type.equals("text")) {
                        text.append(Conversions.requiredText(part, "text"));
                    } else if (type.equals("image_url")) {
                        String url = part.path("image_url").isTextual() ? part.get("image_url").asText()
                                : Conversions.requiredText(part.path("image_url"), "url");
                        images.add(dataUrl(url));
                    } else {
                        throw HttpError.unsupported("messages", "unsupported content part type: '" + type + "'");
                    }
                }
            } else {
                throw HttpError.badRequest("messages", "'content' must be a string or an array of parts");
            }
            List<ToolCall> calls = Conversions.toolCalls(m.get("tool_calls"), mapper);
            for (ToolCall c : calls) {
                if (!c.id().isEmpty()) {
                    callNames.put(c.id(), c.name());
                }
            }
            String callId = Conversions.text(m, "tool_call_id");
            String name = Conversions.text(m, "name");
            if (role == ChatMessage.Role.TOOL && name == null && callId != null) {
                name = callNames.get(callId);
            }
            out.add(new ChatMessage(role, text.toString(), calls, images, name == null ? "" : name,
                    callId == null ? "" : callId));
        }
        return out;
    }

    /** Images travel inline only: the server never fetches a URL a client names. */
    private static String dataUrl(String url) {
        int comma = url.indexOf(',');
        if (!url.startsWith("data:") || comma < 0 || !url.substring(0, comma).endsWith(";base64")) {
            throw HttpError.unsupported("messages", "images must be inline base64 data URLs "
                    + "(data:image/png;base64,...); this server does not fetch URLs");
        }
        return url.substring(comma + 1);
    }

    /** The request's {@code tool_choice}: a mode name or {@code {"type":"function","function":{"name":...}}}. */
    private static ToolChoice toolChoice(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            switch (node.asText()) {
                case "auto":
                    return ToolChoice.AUTO;
                case "none":
                    return ToolChoice.NONE;
                case "required":
                    return ToolChoice.REQUIRED;
                default:
                    break;
            }
        } else if (node.isObject() && node.path("type").asText("").equals("function")
                && node.path("function").path("name").isTextual()
                && !node.path("function").path("name").asText().isBlank()) {
            return ToolChoice.function(node.path("function").path("name").asText());
        }
        throw HttpError.unsupported("tool_choice", "'tool_choice' may be \"auto\", \"none\", \"required\" or "
                + "{\"type\": \"function\", \"function\": {\"name\": ...}}");
    }

    private static String newId(String prefix) {
        byte[] b = new byte[12];
        IDS.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    // ---- chat ----

    private void chat(Exchange ex) throws IOException, InterruptedException {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        List<ChatMessage> messages = messages(body);
        Conversions.checkPrompt(messages, server.bounds());
        GenerationOptions.Builder b = common(body, "max_tokens", null);
        responseFormat(b, body.get("response_format"));
        ToolChoice toolChoice = toolChoice(body.get("tool_choice"));
        if (toolChoice != ToolChoice.NONE) {
            Conversions.tools(b, body.get("tools"), mapper);
        }
        if (toolChoice != null && toolChoice.forcesCall()) {
            // the in-process engines force a tool call with a grammar; other backends cannot promise one
            if (!slot.llm.info().supports(Capability.TOOL_CHOICE)) {
                throw HttpError.unsupported("tool_choice", "'tool_choice' " + toolChoice + " needs a model that can "
                        + "force a tool call (llamacpp, djl); model '" + slot.name + "' runs on "
                        + slot.llm.info().backend());
            }
            String named = toolChoice.function().orElse(null);
            if (named != null && Conversions.build(b).tools().stream().noneMatch(t -> t.name().equals(named))) {
                throw HttpError.badRequest("tool_choice", "'tool_choice' names function '" + named
                        + "', which is not among the request's tools");
            }
            b.toolChoice(toolChoice);
        }
        String effort = Conversions.text(body, "reasoning_effort");
        if (effort != null && slot.llm.info().supports(Capability.THINKING)) {
            String e = effort.strip().toLowerCase(Locale.ROOT);
            if (e.equals("none") || e.equals("minimal")) {
                b.think(false);
            } else {
                try {
                    b.think(ThinkLevel.parse(e));
                } catch (IllegalArgumentException bad) {
                    throw HttpError.badRequest("reasoning_effort", "'reasoning_effort' must be none, minimal, low, "
                            + "medium or high: " + effort);
                }
            }
        }
        GenerationOptions options = Conversions.build(b);
        boolean stream = Conversions.bool(body, "stream", false);
        boolean usage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
        String id = newId("chatcmpl-");
        long created = System.currentTimeMillis() / 1000;
        try (Run run = Run.chat(server, slot, messages, options)) {
            if (!stream) {
                Completion c = run.awaitAnswer(ex);
                ObjectNode root = head(id, "chat.completion", created, slot);
                ObjectNode choice = root.putArray("choices").addObject();
                choice.put("index", 0);
                ObjectNode msg = choice.putObject("message");
                msg.put("role", "assistant");
                if (c.text().isEmpty() && !c.toolCalls().isEmpty()) {
                    msg.putNull("content");
                } else {
                    msg.put("content", c.text());
                }
                if (!c.thinking().isEmpty()) {
                    msg.put("reasoning_content", c.thinking());
                }
                if (!c.toolCalls().isEmpty()) {
                    toolCalls(msg.putArray("tool_calls"), c.toolCalls(), false);
                }
                choice.putNull("logprobs");
                choice.put("finish_reason", Conversions.openAiFinish(c.finishReason()));
                root.set("usage", usageNode(c.usage().promptTokens(), c.usage().completionTokens()));
                ex.send(200, root);
                return;
            }
            ObjectNode first = chunk(id, created, slot, usage);
            delta(first).put("role", "assistant").put("content", "");
            sse(ex, run, head(id, "chat.completion.chunk", created, slot), usage, List.of(first), e -> {
                if (e instanceof Run.Token t) {
                    ObjectNode c = chunk(id, created, slot, usage);
                    delta(c).put("content", t.text());
                    return List.of(c);
                }
                if (e instanceof Run.Thinking t) {
                    ObjectNode c = chunk(id, created, slot, usage);
                    delta(c).put("reasoning_content", t.text());
                    return List.of(c);
                }
                Completion done = ((Run.Done) e).completion();
                List<ObjectNode> last = new ArrayList<>();
                if (!done.toolCalls().isEmpty()) {
                    ObjectNode c = chunk(id, created, slot, usage);
                    toolCalls(delta(c).putArray("tool_calls"), done.toolCalls(), true);
                    last.add(c);
                }
                ObjectNode fin = chunk(id, created, slot, usage);
                choice(fin).put("finish_reason", Conversions.openAiFinish(done.finishReason()));
                last.add(fin);
                return last;
            });
        }
    }

    /**
     * Streams a run as server-sent events: the opening chunks, the chunks {@code pieces} makes of each token,
     * thinking piece and of the end, the usage chunk when asked for, an error object when the generation
     * failed, then {@code data: [DONE]}. A client that goes away cancels the run.
     *
     * @param usageHead the head of the usage chunk (id, object, created, model)
     * @param pieces the chunks of one event ({@link Run.Token}, {@link Run.Thinking} or {@link Run.Done})
     */
    private void sse(Exchange ex, Run run, ObjectNode usageHead, boolean usage, List<ObjectNode> opening,
                     java.util.function.Function<Run.Event, List<ObjectNode>> pieces)
            throws IOException, InterruptedException {
        OutputStream out = ex.startStream("text/event-stream");
        try {
            for (ObjectNode n : opening) {
                event(ex, out, n);
            }
            while (true) {
                Run.Event e = run.next();
                if (e instanceof Run.Failed f) {
                    event(ex, out, errorBody(Conversions.toHttp(f.error())));
                    break;
                }
                for (ObjectNode n : pieces.apply(e)) {
                    event(ex, out, n);
                }
                if (e instanceof Run.Done d) {
                    if (usage) {
                        usageHead.putArray("choices");
                        usageHead.set("usage", usageNode(d.completion().usage().promptTokens(),
                                d.completion().usage().completionTokens()));
                        event(ex, out, usageHead);
                    }
                    break;
                }
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            ex.endStream();
        } catch (IOException e) {
            run.cancel();
            throw e;
        }
    }

    private ObjectNode head(String id, String object, long created, ModelSlot slot) {
        ObjectNode n = mapper.createObjectNode();
        n.put("id", id);
        n.put("object", object);
        n.put("created", created);
        n.put("model", slot.name);
        return n;
    }

    private ObjectNode chunk(String id, long created, ModelSlot slot, boolean usage) {
        ObjectNode n = head(id, "chat.completion.chunk", created, slot);
        ObjectNode choice = n.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putObject("delta");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (usage) {
            n.putNull("usage");
        }
        return n;
    }

    private static ObjectNode choice(ObjectNode chunk) {
        return (ObjectNode) chunk.get("choices").get(0);
    }

    private static ObjectNode delta(ObjectNode chunk) {
        return (ObjectNode) choice(chunk).get("delta");
    }

    private void toolCalls(ArrayNode arr, List<ToolCall> calls, boolean indexed) {
        int i = 0;
        for (ToolCall c : calls) {
            ObjectNode o = arr.addObject();
            if (indexed) {
                o.put("index", i);
            }
            i++;
            o.put("id", c.id().isEmpty() ? newId("call_") : c.id());
            o.put("type", "function");
            ObjectNode f = o.putObject("function");
            f.put("name", c.name());
            f.put("arguments", c.argumentsJson());
        }
    }

    private ObjectNode usageNode(int prompt, int completion) {
        ObjectNode u = mapper.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    private void event(Exchange ex, OutputStream out, ObjectNode node) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.US_ASCII));
        out.write(ex.json(node));
        out.write("\n\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    // ---- completions ----

    private void completions(Exchange ex) throws IOException, InterruptedException {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        JsonNode p = body.get("prompt");
        String prompt;
        if (p != null && p.isTextual()) {
            prompt = p.asText();
        } else if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = p.get(0).asText();
        } else {
            throw HttpError.badRequest("prompt", "'prompt' must be a string (or an array of one string)");
        }
        String suffix = Conversions.text(body, "suffix");
        boolean fim = suffix != null && !suffix.isEmpty();
        if (fim && !slot.llm.info().supports(Capability.FILL_IN_MIDDLE)) {
            throw HttpError.badRequest("suffix", "model '" + slot.name + "' cannot fill in the middle ('suffix'): "
                    + "that needs a model with fill-in-the-middle tokens");
        }
        Long bestOf = Conversions.integer(body, "best_of");
        if (bestOf != null && bestOf != 1) {
            throw HttpError.unsupported("best_of", "only best_of=1 is supported");
        }
        Conversions.checkPrompt((long) prompt.length() + (fim ? suffix.length() : 0), server.bounds());
        boolean echo = Conversions.bool(body, "echo", false);
        GenerationOptions.Builder b = common(body, "max_tokens", COMPLETIONS_DEFAULT_MAX_TOKENS);
        if (fim) {
            b.suffix(suffix);
        }
        // as llama.cpp's server and vLLM do, a raw completion honours response_format too
        responseFormat(b, body.get("response_format"));
        GenerationOptions options = Conversions.build(b);
        boolean stream = Conversions.bool(body, "stream", false);
        boolean usage = stream && body.path("stream_options").path("include_usage").asBoolean(false);
        String id = newId("cmpl-");
        long created = System.currentTimeMillis() / 1000;
        try (Run run = Run.completion(server, slot, prompt, options)) {
            if (!stream) {
                Completion c = run.awaitAnswer(ex);
                ObjectNode root = head(id, "text_completion", created, slot);
                ObjectNode choice = root.putArray("choices").addObject();
                choice.put("text", echo ? prompt + c.text() : c.text());
                choice.put("index", 0);
                choice.putNull("logprobs");
                choice.put("finish_reason", Conversions.openAiFinish(c.finishReason()));
                root.set("usage", usageNode(c.usage().promptTokens(), c.usage().completionTokens()));
                ex.send(200, root);
                return;
            }
            List<ObjectNode> opening = echo ? List.of(textChunk(id, created, slot, prompt, null, usage)) : List.of();
            sse(ex, run, head(id, "text_completion", created, slot), usage, opening, e -> {
                if (e instanceof Run.Token t) {
                    return List.of(textChunk(id, created, slot, t.text(), null, usage));
                }
                if (e instanceof Run.Done d) {
                    return List.of(textChunk(id, created, slot, "", Conversions.openAiFinish(d.completion().finishReason()),
                            usage));
                }
                // a raw completion streams no reasoning
                return List.of();
            });
        }
    }

    private ObjectNode textChunk(String id, long created, ModelSlot slot, String text, String finish, boolean usage) {
        ObjectNode n = head(id, "text_completion", created, slot);
        ObjectNode choice = n.putArray("choices").addObject();
        choice.put("text", text);
        choice.put("index", 0);
        choice.putNull("logprobs");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        if (usage) {
            n.putNull("usage");
        }
        return n;
    }

    // ---- embeddings ----

    private void embeddings(Exchange ex) {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        if (body.hasNonNull("dimensions")) {
            throw HttpError.unsupported("dimensions", "'dimensions' is not supported: the model's own size is used");
        }
        String encoding = Conversions.text(body, "encoding_format");
        boolean base64 = "base64".equals(encoding);
        if (encoding != null && !base64 && !encoding.equals("float")) {
            throw HttpError.badRequest("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
        }
        List<String> inputs = Embeddings.inputs(body.get("input"), "input", server.bounds());
        Embeddings.Result r = Embeddings.run(server, slot, inputs, ex);
        ObjectNode root = mapper.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < r.vectors().size(); i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            float[] v = r.vectors().get(i);
            if (base64) {
                ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    buf.putFloat(f);
                }
                e.put("embedding", Base64.getEncoder().encodeToString(buf.array()));
            } else {
                ArrayNode a = e.putArray("embedding");
                for (float f : v) {
                    a.add(f);
                }
            }
            e.put("index", i);
        }
        root.put("model", slot.name);
        ObjectNode u = root.putObject("usage");
        u.put("prompt_tokens", r.promptTokens());
        u.put("total_tokens", r.promptTokens());
        ex.send(200, root);
    }
}
