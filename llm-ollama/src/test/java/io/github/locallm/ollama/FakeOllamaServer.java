package io.github.locallm.ollama;

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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small Ollama server on loopback that speaks the wire format of Ollama's REST API, with a
 * deterministic fake model: its tokens derive from the prompt (and the seed when the temperature is not
 * zero); it honours {@code num_predict}, {@code stop}, {@code seed}, {@code temperature}, {@code format},
 * {@code think} and {@code tools}, and stops when the client disconnects.
 *
 * <p>Tests can replace the answer of any path with a script, and read every request the server got.
 */
final class FakeOllamaServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHAT_MODEL = "fake-llm:latest";
    static final String EMBED_MODEL = "fake-embed:latest";
    static final String PLAIN_MODEL = "fake-plain:latest";
    /** A completion model that fills in the middle ({@code insert}), for tests that add it to {@link #models}. */
    static final String CODER_MODEL = "fake-coder:latest";
    static final int EMBED_DIM = 8;
    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
        "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "café", "naïve", "日本",
        "ünïcode", "crème", "brûlée"};

    /** A request the server received. */
    record Recorded(String method, String path, Map<String, List<String>> headers, JsonNode body, int remotePort) {
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

    /** A model the server has. */
    record Model(List<String> capabilities, int contextLength, String family) {
    }

    private final HttpServer server;
    private final ExecutorService pool;
    final List<Recorded> requests = new CopyOnWriteArrayList<>();
    final Map<String, Model> models = new ConcurrentHashMap<>();
    final Map<String, Model> registry = new ConcurrentHashMap<>();
    final Set<String> loaded = ConcurrentHashMap.newKeySet();
    private final Map<String, Script> scripts = new ConcurrentHashMap<>();
    final AtomicInteger disconnects = new AtomicInteger();
    final AtomicInteger active = new AtomicInteger();
    volatile long tokenDelayMillis = 1;
    /** How long the fake takes to embed one text. */
    volatile long embedDelayMillis;
    /** How many texts the fake has embedded. */
    final AtomicInteger embedded = new AtomicInteger();

    private final boolean https;

    FakeOllamaServer() throws IOException {
        this(null);
    }

    /** @param tls the server's TLS setup, or {@code null} for plain HTTP */
    FakeOllamaServer(javax.net.ssl.SSLContext tls) throws IOException {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (tls == null) {
            server = HttpServer.create(address, 0);
        } else {
            com.sun.net.httpserver.HttpsServer s = com.sun.net.httpserver.HttpsServer.create(address, 0);
            s.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
            server = s;
        }
        https = tls != null;
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-ollama");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        models.put(CHAT_MODEL, new Model(List.of("completion", "tools", "thinking", "vision"), 32768, "fake"));
        models.put(PLAIN_MODEL, new Model(List.of("completion"), 2048, "fake"));
        models.put(EMBED_MODEL, new Model(List.of("embedding"), 512, "bert"));
        registry.put("tiny-pull:latest", new Model(List.of("completion"), 1024, "tiny"));
        server.start();
    }

    /** @return the base URL, such as {@code http://127.0.0.1:40123} */
    String url() {
        return https ? "https://localhost:" + port() : "http://127.0.0.1:" + port();
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

    static String tagged(String name) {
        return name.contains(":") ? name : name + ":latest";
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] raw = ex.getRequestBody().readAllBytes();
            String path = ex.getRequestURI().getPath();
            if (path.startsWith("/api/blobs/")) {
                requests.add(new Recorded(ex.getRequestMethod(), path, Map.copyOf(ex.getRequestHeaders()),
                        obj().put("bytes", raw.length), ex.getRemoteAddress().getPort()));
                blob(ex, path.substring("/api/blobs/".length()), raw);
                return;
            }
            JsonNode body = raw.length == 0 ? JSON.createObjectNode() : JSON.readTree(raw);
            requests.add(new Recorded(ex.getRequestMethod(), path, Map.copyOf(ex.getRequestHeaders()), body,
                    ex.getRemoteAddress().getPort()));
            Script script = scripts.get(path);
            if (script != null) {
                script.answer(ex, body);
                return;
            }
            switch (ex.getRequestMethod() + " " + path) {
                case "GET /api/version" -> json(ex, 200, obj().put("version", "0.12.6"));
                case "GET /api/tags" -> tags(ex);
                case "GET /api/ps" -> ps(ex);
                case "POST /api/show" -> show(ex, body);
                case "POST /api/generate" -> generate(ex, body, false);
                case "POST /api/chat" -> generate(ex, body, true);
                case "POST /api/embed" -> embed(ex, body);
                case "POST /api/pull" -> pull(ex, body);
                case "DELETE /api/delete" -> delete(ex, body);
                case "POST /api/copy" -> copy(ex, body);
                case "POST /api/create" -> create(ex, body);
                case "POST /api/push" -> push(ex, body);
                default -> {
                    byte[] text = "404 page not found".getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "text/plain");
                    ex.sendResponseHeaders(404, text.length);
                    ex.getResponseBody().write(text);
                }
            }
        }
    }

    static ObjectNode obj() {
        return JSON.createObjectNode();
    }

    static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /** Starts an NDJSON answer. */
    static OutputStream startStream(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
        ex.sendResponseHeaders(200, 0);
        return ex.getResponseBody();
    }

    static void line(OutputStream out, JsonNode node) throws IOException {
        out.write(JSON.writeValueAsBytes(node));
        out.write('\n');
        out.flush();
    }

    static void rawLine(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.write('\n');
        out.flush();
    }

    private ObjectNode details(Model m) {
        ObjectNode d = obj();
        d.put("parent_model", "");
        d.put("format", "gguf");
        d.put("family", m.family());
        d.putArray("families").add(m.family());
        d.put("parameter_size", "7.6M");
        d.put("quantization_level", "Q4_K_M");
        return d;
    }

    private void tags(HttpExchange ex) throws IOException {
        ObjectNode root = obj();
        ArrayNode list = root.putArray("models");
        models.forEach((name, m) -> {
            ObjectNode n = list.addObject();
            n.put("name", name);
            n.put("model", name);
            n.put("modified_at", "2025-05-10T08:06:48.639712648-07:00");
            n.put("size", 4683075271L);
            n.put("digest", "0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163");
            n.set("details", details(m));
        });
        json(ex, 200, root);
    }

    private void ps(HttpExchange ex) throws IOException {
        ObjectNode root = obj();
        ArrayNode list = root.putArray("models");
        for (String name : loaded) {
            Model m = models.get(name);
            if (m == null) {
                continue;
            }
            ObjectNode n = list.addObject();
            n.put("name", name);
            n.put("model", name);
            n.put("size", 5137025024L);
            n.put("digest", "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8");
            n.set("details", details(m));
            n.put("expires_at", "2024-06-04T14:38:31.83753-07:00");
            n.put("size_vram", 1024);
            n.put("context_length", 4096);
        }
        json(ex, 200, root);
    }

    private boolean missing(HttpExchange ex, String name) throws IOException {
        if (models.containsKey(tagged(name))) {
            return false;
        }
        json(ex, 404, obj().put("error", "model '" + name + "' not found"));
        return true;
    }

    private void show(HttpExchange ex, JsonNode body) throws IOException {
        String name = body.path("model").asText();
        if (missing(ex, name)) {
            return;
        }
        Model m = models.get(tagged(name));
        ObjectNode root = obj();
        root.put("modelfile", "# Modelfile generated by \"ollama show\"\nFROM fake\n");
        root.put("parameters", "num_keep                       24\nstop                           \"<|eot|>\"");
        root.put("template", "{{ .System }}\nUSER: {{ .Prompt }}\nASSISTANT: ");
        root.set("details", details(m));
        ObjectNode info = root.putObject("model_info");
        info.put("general.architecture", m.family());
        info.put("general.parameter_count", 7_600_000);
        info.put(m.family() + ".context_length", m.contextLength());
        info.put(m.family() + ".embedding_length", 64);
        info.putArray("tokenizer.ggml.tokens");
        ArrayNode caps = root.putArray("capabilities");
        m.capabilities().forEach(caps::add);
        root.put("modified_at", "2025-08-01T10:00:00.000000000Z");
        json(ex, 200, root);
    }

    private static int hash(String s) {
        int h = 0x3c6ef372;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x01000193;
        }
        return h & 0x7fffffff;
    }

    static String promptOf(JsonNode body, boolean chat) {
        if (!chat) {
            String system = body.path("system").asText("");
            String suffix = body.path("suffix").asText("");
            return (system.isEmpty() ? "" : system + "\n") + body.path("prompt").asText("")
                    + (suffix.isEmpty() ? "" : "\n<suffix>\n" + suffix);
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode m : body.path("messages")) {
            sb.append(m.path("role").asText()).append(": ").append(m.path("content").asText()).append('\n');
        }
        return sb.toString();
    }

    /** The fake model's tokens for a prompt: the same prompt and seed give the same tokens. */
    static List<String> tokens(String prompt, JsonNode options, int count) {
        int h = hash(prompt);
        double temperature = options.path("temperature").asDouble(0.8);
        Random random;
        if (temperature == 0) {
            random = new Random(h);
        } else if (options.has("seed")) {
            random = new Random(h * 31L + options.path("seed").asLong());
        } else {
            random = new Random();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String w = WORDS[random.nextInt(WORDS.length)];
            out.add(i == 0 ? w.substring(0, 1).toUpperCase() + w.substring(1) : " " + w);
        }
        return out;
    }

    /** @return how many tokens the fake model produces before it ends on its own: more than the TCK's long runs */
    static int naturalLength(String prompt) {
        return 256 + hash(prompt) % 16;
    }

    private void generate(HttpExchange ex, JsonNode body, boolean chat) throws IOException {
        String name = body.path("model").asText();
        if (missing(ex, name)) {
            return;
        }
        Model model = models.get(tagged(name));
        if (!model.capabilities().contains("completion")) {
            json(ex, 400, obj().put("error", "\"" + name + "\" does not support " + (chat ? "chat" : "generate")));
            return;
        }
        if (!chat && !body.path("suffix").asText("").isEmpty() && !model.capabilities().contains("insert")) {
            json(ex, 400, obj().put("error", "\"" + name + "\" does not support insert"));
            return;
        }
        JsonNode think = body.path("think");
        boolean thinking = think.isBoolean() ? think.asBoolean() : think.isTextual();
        if (thinking && !model.capabilities().contains("thinking")) {
            json(ex, 400, obj().put("error", "\"" + name + "\" does not support thinking"));
            return;
        }
        if (chat && body.has("tools") && !model.capabilities().contains("tools")) {
            json(ex, 400, obj().put("error", "registry.ollama.ai/library/" + name + " does not support tools"));
            return;
        }
        long start = System.nanoTime();
        loaded.add(tagged(name));
        JsonNode options = body.path("options");
        String prompt = promptOf(body, chat);
        int promptTokens = prompt.split("\\s+").length + 1;
        int numPredict = options.path("num_predict").asInt(-1);
        int natural = naturalLength(prompt);
        int limit = numPredict < 0 ? natural : Math.min(numPredict, natural);
        List<String> stops = new ArrayList<>();
        options.path("stop").forEach(s -> stops.add(s.asText()));
        boolean stream = body.path("stream").asBoolean(true);

        List<JsonNode> toolCalls = new ArrayList<>();
        JsonNode messages = body.path("messages");
        JsonNode lastMessage = messages.size() > 0 ? messages.get(messages.size() - 1) : obj();
        if (chat && body.path("tools").size() > 0 && lastMessage.path("role").asText().equals("user")) {
            JsonNode tool = body.path("tools").get(0).path("function");
            String[] words = lastMessage.path("content").asText().replaceAll("[^\\p{L} ]", "").strip().split(" ");
            ObjectNode call = obj();
            call.put("id", "call_" + Integer.toHexString(hash(lastMessage.path("content").asText())));
            ObjectNode fn = call.putObject("function");
            fn.put("index", 0);
            fn.put("name", tool.path("name").asText());
            fn.putObject("arguments").put("city", words[words.length - 1]).put("days", 3);
            toolCalls.add(call);
        }

        List<String> pieces;
        JsonNode format = body.path("format");
        if (!toolCalls.isEmpty()) {
            pieces = List.of();
        } else if (format.isTextual() || format.isObject()) {
            // a schema's first required (else first) property, with a value of its type; "answer" for plain JSON
            String key = "answer";
            String type = "string";
            if (format.isObject()) {
                JsonNode props = format.path("properties");
                JsonNode required = format.path("required");
                if (required.isArray() && required.size() > 0) {
                    key = required.get(0).asText();
                } else if (props.isObject() && props.size() > 0) {
                    key = props.fieldNames().next();
                }
                type = props.path(key).path("type").asText("string");
            }
            String word = tokens(prompt, options, 1).get(0);
            pieces = switch (type) {
                case "integer", "number" -> List.of("{\"", key, "\": ", Integer.toString(word.length()), "}");
                case "boolean" -> List.of("{\"", key, "\": ", "true", "}");
                default -> List.of("{\"", key, "\": \"", word, "\"}");
            };
        } else {
            pieces = tokens(prompt, options, limit);
        }
        boolean lengthCut = toolCalls.isEmpty() && !format.isTextual() && !format.isObject() && limit < natural;

        active.incrementAndGet();
        try {
            OutputStream out = stream ? startStream(ex) : null;
            StringBuilder all = new StringBuilder();
            StringBuilder thought = new StringBuilder();
            if (thinking) {
                for (String t : List.of("Considering", " the", " question", ".")) {
                    thought.append(t);
                    if (stream) {
                        sleep();
                        line(out, chunk(name, chat, "", t, null, false));
                    }
                }
            }
            int emitted = 0;
            int generated = 0;
            String reason = lengthCut ? "length" : "stop";
            StringBuilder pending = new StringBuilder();
            boolean stopped = false;
            for (String piece : pieces) {
                generated++;
                pending.append(piece);
                int at = firstStop(pending, stops);
                if (at >= 0) {
                    pending.setLength(at);
                    reason = "stop";
                    stopped = true;
                }
                int keep = stopped ? 0 : heldBack(pending, stops);
                String ready = pending.substring(0, pending.length() - keep);
                pending.delete(0, pending.length() - keep);
                if (!ready.isEmpty()) {
                    all.append(ready);
                    emitted++;
                    if (stream) {
                        sleep();
                        ObjectNode c = chunk(name, chat, ready, "", null, false);
                        if (body.path("logprobs").asBoolean(false)) {
                            c.set("logprobs", logprobs(ready, body.path("top_logprobs").asInt(0)));
                        }
                        line(out, c);
                    }
                }
                if (stopped) {
                    break;
                }
            }
            if (!stopped && pending.length() > 0) {
                all.append(pending);
                if (stream) {
                    line(out, chunk(name, chat, pending.toString(), "", null, false));
                }
            }
            if (stream && !toolCalls.isEmpty()) {
                line(out, chunk(name, chat, "", "", toolCalls, false));
            }
            long total = System.nanoTime() - start;
            ObjectNode last = stream
                    ? chunk(name, chat, "", "", null, true)
                    : chunk(name, chat, all.toString(), thought.toString(), toolCalls.isEmpty() ? null : toolCalls, true);
            last.put("done_reason", reason);
            if (!chat) {
                last.putArray("context").add(1).add(2).add(3);
            }
            last.put("total_duration", Math.max(total, 2_000_000));
            last.put("load_duration", 1_000_000);
            last.put("prompt_eval_count", promptTokens);
            last.put("prompt_eval_duration", 500_000);
            last.put("eval_count", Math.max(generated, emitted));
            last.put("eval_duration", Math.max(total - 1_500_000, 1_000));
            if (stream) {
                line(out, last);
            } else {
                json(ex, 200, last);
            }
        } catch (IOException e) {
            disconnects.incrementAndGet();
            throw e;
        } finally {
            active.decrementAndGet();
        }
    }

    private static int firstStop(CharSequence text, List<String> stops) {
        int best = -1;
        for (String s : stops) {
            int i = text.toString().indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }

    /** @return how many trailing chars could begin a stop sequence and must wait */
    private static int heldBack(CharSequence text, List<String> stops) {
        int keep = 0;
        String t = text.toString();
        for (String s : stops) {
            for (int n = Math.min(s.length() - 1, t.length()); n > keep; n--) {
                if (t.endsWith(s.substring(0, n))) {
                    keep = n;
                    break;
                }
            }
        }
        return keep;
    }

    private void sleep() {
        long d = tokenDelayMillis;
        if (d > 0) {
            try {
                Thread.sleep(d);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static ObjectNode chunk(String model, boolean chat, String content, String thinking, List<JsonNode> toolCalls,
                            boolean done) {
        ObjectNode n = obj();
        n.put("model", model);
        n.put("created_at", Instant.now().toString());
        if (chat) {
            ObjectNode m = n.putObject("message");
            m.put("role", "assistant");
            m.put("content", content);
            if (!thinking.isEmpty()) {
                m.put("thinking", thinking);
            }
            if (toolCalls != null) {
                ArrayNode a = m.putArray("tool_calls");
                toolCalls.forEach(a::add);
            }
            m.putNull("images");
        } else {
            n.put("response", content);
            if (!thinking.isEmpty()) {
                n.put("thinking", thinking);
            }
        }
        n.put("done", done);
        return n;
    }

    /** @return the logprobs entry of a piece, with {@code top} alternatives (the piece itself first) */
    static ArrayNode logprobs(String piece, int top) {
        ArrayNode a = JSON.createArrayNode();
        ObjectNode e = a.addObject();
        double lp = -((hash(piece) % 1000) / 1000.0) - 0.001;
        e.put("token", piece);
        e.put("logprob", lp);
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        if (top > 0) {
            ArrayNode t = e.putArray("top_logprobs");
            for (int i = 0; i < top; i++) {
                String tok = i == 0 ? piece : WORDS[(hash(piece) + i) % WORDS.length];
                ObjectNode alt = t.addObject().put("token", tok).put("logprob", lp - i);
                ArrayNode tb = alt.putArray("bytes");
                for (byte b : tok.getBytes(StandardCharsets.UTF_8)) {
                    tb.add(b & 0xff);
                }
            }
        }
        return a;
    }

    final Map<String, byte[]> blobs = new ConcurrentHashMap<>();

    private void blob(HttpExchange ex, String digest, byte[] raw) throws IOException {
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            json(ex, 400, obj().put("error", "invalid digest format"));
            return;
        }
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(blobs.containsKey(digest) ? 200 : 404, -1);
            return;
        }
        String actual;
        try {
            actual = "sha256:" + java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(raw));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        if (!actual.equals(digest)) {
            json(ex, 400, obj().put("error", "digest mismatch, expected \"" + digest + "\", got \"" + actual + "\""));
            return;
        }
        blobs.put(digest, raw);
        ex.sendResponseHeaders(201, -1);
    }

    private void create(HttpExchange ex, JsonNode body) throws IOException {
        String name = tagged(body.path("model").asText());
        Model base;
        if (body.has("from")) {
            base = models.get(tagged(body.path("from").asText()));
            if (base == null) {
                json(ex, 404, obj().put("error", "model \"" + body.path("from").asText() + "\" not found"));
                return;
            }
        } else {
            for (JsonNode d : body.path("files")) {
                if (!blobs.containsKey(d.asText())) {
                    json(ex, 400, obj().put("error", "blob " + d.asText() + " not found"));
                    return;
                }
            }
            if (body.path("files").isEmpty()) {
                json(ex, 400, obj().put("error", "neither 'from' or 'files' was specified"));
                return;
            }
            base = new Model(List.of("completion"), 2048, "gguf");
        }
        OutputStream out = startStream(ex);
        line(out, obj().put("status", body.has("from") ? "using existing layer sha256:1234" : "parsing GGUF"));
        if (body.has("system")) {
            line(out, obj().put("status", "creating new layer sha256:5678"));
        }
        line(out, obj().put("status", "writing manifest"));
        models.put(name, base);
        line(out, obj().put("status", "success"));
    }

    private void push(HttpExchange ex, JsonNode body) throws IOException {
        String name = tagged(body.path("model").asText());
        if (!models.containsKey(name)) {
            json(ex, 404, obj().put("error", "model \"" + body.path("model").asText() + "\" not found"));
            return;
        }
        OutputStream out = startStream(ex);
        line(out, obj().put("status", "retrieving manifest"));
        String digest = "sha256:bc07c81de745696fdf5afca05e065818a8149fb0c77266fb584d9b2cba3711ab";
        line(out, obj().put("status", "starting upload").put("digest", digest).put("total", 2000));
        line(out, obj().put("status", "starting upload").put("digest", digest).put("total", 2000).put("completed", 2000));
        line(out, obj().put("status", "pushing manifest"));
        line(out, obj().put("status", "success"));
    }

    private void embed(HttpExchange ex, JsonNode body) throws IOException {
        String name = body.path("model").asText();
        if (missing(ex, name)) {
            return;
        }
        if (!models.get(tagged(name)).capabilities().contains("embedding")) {
            json(ex, 400, obj().put("error", "\"" + name + "\" does not support embeddings"));
            return;
        }
        List<String> inputs = new ArrayList<>();
        if (body.path("input").isTextual()) {
            inputs.add(body.path("input").asText());
        } else {
            body.path("input").forEach(i -> inputs.add(i.asText()));
        }
        ObjectNode root = obj();
        root.put("model", name);
        ArrayNode all = root.putArray("embeddings");
        int count = 0;
        int context = models.get(tagged(name)).contextLength();
        for (String text : inputs) {
            if (!body.path("truncate").asBoolean(true) && text.split("\\s+").length > context) {
                json(ex, 400, obj().put("error", "the input length exceeds the context length"));
                return;
            }
        }
        int dims = body.path("dimensions").asInt(EMBED_DIM);
        for (String text : inputs) {
            if (embedDelayMillis > 0) {
                try {
                    Thread.sleep(embedDelayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            embedded.incrementAndGet();
            Random r = new Random(hash(text));
            double[] v = new double[dims];
            double norm = 0;
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextGaussian();
                norm += v[i] * v[i];
            }
            ArrayNode a = all.addArray();
            for (double x : v) {
                a.add((float) (x / Math.sqrt(norm)));
            }
            count += text.split("\\s+").length;
        }
        root.put("total_duration", 14143917);
        root.put("load_duration", 1019500);
        root.put("prompt_eval_count", count);
        json(ex, 200, root);
    }

    private void pull(HttpExchange ex, JsonNode body) throws IOException {
        String name = tagged(body.path("model").asText());
        Model m = registry.get(name);
        if (m == null) {
            json(ex, 500, obj().put("error", "pull model manifest: file does not exist"));
            return;
        }
        OutputStream out = startStream(ex);
        line(out, obj().put("status", "pulling manifest"));
        String digest = "sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2";
        line(out, obj().put("status", "pulling " + digest.substring(7, 19)).put("digest", digest).put("total", 1000));
        for (int done = 250; done <= 1000; done += 250) {
            line(out, obj().put("status", "pulling " + digest.substring(7, 19)).put("digest", digest)
                    .put("total", 1000).put("completed", done));
        }
        line(out, obj().put("status", "verifying sha256 digest"));
        line(out, obj().put("status", "writing manifest"));
        models.put(name, m);
        line(out, obj().put("status", "success"));
    }

    private void delete(HttpExchange ex, JsonNode body) throws IOException {
        String name = tagged(body.path("model").asText());
        if (models.remove(name) == null) {
            json(ex, 404, obj().put("error", "model '" + body.path("model").asText() + "' not found"));
            return;
        }
        ex.sendResponseHeaders(200, -1);
    }

    private void copy(HttpExchange ex, JsonNode body) throws IOException {
        Model m = models.get(tagged(body.path("source").asText()));
        if (m == null) {
            json(ex, 404, obj().put("error", "model \"" + body.path("source").asText() + "\" not found"));
            return;
        }
        models.put(tagged(body.path("destination").asText()), m);
        ex.sendResponseHeaders(200, -1);
    }
}
