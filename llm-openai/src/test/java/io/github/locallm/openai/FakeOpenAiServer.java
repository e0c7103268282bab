package io.github.locallm.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAI-compatible server on loopback that speaks the wire format of llama.cpp's {@code llama-server}
 * or of vLLM, as their documentation and source describe it: {@code /v1/models}, streamed and whole chat
 * completions and completions (SSE framing {@code data: ...\n\n} ending in {@code data: [DONE]}, the
 * usage chunk with empty {@code choices} when {@code stream_options.include_usage} is set, tool-call
 * deltas that carry the id and name first and the arguments in fragments, {@code reasoning_content},
 * chat {@code logprobs}), {@code /v1/embeddings}, and each server's extras: llama-server's {@code /props},
 * {@code /health}, {@code /tokenize}, {@code /detokenize}, {@code /apply-template} and {@code timings};
 * vLLM's {@code /version}, {@code /health}, {@code /tokenize}, {@code /detokenize} and
 * {@code max_model_len}. Errors use each server's shape: llama-server's
 * {@code {"error": {"code", "message", "type"}}} and vLLM's {@code {"object": "error", "message", "type",
 * "param", "code"}}.
 *
 * <p>The model is deterministic: its tokens derive from the rendered prompt (and from the seed when the
 * temperature is not zero). Tokens are whitespace-led runs of letters or digits, or one other character; the tokenizer gives
 * each distinct token an id.
 * A chat whose last user message asks about the weather, with tools offered, gets a tool call; a chat whose
 * last message is a tool result gets an answer quoting it. Tests can replace the answer of any path.
 */
final class FakeOpenAiServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "org/fake-llm:Q4";
    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
        "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "café", "naïve", "日本",
        "crème", "brûlée"};
    /** Whitespace-led runs of letters or digits, or one other character: control-token text splits. */
    private static final Pattern TOKEN = Pattern.compile("\\s*(?:\\p{L}+|\\p{N}+|[^\\s\\p{L}\\p{N}])|\\s+$");

    /** Which server the fake is. */
    enum Flavour { LLAMA_SERVER, VLLM, PLAIN }

    /** A request the server received. */
    record Recorded(String method, String path, Map<String, List<String>> headers, JsonNode body) {
        String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    }

    /** Replaces the normal answer of a path. */
    interface Script {
        void answer(HttpExchange exchange, JsonNode body) throws IOException;
    }

    final Flavour flavour;
    private final HttpServer server;
    private final ExecutorService pool;
    final List<Recorded> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Script> scripts = new ConcurrentHashMap<>();
    private final Map<String, Integer> vocabulary = new ConcurrentHashMap<>();
    private final Map<Integer, String> pieces = new ConcurrentHashMap<>();
    final AtomicInteger disconnects = new AtomicInteger();
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger maxActive = new AtomicInteger();
    /**
     * Answers to give generation requests before serving them, each {@code STATUS} or
     * {@code STATUS:RETRY_AFTER} (such as {@code 429:1}), as a busy server does.
     */
    final java.util.Queue<String> busy = new java.util.concurrent.ConcurrentLinkedQueue<>();
    volatile long tokenDelayMillis = 1;
    volatile int contextLength = 1024;
    volatile boolean keepAlives;
    volatile boolean crlf;

    FakeOpenAiServer(Flavour flavour) throws IOException {
        this.flavour = flavour;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-openai");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    /** @return the API root, such as {@code http://127.0.0.1:40123/v1} */
    String url() {
        return "http://127.0.0.1:" + port() + "/v1";
    }

    int port() {
        return server.getAddress().getPort();
    }

    void script(String path, Script script) {
        if (script == null) {
            scripts.remove(path);
        } else {
            scripts.put(path, script);
        }
    }

    Recorded last(String path) {
        for (int i = requests.size() - 1; i >= 0; i--) {
            if (requests.get(i).path().equals(path)) {
                return requests.get(i);
            }
        }
        throw new AssertionError("no request to " + path + "; got " + requests.stream().map(Recorded::path).toList());
    }

    long count(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).count();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body = raw.length == 0 ? JSON.createObjectNode() : JSON.readTree(raw);
            String path = ex.getRequestURI().getPath();
            requests.add(new Recorded(ex.getRequestMethod(), path, Map.copyOf(ex.getRequestHeaders()), body));
            if (path.endsWith("/completions") || path.endsWith("/embeddings")) {
                String answer = busy.poll();
                if (answer != null) {
                    String[] parts = answer.split(":");
                    if (parts.length > 1) {
                        ex.getResponseHeaders().set("Retry-After", parts[1]);
                    }
                    int status = Integer.parseInt(parts[0]);
                    error(ex, status, status == 429 ? "rate_limit_error" : "unavailable_error",
                            status == 429 ? "Too many requests" : "Loading model");
                    return;
                }
            }
            Script script = scripts.get(path);
            if (script != null) {
                script.answer(ex, body);
                return;
            }
            boolean llama = flavour == Flavour.LLAMA_SERVER;
            boolean vllm = flavour == Flavour.VLLM;
            switch (ex.getRequestMethod() + " " + path) {
                case "GET /v1/models" -> models(ex);
                case "GET /props" -> {
                    if (llama) {
                        props(ex);
                    } else {
                        notFound(ex);
                    }
                }
                case "GET /health" -> {
                    if (llama) {
                        json(ex, 200, obj().put("status", "ok"));
                    } else if (vllm) {
                        ex.sendResponseHeaders(200, -1);
                    } else {
                        notFound(ex);
                    }
                }
                case "GET /version" -> {
                    if (vllm) {
                        json(ex, 200, obj().put("version", "0.8.5"));
                    } else {
                        notFound(ex);
                    }
                }
                case "POST /tokenize" -> tokenize(ex, body);
                case "POST /detokenize" -> detokenize(ex, body);
                case "POST /apply-template" -> {
                    if (llama) {
                        json(ex, 200, obj().put("prompt", render(body.path("messages"))));
                    } else {
                        notFound(ex);
                    }
                }
                case "POST /v1/chat/completions" -> generate(ex, body, true);
                case "POST /v1/completions" -> generate(ex, body, false);
                case "POST /v1/embeddings" -> embeddings(ex, body);
                default -> notFound(ex);
            }
        }
    }

    // ------------------------------------------------------------------ answers

    static ObjectNode obj() {
        return JSON.createObjectNode();
    }

    static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    private void notFound(HttpExchange ex) throws IOException {
        if (flavour == Flavour.VLLM) {
            // FastAPI's answer for an unknown route
            json(ex, 404, obj().put("detail", "Not Found"));
        } else {
            byte[] text = "File Not Found".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain");
            ex.sendResponseHeaders(404, text.length);
            ex.getResponseBody().write(text);
        }
    }

    /** Sends an error in this server's shape. */
    void error(HttpExchange ex, int status, String type, String message) throws IOException {
        json(ex, status, errorBody(status, type, message));
    }

    ObjectNode errorBody(int status, String type, String message) {
        if (flavour == Flavour.VLLM) {
            return obj().put("object", "error").put("message", message).put("type", type).putNull("param")
                    .put("code", status);
        }
        ObjectNode e = obj();
        e.putObject("error").put("code", status).put("message", message).put("type", type);
        return e;
    }

    private void models(HttpExchange ex) throws IOException {
        ObjectNode root = obj().put("object", "list");
        ObjectNode m = root.putArray("data").addObject();
        m.put("id", MODEL).put("object", "model").put("created", 1700000000L);
        switch (flavour) {
            case LLAMA_SERVER -> {
                m.put("owned_by", "llamacpp");
                m.putObject("meta").put("vocab_type", 2).put("n_vocab", 32000).put("n_ctx_train", 32768)
                        .put("n_embd", 8).put("n_params", 1000).put("size", 4096);
            }
            case VLLM -> m.put("owned_by", "vllm").put("root", MODEL).putNull("parent")
                    .put("max_model_len", contextLength);
            case PLAIN -> m.put("owned_by", "someone");
        }
        json(ex, 200, root);
    }

    private void props(HttpExchange ex) throws IOException {
        ObjectNode p = obj();
        p.putObject("default_generation_settings").put("n_ctx", contextLength).putObject("params")
                .put("temperature", 0.8);
        p.put("total_slots", 4).put("model_path", "/models/fake.gguf").put("chat_template", "{{ messages }}")
                .put("build_info", "b6000-fake");
        p.putObject("modalities").put("vision", false).put("audio", false);
        json(ex, 200, p);
    }

    // ------------------------------------------------------------------ tokenizer

    List<String> split(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = TOKEN.matcher(text);
        while (m.find()) {
            if (!m.group().isEmpty()) {
                out.add(m.group());
            }
        }
        return out;
    }

    private int id(String piece) {
        return vocabulary.computeIfAbsent(piece, p -> {
            int id = vocabulary.size() + 10;
            pieces.put(id, p);
            return id;
        });
    }

    private void tokenize(HttpExchange ex, JsonNode body) throws IOException {
        if (flavour == Flavour.PLAIN) {
            notFound(ex);
            return;
        }
        String text;
        if (flavour == Flavour.VLLM && body.has("messages")) {
            text = render(body.path("messages"));
        } else {
            text = flavour == Flavour.VLLM ? body.path("prompt").asText() : body.path("content").asText();
        }
        ArrayNode ids = JSON.createArrayNode();
        for (String p : split(text)) {
            ids.add(id(p));
        }
        ObjectNode answer = obj();
        if (flavour == Flavour.VLLM) {
            answer.put("count", ids.size()).put("max_model_len", contextLength);
        }
        answer.set("tokens", ids);
        json(ex, 200, answer);
    }

    private void detokenize(HttpExchange ex, JsonNode body) throws IOException {
        if (flavour == Flavour.PLAIN) {
            notFound(ex);
            return;
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode t : body.path("tokens")) {
            sb.append(pieces.getOrDefault(t.asInt(), ""));
        }
        json(ex, 200, obj().put(flavour == Flavour.VLLM ? "prompt" : "content", sb.toString()));
    }

    // ------------------------------------------------------------------ the model

    static String render(JsonNode messages) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode m : messages) {
            JsonNode content = m.path("content");
            String text;
            if (content.isArray()) {
                StringBuilder parts = new StringBuilder();
                for (JsonNode p : content) {
                    parts.append(p.path("type").asText().equals("text") ? p.path("text").asText() : " <image>");
                }
                text = parts.toString();
            } else {
                text = content.asText("");
            }
            sb.append(m.path("role").asText()).append(": ").append(text);
            for (JsonNode call : m.path("tool_calls")) {
                sb.append(" [call ").append(call.path("id").asText()).append(' ')
                        .append(call.path("function").path("name").asText()).append(']');
            }
            if (m.has("tool_call_id")) {
                sb.append(" [for ").append(m.path("tool_call_id").asText()).append(']');
            }
            sb.append('\n');
        }
        return sb.append("assistant:").toString();
    }

    /** The pieces the model says after a prompt: whitespace-led words, endless. */
    static String piece(String prompt, long seed, int i) {
        long h = prompt.hashCode() * 31L + seed;
        Random r = new Random(h * 1_000_003L + i);
        return " " + WORDS[r.nextInt(WORDS.length)];
    }

    private void generate(HttpExchange ex, JsonNode body, boolean chat) throws IOException {
        long started = System.nanoTime();
        String model = body.path("model").asText("");
        if (flavour != Flavour.LLAMA_SERVER && !model.equals(MODEL)) {
            error(ex, 404, "NotFoundError", "The model `" + model + "` does not exist.");
            return;
        }
        String prompt = chat ? render(body.path("messages")) : body.path("prompt").asText();
        int promptTokens = split(prompt).size();
        int maxTokens = body.path("max_tokens").asInt(-1);
        if (flavour == Flavour.VLLM && promptTokens + Math.max(0, maxTokens) > contextLength) {
            error(ex, 400, "BadRequestError", "This model's maximum context length is " + contextLength
                    + " tokens. However, you requested " + (promptTokens + Math.max(0, maxTokens)) + " tokens ("
                    + promptTokens + " in the messages, " + maxTokens + " in the completion). Please reduce the length"
                    + " of the messages or completion.");
            return;
        }
        if (promptTokens > contextLength) {
            ObjectNode e = errorBody(400, "exceed_context_size_error", "the request exceeds the available context "
                    + "size, try increasing it");
            ((ObjectNode) e.path("error")).put("n_prompt_tokens", promptTokens).put("n_ctx", contextLength);
            json(ex, 400, e);
            return;
        }
        double temperature = body.path("temperature").asDouble(0.8);
        long seed = temperature == 0 ? 0 : body.has("seed") ? body.path("seed").asLong() : System.nanoTime();
        List<String> stops = new ArrayList<>();
        body.path("stop").forEach(s -> stops.add(s.asText()));
        if (body.path("stop").isTextual()) {
            stops.add(body.path("stop").asText());
        }
        String format = body.path("response_format").path("type").asText("text");
        boolean json = format.equals("json_object") || format.equals("json_schema");
        boolean thinking = body.path("chat_template_kwargs").path("enable_thinking").asBoolean(false);
        boolean logprobs = body.path("logprobs").asBoolean(false);
        int topLogprobs = body.path("top_logprobs").asInt(0);

        // what the model does: a tool call, an answer to a tool result, or text
        ObjectNode toolCall = null;
        String lastUser = "";
        String lastRole = "";
        String lastContent = "";
        for (JsonNode m : body.path("messages")) {
            lastRole = m.path("role").asText();
            lastContent = m.path("content").asText("");
            if (lastRole.equals("user")) {
                lastUser = lastContent;
            }
        }
        boolean required = body.path("tool_choice").asText("").equals("required")
                || body.path("tool_choice").path("type").asText("").equals("function");
        if (chat && body.path("tools").size() > 0 && lastRole.equals("user")
                && (lastUser.contains("weather") || required)) {
            JsonNode tool = body.path("tools").get(0).path("function");
            toolCall = obj().put("id", "call_" + Integer.toHexString(Math.abs(prompt.hashCode())))
                    .put("name", tool.path("name").asText())
                    .put("arguments", "{\"city\": \"Paris\", \"unit\": \"celsius\"}");
        }
        List<String> out = new ArrayList<>();
        if (toolCall == null) {
            if (chat && lastRole.equals("tool")) {
                out.addAll(split("The tool said: " + lastContent));
            } else if (json) {
                out.addAll(split(jsonAnswer(body.path("response_format").path("json_schema").path("schema"),
                        piece(prompt, seed, 0).strip())));
            }
        }
        int limit = maxTokens > 0 ? maxTokens : Integer.MAX_VALUE;
        List<String> reasoning = thinking ? split(" Let me think about" + piece(prompt, seed, 99)) : List.of();

        boolean stream = body.path("stream").asBoolean(false);
        boolean usage = body.path("stream_options").path("include_usage").asBoolean(false);
        String id = (chat ? "chatcmpl-" : "cmpl-") + Integer.toHexString(System.identityHashCode(ex));
        active.incrementAndGet();
        maxActive.accumulateAndGet(active.get(), Math::max);
        try {
            if (!stream) {
                StringBuilder text = new StringBuilder();
                int produced = 0;
                String finish = "stop";
                for (int i = 0; toolCall == null; i++) {
                    if (produced >= limit) {
                        finish = "length";
                        break;
                    }
                    String p = i < out.size() ? out.get(i) : out.isEmpty() ? piece(prompt, seed, i) : null;
                    if (p == null) {
                        break;
                    }
                    produced++;
                    text.append(p);
                    int cut = stopAt(text, stops);
                    if (cut >= 0) {
                        text.setLength(cut);
                        break;
                    }
                }
                ObjectNode answer = obj().put("id", id).put("object", chat ? "chat.completion" : "text_completion")
                        .put("created", 1700000000L).put("model", model);
                ObjectNode choice = answer.putArray("choices").addObject().put("index", 0);
                if (chat) {
                    ObjectNode message = choice.putObject("message").put("role", "assistant");
                    if (toolCall != null) {
                        message.putNull("content");
                        ObjectNode call = message.putArray("tool_calls").addObject();
                        call.put("id", toolCall.path("id").asText()).put("type", "function");
                        call.putObject("function").put("name", toolCall.path("name").asText())
                                .put("arguments", toolCall.path("arguments").asText());
                        finish = "tool_calls";
                        produced = 12;
                    } else {
                        message.put("content", text.toString());
                    }
                    if (!reasoning.isEmpty()) {
                        message.put("reasoning_content", String.join("", reasoning).strip());
                    }
                } else {
                    choice.put("text", text.toString());
                }
                choice.putNull("logprobs").put("finish_reason", finish);
                answer.putObject("usage").put("prompt_tokens", promptTokens).put("completion_tokens", produced)
                        .put("total_tokens", promptTokens + produced);
                json(ex, 200, answer);
                return;
            }

            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream os = ex.getResponseBody();
            try {
                if (chat) {
                    ObjectNode first = chunk(id, model, chat);
                    ObjectNode delta = ((ObjectNode) first.path("choices").get(0)).putObject("delta").put("role", "assistant");
                    if (flavour == Flavour.LLAMA_SERVER) {
                        delta.putNull("content");
                    } else {
                        delta.put("content", "");
                    }
                    send(os, first);
                    for (String r : reasoning) {
                        ObjectNode c = chunk(id, model, chat);
                        ((ObjectNode) c.path("choices").get(0)).putObject("delta").put("reasoning_content", r);
                        send(os, c);
                    }
                }
                int produced = 0;
                String finish = "stop";
                String held = null;
                if (toolCall != null) {
                    // id, type and name first, then the arguments in fragments
                    ObjectNode c = chunk(id, model, chat);
                    ObjectNode call = ((ObjectNode) c.path("choices").get(0)).putObject("delta")
                            .putArray("tool_calls").addObject();
                    call.put("index", 0).put("id", toolCall.path("id").asText()).put("type", "function");
                    call.putObject("function").put("name", toolCall.path("name").asText()).put("arguments", "");
                    send(os, c);
                    String args = toolCall.path("arguments").asText();
                    for (int i = 0; i < args.length(); i += 5) {
                        ObjectNode f = chunk(id, model, chat);
                        ObjectNode fc = ((ObjectNode) f.path("choices").get(0)).putObject("delta")
                                .putArray("tool_calls").addObject();
                        fc.put("index", 0).putObject("function")
                                .put("arguments", args.substring(i, Math.min(args.length(), i + 5)));
                        send(os, f);
                        produced++;
                    }
                    finish = "tool_calls";
                } else {
                    StringBuilder text = new StringBuilder();
                    int sent = 0;
                    for (int i = 0; ; i++) {
                        if (produced >= limit) {
                            finish = "length";
                            held = text.substring(sent);
                            break;
                        }
                        String p = i < out.size() ? out.get(i) : out.isEmpty() ? piece(prompt, seed, i) : null;
                        if (p == null) {
                            held = text.substring(sent);
                            break;
                        }
                        produced++;
                        text.append(p);
                        int cut = stopAt(text, stops);
                        // as llama-server does, text that may begin a stop sequence is held back
                        int safe = cut >= 0 ? cut : text.length() - partialStop(text, stops);
                        String visible = text.substring(sent, Math.max(sent, safe));
                        if (!visible.isEmpty()) {
                            ObjectNode c = chunk(id, model, chat);
                            ObjectNode choice = (ObjectNode) c.path("choices").get(0);
                            if (chat) {
                                choice.putObject("delta").put("content", visible);
                            } else {
                                choice.put("text", visible);
                            }
                            if (logprobs && chat) {
                                logprob(choice, visible, prompt, i, topLogprobs);
                            }
                            send(os, c);
                            sent += visible.length();
                        }
                        if (cut >= 0) {
                            sent = text.length();
                            break;
                        }
                        if (tokenDelayMillis > 0) {
                            Thread.sleep(tokenDelayMillis);
                        }
                    }
                }
                if (held != null && !held.isEmpty()) {
                    ObjectNode c = chunk(id, model, chat);
                    ObjectNode choice = (ObjectNode) c.path("choices").get(0);
                    if (chat) {
                        choice.putObject("delta").put("content", held);
                    } else {
                        choice.put("text", held);
                    }
                    send(os, c);
                }
                ObjectNode last = chunk(id, model, chat);
                ObjectNode choice = (ObjectNode) last.path("choices").get(0);
                if (chat) {
                    choice.putObject("delta");
                } else {
                    choice.put("text", "");
                }
                choice.put("finish_reason", finish);
                if (flavour == Flavour.LLAMA_SERVER) {
                    // measured, as llama-server does: a quarter of the time for the prompt, the rest for the tokens
                    double elapsedMs = (System.nanoTime() - started) / 1e6;
                    double predictedMs = elapsedMs * 0.75;
                    last.putObject("timings").put("prompt_n", promptTokens).put("prompt_ms", elapsedMs * 0.25)
                            .put("predicted_n", produced).put("predicted_ms", predictedMs)
                            .put("predicted_per_second", predictedMs > 0 ? produced * 1000.0 / predictedMs : 0);
                }
                send(os, last);
                if (usage) {
                    ObjectNode u = obj().put("id", id).put("object", chat ? "chat.completion.chunk" : "text_completion")
                            .put("created", 1700000000L).put("model", model);
                    u.putArray("choices");
                    u.putObject("usage").put("prompt_tokens", promptTokens).put("completion_tokens", produced)
                            .put("total_tokens", promptTokens + produced);
                    send(os, u);
                }
                write(os, "data: [DONE]" + eol() + eol());
            } catch (IOException e) {
                disconnects.incrementAndGet();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } finally {
            active.decrementAndGet();
        }
    }

    /**
     * What the model writes under a response format: an object with every property of the schema (a word for a
     * string, cut to its maxLength; 3 for a number; true for a boolean), or a small object without a schema.
     */
    static String jsonAnswer(JsonNode schema, String word) {
        if (!schema.path("properties").isObject()) {
            return "{\"word\": \"" + word + "\", \"count\": 3}";
        }
        ObjectNode out = obj();
        for (Map.Entry<String, JsonNode> p : schema.path("properties").properties()) {
            switch (p.getValue().path("type").asText("string")) {
                case "integer", "number" -> out.put(p.getKey(), 3);
                case "boolean" -> out.put(p.getKey(), true);
                default -> {
                    int max = p.getValue().path("maxLength").asInt(Integer.MAX_VALUE);
                    out.put(p.getKey(), word.substring(0, Math.min(word.length(), max)));
                }
            }
        }
        return out.toString();
    }

    private static void logprob(ObjectNode choice, String piece, String prompt, int i, int top) {
        ObjectNode lp = choice.putObject("logprobs");
        ObjectNode entry = lp.putArray("content").addObject();
        double value = -0.05 * (1 + Math.abs((prompt.hashCode() + i) % 7));
        entry.put("token", piece).put("logprob", value);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        ArrayNode alternatives = entry.putArray("top_logprobs");
        for (int k = 0; k < top; k++) {
            alternatives.addObject().put("token", k == 0 ? piece : " alt" + k).put("logprob", value - k)
                    .putNull("bytes");
        }
    }

    /** @return the length of the longest end of the text that begins a stop sequence */
    private static int partialStop(CharSequence text, List<String> stops) {
        int best = 0;
        String t = text.toString();
        for (String s : stops) {
            for (int n = Math.min(s.length() - 1, t.length()); n > best; n--) {
                if (t.endsWith(s.substring(0, n))) {
                    best = n;
                    break;
                }
            }
        }
        return best;
    }

    private static int stopAt(CharSequence text, List<String> stops) {
        int best = -1;
        for (String s : stops) {
            int at = text.toString().indexOf(s);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    private ObjectNode chunk(String id, String model, boolean chat) {
        ObjectNode c = obj().put("id", id).put("object", chat ? "chat.completion.chunk" : "text_completion")
                .put("created", 1700000000L).put("model", model);
        if (flavour == Flavour.LLAMA_SERVER) {
            c.put("system_fingerprint", "b6000-fake");
        }
        c.putArray("choices").addObject().put("index", 0).putNull("finish_reason");
        return c;
    }

    private String eol() {
        return crlf ? "\r\n" : "\n";
    }

    private void send(OutputStream os, JsonNode chunk) throws IOException {
        if (keepAlives) {
            write(os, ": keep-alive" + eol() + eol());
        }
        write(os, "data: " + JSON.writeValueAsString(chunk) + eol() + eol());
    }

    static void write(OutputStream os, String text) throws IOException {
        os.write(text.getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    private void embeddings(HttpExchange ex, JsonNode body) throws IOException {
        JsonNode input = body.path("input");
        List<String> texts = new ArrayList<>();
        if (input.isTextual()) {
            texts.add(input.asText());
        } else {
            input.forEach(t -> texts.add(t.asText()));
        }
        ObjectNode answer = obj().put("object", "list").put("model", body.path("model").asText());
        ArrayNode data = answer.putArray("data");
        int tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
            ArrayNode v = item.putArray("embedding");
            Random r = new Random(texts.get(i).hashCode());
            for (int k = 0; k < 8; k++) {
                v.add(r.nextFloat() - 0.5f);
            }
            tokens += split(texts.get(i)).size();
        }
        answer.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        json(ex, 200, answer);
    }
}
