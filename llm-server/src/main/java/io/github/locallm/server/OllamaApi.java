package io.github.locallm.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ThinkLevel;
import io.github.locallm.ToolCall;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The Ollama API: {@code /api/version}, {@code /api/tags}, {@code /api/ps}, {@code /api/show},
 * {@code /api/generate}, {@code /api/chat} (NDJSON streaming), {@code /api/embed} and the legacy
 * {@code /api/embeddings}; the model management endpoints answer with Ollama's error shape because the
 * models are named in the server's configuration.
 */
final class OllamaApi {
    /** The Ollama API level this server implements, for clients that check it. */
    static final String API_VERSION = "0.12.0";
    /** The detail where a backend gives its chat template's text. */
    static final String TEMPLATE_TEXT = "chat_template_text";
    /** The detail where a backend gives the upstream Modelfile's parameters. */
    static final String MODELFILE_PARAMETERS = "modelfile_parameters";
    /** The detail where a backend gives its sampling defaults, {@code name value} lines in Ollama's names. */
    static final String SAMPLING_DEFAULTS = "sampling_defaults";
    /** The detail where a backend gives the texts of its end tokens, one per line. */
    static final String STOP_TOKENS = "stop_tokens";

    private final LlmServer server;
    private final ObjectMapper mapper;

    OllamaApi(LlmServer server, ObjectMapper mapper) {
        this.server = server;
        this.mapper = mapper;
    }

    void handle(Exchange ex) throws IOException, InterruptedException {
        String p = ex.path;
        switch (p) {
            case "/api/version":
                requireMethod(ex, "GET");
                ex.send(200, mapper.createObjectNode().put("version", API_VERSION));
                return;
            case "/api/tags":
                requireMethod(ex, "GET");
                tags(ex, false);
                return;
            case "/api/ps":
                requireMethod(ex, "GET");
                tags(ex, true);
                return;
            case "/api/show":
                requireMethod(ex, "POST");
                show(ex);
                return;
            case "/api/generate":
                requireMethod(ex, "POST");
                generate(ex);
                return;
            case "/api/chat":
                requireMethod(ex, "POST");
                chat(ex);
                return;
            case "/api/embed":
                requireMethod(ex, "POST");
                embed(ex, false);
                return;
            case "/api/embeddings":
                requireMethod(ex, "POST");
                embed(ex, true);
                return;
            case "/api/pull":
                requireMethod(ex, "POST");
                pull(ex);
                return;
            case "/api/push", "/api/create", "/api/copy", "/api/delete":
                throw HttpError.forbidden("model management is not available here: this server serves the models "
                        + "named in its configuration (" + server.modelNames() + ")");
            default:
                if (p.startsWith("/api/blobs/")) {
                    throw HttpError.forbidden("model management is not available here: this server serves the "
                            + "models named in its configuration");
                }
                throw HttpError.notFound("no such endpoint: " + ex.method + " " + p);
        }
    }

    static void requireMethod(Exchange ex, String method) {
        if (!ex.method.equals(method) && !(method.equals("GET") && ex.method.equals("HEAD"))) {
            throw HttpError.methodNotAllowed(ex.method, ex.path);
        }
    }

    /** Ollama's error shape: {@code {"error": "..."}}. */
    void sendError(Exchange ex, HttpError e) {
        if (e.retryAfterSeconds > 0) {
            ex.response.getHeaders().put("Retry-After", Integer.toString(e.retryAfterSeconds));
        }
        ex.send(e.status, mapper.createObjectNode().put("error", e.getMessage()));
    }

    // ---- listing ----

    private void tags(Exchange ex, boolean running) {
        ObjectNode root = mapper.createObjectNode();
        ArrayNode models = root.putArray("models");
        for (ModelSlot s : server.slots()) {
            ObjectNode m = models.addObject();
            m.put("name", s.name);
            m.put("model", s.name);
            if (!running) {
                m.put("modified_at", Instant.ofEpochMilli(s.loadedAtMillis).toString());
            }
            m.put("size", 0);
            m.put("digest", digest(s));
            m.set("details", details(s.llm.info()));
            if (running) {
                m.put("expires_at", Instant.now().plus(36500, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS)
                        .toString());
                m.put("size_vram", 0);
                m.put("context_length", s.llm.info().contextLength());
            }
        }
        ex.send(200, root);
    }

    private static String digest(ModelSlot s) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(d.digest((s.name + "\n" + s.llm.info().model())
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private ObjectNode details(ModelInfo info) {
        ObjectNode d = mapper.createObjectNode();
        String family = info.details().getOrDefault("architecture", info.backend());
        d.put("parent_model", "");
        d.put("format", info.backend().equals("llamacpp") ? "gguf" : info.backend());
        d.put("family", family);
        d.putArray("families").add(family);
        d.put("parameter_size", info.details().getOrDefault("parameter_size", ""));
        d.put("quantization_level", info.details().getOrDefault("quantization", ""));
        return d;
    }

    private void show(Exchange ex) {
        JsonNode body = ex.body();
        String name = Conversions.text(body, "model");
        if (name == null) {
            name = Conversions.requiredText(body, "name");
        }
        ModelSlot s = server.slot(name);
        ModelInfo info = s.llm.info();
        String template = info.details().getOrDefault(TEMPLATE_TEXT, "");
        String parameters = parameters(info);
        ObjectNode root = mapper.createObjectNode();
        root.put("license", "");
        root.put("modelfile", modelfile(s.name, info, template, parameters));
        root.put("parameters", parameters);
        root.put("template", template);
        root.set("details", details(info));
        ObjectNode mi = root.putObject("model_info");
        String arch = info.details().getOrDefault("architecture", info.backend());
        mi.put("general.architecture", arch);
        mi.put(arch + ".context_length", info.contextLength());
        for (Map.Entry<String, String> e : info.details().entrySet()) {
            if (!e.getKey().equals(TEMPLATE_TEXT) && !e.getKey().equals(MODELFILE_PARAMETERS)) {
                mi.put("locallm." + e.getKey(), e.getValue());
            }
        }
        ArrayNode caps = root.putArray("capabilities");
        if (info.supports(Capability.COMPLETION) || info.supports(Capability.CHAT)) {
            caps.add("completion");
        }
        if (info.supports(Capability.TOOLS)) {
            caps.add("tools");
        }
        if (info.supports(Capability.THINKING)) {
            caps.add("thinking");
        }
        if (info.supports(Capability.FILL_IN_MIDDLE)) {
            caps.add("insert");
        }
        if (info.supports(Capability.VISION)) {
            caps.add("vision");
        }
        if (info.supports(Capability.EMBEDDINGS)) {
            caps.add("embedding");
        }
        root.put("modified_at", Instant.ofEpochMilli(s.loadedAtMillis).toString());
        ex.send(200, root);
    }

    /**
     * The model's parameters in the Modelfile's layout (name padded to 30 columns, then the value): those
     * of the upstream Modelfile where the backend has one; else the context window the model runs with, the
     * backend's sampling defaults (the detail {@value #SAMPLING_DEFAULTS}, {@code name value} lines, such as
     * a checkpoint's {@code generation_config.json}) and its end tokens as {@code stop} (the detail
     * {@value #STOP_TOKENS}, one per line, quoted).
     */
    static String parameters(ModelInfo info) {
        String upstream = info.details().get(MODELFILE_PARAMETERS);
        if (upstream != null && !upstream.isBlank()) {
            return upstream;
        }
        List<String> lines = new java.util.ArrayList<>();
        lines.add(parameter("num_ctx", Integer.toString(info.contextLength())));
        for (String line : info.details().getOrDefault(STOP_TOKENS, "").split("\n")) {
            if (!line.isEmpty()) {
                lines.add(parameter("stop", quoted(line)));
            }
        }
        for (String line : info.details().getOrDefault(SAMPLING_DEFAULTS, "").split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0) {
                lines.add(parameter(line.substring(0, space), line.substring(space + 1).strip()));
            }
        }
        return String.join("\n", lines);
    }

    private static String parameter(String name, String value) {
        return String.format(java.util.Locale.ROOT, "%-30s %s", name, value);
    }

    /** A string value as the Modelfile writes it: in double quotes, with quotes, backslashes and controls escaped. */
    static String quoted(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(java.util.Locale.ROOT, "\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static String modelfile(String name, ModelInfo info, String template, String parameters) {
        StringBuilder m = new StringBuilder();
        m.append("# Modelfile of \"").append(name).append("\", served by LocalLLM for Java (backend ")
                .append(info.backend()).append(")\n");
        m.append("FROM ").append(info.details().getOrDefault("path", info.model())).append('\n');
        if (!template.isEmpty()) {
            m.append("TEMPLATE \"\"\"").append(template).append("\"\"\"\n");
        }
        for (String line : parameters.split("\n")) {
            if (!line.isBlank()) {
                m.append("PARAMETER ").append(line.strip().replaceAll("\\s+", " ")).append('\n');
            }
        }
        return m.toString();
    }

    private void pull(Exchange ex) {
        JsonNode body = ex.body();
        String name = Conversions.text(body, "model");
        if (name == null) {
            name = Conversions.requiredText(body, "name");
        }
        server.slot(name);
        // The model is served already: nothing to download.
        ex.send(200, mapper.createObjectNode().put("status", "success"));
    }

    private void embed(Exchange ex, boolean legacy) {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        if (body.hasNonNull("dimensions")) {
            throw HttpError.unsupported("dimensions", "'dimensions' is not supported: the model's own size is used");
        }
        List<String> inputs = legacy ? Embeddings.inputs(body.get("prompt"), "prompt", server.bounds())
                : Embeddings.inputs(body.get("input"), "input", server.bounds());
        Embeddings.Result r = Embeddings.run(server, slot, inputs, ex);
        ObjectNode root = mapper.createObjectNode();
        if (legacy) {
            ArrayNode a = root.putArray("embedding");
            for (float f : r.vectors().get(0)) {
                a.add(f);
            }
        } else {
            root.put("model", slot.name);
            ArrayNode all = root.putArray("embeddings");
            for (float[] v : r.vectors()) {
                ArrayNode a = all.addArray();
                for (float f : v) {
                    a.add(f);
                }
            }
            root.put("total_duration", r.nanos());
            root.put("load_duration", 0);
            root.put("prompt_eval_count", r.promptTokens());
        }
        ex.send(200, root);
    }

    // ---- generation ----

    private GenerationOptions.Builder options(JsonNode body, ModelSlot slot) {
        GenerationOptions.Builder b = GenerationOptions.builder();
        JsonNode o = body.get("options");
        Long numPredict = null;
        if (o != null && !o.isNull()) {
            if (!o.isObject()) {
                throw HttpError.badRequest("options", "'options' must be an object");
            }
            numPredict = Conversions.integer(o, "num_predict");
            if (numPredict != null && numPredict < 0) {
                numPredict = null; // -1 (no limit) and -2 (fill the context) mean the server's bound
            }
            try {
                Conversions.sampling(b, o, "options.stop", null);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest("options", e.getMessage());
            }
        }
        Conversions.maxTokens(b, numPredict, "options.num_predict", server.bounds());
        JsonNode format = body.get("format");
        if (format != null && !format.isNull()) {
            if (format.isTextual()) {
                String f = format.asText();
                if (f.equals("json")) {
                    b.responseFormat(ResponseFormat.JSON);
                } else if (!f.isEmpty()) {
                    throw HttpError.badRequest("format", "'format' must be \"json\" or a JSON schema object: " + f);
                }
            } else {
                b.responseFormat(Conversions.schemaFormat(format, "format"));
            }
        }
        JsonNode think = body.get("think");
        if (think != null && !think.isNull()) {
            if (think.isBoolean()) {
                b.think(think.asBoolean());
            } else if (think.isTextual()) {
                try {
                    b.think(ThinkLevel.parse(think.asText()));
                } catch (IllegalArgumentException e) {
                    throw HttpError.badRequest("think", "'think' must be true, false, \"low\", \"medium\" or \"high\": "
                            + think.asText());
                }
            } else {
                throw HttpError.badRequest("think", "'think' must be a boolean or a level (\"low\", \"medium\", \"high\")");
            }
        }
        Conversions.tools(b, body.get("tools"), mapper);
        return b;
    }

    private List<ChatMessage> messages(JsonNode body) {
        JsonNode arr = body.get("messages");
        if (arr == null || !arr.isArray()) {
            throw HttpError.badRequest("messages", "'messages' must be an array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : arr) {
            if (!m.isObject()) {
                throw HttpError.badRequest("messages", "each message must be an object");
            }
            ChatMessage.Role role = Conversions.role(Conversions.text(m, "role"));
            String content = Conversions.text(m, "content");
            List<String> images = images(m.get("images"));
            List<ToolCall> calls = Conversions.toolCalls(m.get("tool_calls"), mapper);
            String toolName = Conversions.text(m, "tool_name");
            if (toolName == null) {
                toolName = Conversions.text(m, "name");
            }
            String toolCallId = Conversions.text(m, "tool_call_id");
            out.add(new ChatMessage(role, content == null ? "" : content, calls, images,
                    toolName == null ? "" : toolName, toolCallId == null ? "" : toolCallId));
        }
        if (out.isEmpty()) {
            throw HttpError.badRequest("messages", "'messages' must not be empty");
        }
        return out;
    }

    private static List<String> images(JsonNode imgs) {
        List<String> out = new ArrayList<>();
        if (imgs == null || imgs.isNull()) {
            return out;
        }
        if (!imgs.isArray()) {
            throw HttpError.badRequest("images", "'images' must be an array of base64 strings");
        }
        for (JsonNode i : imgs) {
            if (!i.isTextual()) {
                throw HttpError.badRequest("images", "'images' must be an array of base64 strings");
            }
            out.add(i.asText());
        }
        return out;
    }

    private void chat(Exchange ex) throws IOException, InterruptedException {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        List<ChatMessage> messages = messages(body);
        Conversions.checkPrompt(messages, server.bounds());
        GenerationOptions options = Conversions.build(options(body, slot));
        boolean stream = Conversions.bool(body, "stream", true);
        respond(ex, slot, stream, true, () -> Run.chat(server, slot, messages, options));
    }

    private void generate(Exchange ex) throws IOException, InterruptedException {
        JsonNode body = ex.body();
        ModelSlot slot = server.slot(Conversions.requiredText(body, "model"));
        String prompt = Conversions.text(body, "prompt");
        String suffix = Conversions.text(body, "suffix");
        String template = Conversions.text(body, "template");
        if (template != null && !template.isEmpty()) {
            throw HttpError.unsupported("template", "'template' is not supported: the model's own chat template is used");
        }
        List<String> images = images(body.get("images"));
        if (suffix != null && !suffix.isEmpty()) {
            fillInTheMiddle(ex, slot, body, prompt == null ? "" : prompt, suffix, images);
            return;
        }
        if ((prompt == null || prompt.isEmpty()) && images.isEmpty()) {
            // Ollama's way to load a model: answer at once that it is loaded.
            ObjectNode done = mapper.createObjectNode();
            done.put("model", slot.name);
            done.put("created_at", Instant.now().toString());
            done.put("response", "");
            done.put("done", true);
            done.put("done_reason", "load");
            ex.send(200, done);
            return;
        }
        String system = Conversions.text(body, "system");
        boolean raw = Conversions.bool(body, "raw", false);
        GenerationOptions options = Conversions.build(options(body, slot));
        boolean stream = Conversions.bool(body, "stream", true);
        String p = prompt == null ? "" : prompt;
        Conversions.checkPrompt(p.length() + (system == null ? 0L : system.length()), server.bounds());
        ModelInfo info = slot.llm.info();
        if (raw || !info.supports(Capability.CHAT)) {
            respond(ex, slot, stream, false, () -> Run.completion(server, slot, p, options));
        } else {
            List<ChatMessage> messages = new ArrayList<>();
            if (system != null && !system.isEmpty()) {
                messages.add(ChatMessage.system(system));
            }
            messages.add(new ChatMessage(ChatMessage.Role.USER, p, List.of(), images, ""));
            respond(ex, slot, stream, false, () -> Run.chat(server, slot, messages, options));
        }
    }

    /**
     * A generate request with a suffix: a fill-in-the-middle completion of the prompt (the text before the
     * insertion point) and the suffix, on a model that can do it; the answer has the usual generate shape.
     */
    private void fillInTheMiddle(Exchange ex, ModelSlot slot, JsonNode body, String prompt, String suffix,
                                 List<String> images) throws IOException, InterruptedException {
        if (!slot.llm.info().supports(Capability.FILL_IN_MIDDLE)) {
            throw HttpError.badRequest("suffix", "\"" + slot.name + "\" does not support insert");
        }
        String system = Conversions.text(body, "system");
        if (system != null && !system.isEmpty()) {
            throw HttpError.badRequest("system", "'system' cannot be combined with 'suffix': a fill-in-the-middle "
                    + "prompt is the text before and after the insertion point only");
        }
        if (!images.isEmpty()) {
            throw HttpError.badRequest("images", "'images' cannot be combined with 'suffix' (fill-in-the-middle)");
        }
        Conversions.checkPrompt((long) prompt.length() + suffix.length(), server.bounds());
        GenerationOptions options = Conversions.build(options(body, slot).suffix(suffix));
        respond(ex, slot, Conversions.bool(body, "stream", true), false,
                () -> Run.completion(server, slot, prompt, options));
    }

    private ObjectNode head(ModelSlot slot) {
        ObjectNode n = mapper.createObjectNode();
        n.put("model", slot.name);
        n.put("created_at", Instant.now().toString());
        return n;
    }

    private ObjectNode piece(ModelSlot slot, boolean chat, String content, String thinking, List<ToolCall> calls) {
        ObjectNode n = head(slot);
        if (chat) {
            ObjectNode m = n.putObject("message");
            m.put("role", "assistant");
            m.put("content", content);
            if (thinking != null && !thinking.isEmpty()) {
                m.put("thinking", thinking);
            }
            if (!calls.isEmpty()) {
                ArrayNode arr = m.putArray("tool_calls");
                int i = 0;
                for (ToolCall c : calls) {
                    ObjectNode call = arr.addObject();
                    if (!c.id().isEmpty()) {
                        call.put("id", c.id());
                    }
                    ObjectNode f = call.putObject("function");
                    f.put("index", i++);
                    f.put("name", c.name());
                    f.set("arguments", Conversions.argumentsObject(c, mapper));
                }
            }
        } else {
            n.put("response", content);
            if (thinking != null && !thinking.isEmpty()) {
                n.put("thinking", thinking);
            }
        }
        return n;
    }

    private ObjectNode last(ModelSlot slot, boolean chat, Completion c, boolean whole) {
        ObjectNode n = whole ? piece(slot, chat, c.text(), c.thinking(), c.toolCalls())
                : piece(slot, chat, "", null, List.of());
        if (chat) {
            n.put("done_reason", doneReason(c));
            n.put("done", true);
        } else {
            n.put("done", true);
            n.put("done_reason", doneReason(c));
        }
        long total = c.timings().total().toNanos();
        long ttft = Math.min(total, c.timings().timeToFirstToken().toNanos());
        n.put("total_duration", total);
        n.put("load_duration", 0);
        n.put("prompt_eval_count", c.usage().promptTokens());
        n.put("prompt_eval_duration", ttft);
        n.put("eval_count", c.usage().completionTokens());
        n.put("eval_duration", total - ttft);
        return n;
    }

    private static String doneReason(Completion c) {
        switch (c.finishReason()) {
            case LENGTH:
                return "length";
            default:
                return "stop";
        }
    }

    interface Starter {
        Run start();
    }

    private void respond(Exchange ex, ModelSlot slot, boolean stream, boolean chat, Starter starter)
            throws IOException, InterruptedException {
        try (Run run = starter.start()) {
            if (!stream) {
                ex.send(200, last(slot, chat, run.awaitAnswer(ex), true));
                return;
            }
            OutputStream out = ex.startStream("application/x-ndjson");
            try {
                while (true) {
                    Run.Event e = run.next();
                    if (e instanceof Run.Token t) {
                        line(ex, out, piece(slot, chat, t.text(), null, List.of()).put("done", false));
                    } else if (e instanceof Run.Thinking t) {
                        line(ex, out, piece(slot, chat, "", t.text(), List.of()).put("done", false));
                    } else if (e instanceof Run.Done d) {
                        if (chat && !d.completion().toolCalls().isEmpty()) {
                            ObjectNode calls = piece(slot, true, "", null, d.completion().toolCalls());
                            calls.put("done", false);
                            line(ex, out, calls);
                        }
                        line(ex, out, last(slot, chat, d.completion(), false));
                        break;
                    } else if (e instanceof Run.Failed f) {
                        line(ex, out, mapper.createObjectNode().put("error", Conversions.toHttp(f.error()).getMessage()));
                        break;
                    }
                }
                ex.endStream();
            } catch (IOException e) {
                // the client went away: stop the generation at once
                run.cancel();
                throw e;
            }
        }
    }

    private void line(Exchange ex, OutputStream out, ObjectNode node) throws IOException {
        byte[] b = ex.json(node);
        out.write(b);
        out.write('\n');
        out.flush();
    }
}
