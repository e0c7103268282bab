package io.github.locallm.bench;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;

/**
 * A loopback HTTP/1.1 server that speaks Ollama's wire format ({@code /api/...}, NDJSON) and the
 * OpenAI-compatible one ({@code /v1/...}, server-sent events), and emits the tokens of an answer either at once
 * or one by one at a fixed interval, the way a model generates them.
 *
 * <p>The model name carries the answer: {@code bench:t400i5000} streams 400 tokens, one every 5,000 µs;
 * {@code bench:t16} streams 16 tokens without any delay. Every token is one NDJSON line or one SSE event in its
 * own HTTP chunk, framed exactly as Ollama and vLLM frame them. A paced token's text is a space and the
 * server's {@link System#nanoTime()} just before its chunk was written ({@code " 81234567890123"}): on Linux
 * that clock is the system-wide monotonic clock, so a client in another process on the same machine can tell
 * how long the token took from the server's write to its handler. Unpaced answers are rendered once and then
 * written in large blocks, so what is measured against them is the client's own cost.
 *
 * <p>It answers {@code /api/chat}, {@code /api/generate}, {@code /api/show}, {@code /api/tags}, {@code /api/ps},
 * {@code /api/version}, {@code /}, {@code GET /v1/models} (the names given at start) and
 * {@code POST /v1/chat/completions}; an unknown model gets Ollama's or OpenAI's 404. Keep-alive connections are
 * served one thread each. Thread-safe.
 */
final class PacedServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = {" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy",
        " dog", ".", " Local", " models", " run", " on", " your", " machine", ",", " café", " \"quoted\"", "\n"};
    private static final String CREATED_AT = "2026-11-26T16:00:00.";
    private static final long CREATED = 1_796_000_000L;

    private final ServerSocket socket;
    private final List<String> listed;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "paced-server-conn");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, byte[]> bodies = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private PacedServer(ServerSocket socket, List<String> listed) {
        this.socket = socket;
        this.listed = List.copyOf(listed);
    }

    /** Starts a server on a free loopback port that lists {@code bench:t16} in {@code /v1/models}. */
    static PacedServer start() throws IOException {
        return start(List.of("bench:t16"));
    }

    /** Starts a server on a free loopback port; {@code /v1/models} lists {@code listed}. */
    static PacedServer start(List<String> listed) throws IOException {
        PacedServer s = new PacedServer(new ServerSocket(0, 256, InetAddress.getLoopbackAddress()), listed);
        Thread acceptor = new Thread(s::acceptLoop, "paced-server-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        return s;
    }

    int port() {
        return socket.getLocalPort();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket c = socket.accept();
                pool.execute(() -> serve(c));
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("accept failed: " + e);
                }
            }
        }
    }

    private void serve(Socket c) {
        try (c) {
            c.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(c.getInputStream(), 16 * 1024);
            OutputStream out = new BufferedOutputStream(c.getOutputStream(), 64 * 1024);
            while (true) {
                String requestLine = readLine(in);
                if (requestLine == null) {
                    return;
                }
                if (requestLine.isEmpty()) {
                    continue;
                }
                String[] parts = requestLine.split(" ");
                if (parts.length != 3) {
                    return;
                }
                Map<String, String> headers = new HashMap<>();
                String line;
                while ((line = readLine(in)) != null && !line.isEmpty()) {
                    int colon = line.indexOf(':');
                    if (colon > 0) {
                        headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                                line.substring(colon + 1).trim());
                    }
                }
                if (line == null) {
                    return;
                }
                byte[] body = readBody(in, headers);
                String path = parts[1];
                int q = path.indexOf('?');
                if (q >= 0) {
                    path = path.substring(0, q);
                }
                respond(parts[0], path, body, out);
                out.flush();
                if ("close".equalsIgnoreCase(headers.get("connection")) || parts[2].equals("HTTP/1.0")) {
                    return;
                }
            }
        } catch (IOException e) {
            // The client went away; nothing to do.
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                int n = sb.length();
                if (n > 0 && sb.charAt(n - 1) == '\r') {
                    sb.setLength(n - 1);
                }
                return sb.toString();
            }
            sb.append((char) b);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static byte[] readBody(InputStream in, Map<String, String> headers) throws IOException {
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            while (true) {
                String size = readLine(in);
                if (size == null) {
                    throw new IOException("truncated chunked body");
                }
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                if (n == 0) {
                    String trailer;
                    while ((trailer = readLine(in)) != null && !trailer.isEmpty()) {
                        // Trailers are ignored.
                    }
                    return buf.toByteArray();
                }
                buf.write(in.readNBytes(n));
                readLine(in);
            }
        }
        String length = headers.get("content-length");
        return length == null ? new byte[0] : in.readNBytes(Integer.parseInt(length));
    }

    private void respond(String method, String path, byte[] body, OutputStream out) throws IOException {
        switch (path) {
            case "/":
                plain(out, 200, "text/plain; charset=utf-8", method.equals("HEAD") ? new byte[0]
                        : "Ollama is running".getBytes(StandardCharsets.UTF_8));
                return;
            case "/api/version":
                json(out, 200, "{\"version\":\"0.12.6\"}");
                return;
            case "/api/ps":
                json(out, 200, "{\"models\":[]}");
                return;
            case "/api/tags":
                json(out, 200, "{\"models\":[{\"name\":\"bench:t16\",\"model\":\"bench:t16\",\"modified_at\":"
                        + "\"2026-11-26T16:00:00.000000000Z\",\"size\":213000000,\"digest\":\"0000\","
                        + "\"details\":" + details() + "}]}");
                return;
            case "/v1/models":
                json(out, 200, models());
                return;
            default:
                break;
        }
        boolean openAi = path.startsWith("/v1/");
        if (!method.equals("POST")) {
            json(out, 405, "{\"error\":\"method not allowed\"}");
            return;
        }
        JsonNode request = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
        String model = request.path("model").asText(request.path("name").asText(""));
        Answer answer = Answer.parse(model);
        if (answer == null) {
            json(out, 404, openAi
                    ? "{\"error\":{\"message\":\"The model `" + model.replace("\"", "") + "` does not exist.\","
                    + "\"type\":\"NotFoundError\",\"param\":null,\"code\":404}}"
                    : "{\"error\":\"model \\\"" + model.replace("\"", "") + "\\\" not found, try pulling it first\"}");
            return;
        }
        boolean stream = request.path("stream").asBoolean(!openAi);
        switch (path) {
            case "/api/show":
                json(out, 200, show());
                return;
            case "/api/chat":
            case "/api/generate":
                boolean chat = path.equals("/api/chat");
                if (!stream) {
                    json(out, 200, single(model, answer.tokens, chat));
                } else if (answer.intervalMicros == 0) {
                    out.write(bodies.computeIfAbsent((chat ? "c" : "g") + model,
                            k -> render(model, answer.tokens, chat)));
                } else {
                    pacedOllama(out, model, answer, chat);
                }
                return;
            case "/v1/chat/completions":
                boolean usage = request.path("stream_options").path("include_usage").asBoolean(false);
                if (!stream) {
                    json(out, 200, openAiSingle(model, answer.tokens));
                } else if (answer.intervalMicros == 0) {
                    out.write(bodies.computeIfAbsent("o" + usage + model, k -> renderSse(model, answer.tokens, usage)));
                } else {
                    pacedSse(out, model, answer, usage);
                }
                return;
            default:
                json(out, 404, "404 page not found");
        }
    }

    /** The answer a model name asks for: its length in tokens and the interval between tokens. */
    record Answer(int tokens, long intervalMicros) {
        /** Returns the answer named by the model, or null for a model this server does not have. */
        static Answer parse(String model) {
            if (!model.startsWith("bench")) {
                return null;
            }
            int t = model.indexOf(":t");
            if (t < 0) {
                return new Answer(16, 0);
            }
            int end = t + 2;
            while (end < model.length() && Character.isDigit(model.charAt(end))) {
                end++;
            }
            int tokens = end > t + 2 ? Integer.parseInt(model.substring(t + 2, end)) : 16;
            long interval = 0;
            if (end < model.length() && model.charAt(end) == 'i') {
                int from = end + 1;
                int to = from;
                while (to < model.length() && Character.isDigit(model.charAt(to))) {
                    to++;
                }
                interval = to > from ? Long.parseLong(model.substring(from, to)) : 0;
            }
            return new Answer(tokens, interval);
        }
    }

    /** Sleeps until {@code deadline} (a {@link System#nanoTime()} value); a late token is written at once. */
    private static void waitUntil(long deadline) {
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    private static String head(String type) {
        return "HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nDate: "
                + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC))
                + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    }

    private static void pacedOllama(OutputStream out, String model, Answer a, boolean chat) throws IOException {
        out.write(head("application/x-ndjson").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        long start = System.nanoTime();
        for (int i = 0; i < a.tokens; i++) {
            waitUntil(start + (i + 1) * a.intervalMicros * 1000);
            byte[] line = line(model, i, " " + System.nanoTime(), false, a.tokens, chat);
            writeChunk(out, line, (byte) '\n');
            out.flush();
        }
        writeChunk(out, line(model, a.tokens, "", true, a.tokens, chat), (byte) '\n');
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static void pacedSse(OutputStream out, String model, Answer a, boolean usage) throws IOException {
        out.write(head("text/event-stream; charset=utf-8").getBytes(StandardCharsets.US_ASCII));
        String id = "chatcmpl-" + Long.toHexString(System.nanoTime());
        writeEvent(out, openAiChunk(id, model, "{\"role\":\"assistant\",\"content\":\"\"}", null));
        out.flush();
        long start = System.nanoTime();
        for (int i = 0; i < a.tokens; i++) {
            waitUntil(start + (i + 1) * a.intervalMicros * 1000);
            writeEvent(out, openAiChunk(id, model, "{\"content\":\" " + System.nanoTime() + "\"}", null));
            out.flush();
        }
        finishSse(out, id, model, a.tokens, usage);
    }

    /** Writes one SSE event ({@code data: ...} and a blank line) as one HTTP chunk. */
    private static void writeEvent(OutputStream out, String data) throws IOException {
        byte[] d = ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8);
        out.write((Integer.toHexString(d.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(d);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static void finishSse(OutputStream out, String id, String model, int tokens, boolean usage)
            throws IOException {
        writeEvent(out, openAiChunk(id, model, "{}", "stop"));
        if (usage) {
            writeEvent(out, "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + CREATED
                    + ",\"model\":\"" + model + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,"
                    + "\"total_tokens\":" + (tokens + 8) + ",\"completion_tokens\":" + tokens + "}}");
        }
        writeEvent(out, "[DONE]");
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** One {@code chat.completion.chunk}, fields in the order vLLM writes them. */
    private static String openAiChunk(String id, String model, String delta, String finish) {
        return "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":" + CREATED + ",\"model\":\""
                + model + "\",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":"
                + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    /** Renders a whole unpaced SSE answer: HTTP head, one chunk per event, the last chunk. */
    static byte[] renderSse(String model, int tokens, boolean usage) {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream(tokens * 220 + 1024);
            body.write(head("text/event-stream; charset=utf-8").getBytes(StandardCharsets.US_ASCII));
            String id = "chatcmpl-bench" + tokens;
            writeEvent(body, openAiChunk(id, model, "{\"role\":\"assistant\",\"content\":\"\"}", null));
            for (int i = 0; i < tokens; i++) {
                writeEvent(body, openAiChunk(id, model, "{\"content\":" + JSON.writeValueAsString(WORDS[i % WORDS.length])
                        + "}", null));
            }
            finishSse(body, id, model, tokens, usage);
            return body.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String models() {
        ObjectNode n = JSON.createObjectNode();
        n.put("object", "list");
        ArrayNode data = n.putArray("data");
        for (String m : listed) {
            ObjectNode e = data.addObject();
            e.put("id", m);
            e.put("object", "model");
            e.put("created", CREATED);
            e.put("owned_by", "vllm");
            e.put("root", m);
            e.putNull("parent");
            e.put("max_model_len", 4096);
        }
        return n.toString();
    }

    private static String openAiSingle(String model, int tokens) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            text.append(WORDS[i % WORDS.length]);
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("id", "chatcmpl-bench");
        n.put("object", "chat.completion");
        n.put("created", CREATED);
        n.put("model", model);
        ObjectNode choice = n.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode m = choice.putObject("message");
        m.put("role", "assistant");
        m.put("content", text.toString());
        choice.putNull("logprobs");
        choice.put("finish_reason", "stop");
        ObjectNode u = n.putObject("usage");
        u.put("prompt_tokens", 8);
        u.put("total_tokens", tokens + 8);
        u.put("completion_tokens", tokens);
        return n.toString();
    }

    private static String details() {
        return "{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"llama\",\"families\":[\"llama\"],"
                + "\"parameter_size\":\"200M\",\"quantization_level\":\"Q8_0\"}";
    }

    private static String show() {
        return "{\"license\":\"\",\"modelfile\":\"FROM bench\\n\",\"parameters\":\"\",\"template\":\"{{ .Prompt }}\","
                + "\"details\":" + details() + ",\"model_info\":{\"general.architecture\":\"llama\","
                + "\"general.parameter_count\":200000000,\"llama.context_length\":4096,"
                + "\"llama.embedding_length\":1024},\"capabilities\":[\"completion\"],"
                + "\"modified_at\":\"2026-11-26T16:00:00.000000000Z\"}";
    }

    private static String createdAt(int i) {
        return CREATED_AT + String.format(Locale.ROOT, "%09d", i * 1000) + "Z";
    }

    /** Renders one whole streamed answer: HTTP head, then one chunk per NDJSON line, then the last chunk. */
    static byte[] render(String model, int tokens, boolean chat) {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream(tokens * 140 + 512);
            body.write(head("application/x-ndjson").getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < tokens; i++) {
                writeChunk(body, line(model, i, WORDS[i % WORDS.length], false, tokens, chat), (byte) '\n');
            }
            writeChunk(body, line(model, tokens, "", true, tokens, chat), (byte) '\n');
            body.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return body.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code data} and its terminator as one HTTP chunk. */
    private static void writeChunk(OutputStream out, byte[] data, byte terminator) throws IOException {
        out.write((Integer.toHexString(data.length + 1) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.write(terminator);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /** One NDJSON line, fields in the order Ollama writes them. */
    private static byte[] line(String model, int i, String text, boolean done, int tokens, boolean chat)
            throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(160);
        try (JsonGenerator g = JSON.getFactory().createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("model", model);
            g.writeStringField("created_at", createdAt(i));
            if (chat) {
                g.writeObjectFieldStart("message");
                g.writeStringField("role", "assistant");
                g.writeStringField("content", text);
                g.writeEndObject();
                if (done) {
                    g.writeStringField("done_reason", "stop");
                }
                g.writeBooleanField("done", done);
            } else {
                g.writeStringField("response", text);
                g.writeBooleanField("done", done);
                if (done) {
                    g.writeStringField("done_reason", "stop");
                    g.writeArrayFieldStart("context");
                    for (int c = 0; c < 4; c++) {
                        g.writeNumber(c + 1);
                    }
                    g.writeEndArray();
                }
            }
            if (done) {
                g.writeNumberField("total_duration", 1_000_000L + tokens * 1000L);
                g.writeNumberField("load_duration", 1000);
                g.writeNumberField("prompt_eval_count", 8);
                g.writeNumberField("prompt_eval_duration", 1000);
                g.writeNumberField("eval_count", tokens);
                g.writeNumberField("eval_duration", tokens * 1000L);
            }
            g.writeEndObject();
        }
        return buf.toByteArray();
    }

    private static String single(String model, int tokens, boolean chat) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            text.append(WORDS[i % WORDS.length]);
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("model", model);
        n.put("created_at", createdAt(0));
        if (chat) {
            ObjectNode m = n.putObject("message");
            m.put("role", "assistant");
            m.put("content", text.toString());
            n.put("done_reason", "stop");
            n.put("done", true);
        } else {
            n.put("response", text.toString());
            n.put("done", true);
            n.put("done_reason", "stop");
        }
        n.put("total_duration", 1_000_000L + tokens * 1000L);
        n.put("load_duration", 1000);
        n.put("prompt_eval_count", 8);
        n.put("prompt_eval_duration", 1000);
        n.put("eval_count", tokens);
        n.put("eval_duration", tokens * 1000L);
        return n.toString();
    }

    private static void json(OutputStream out, int status, String body) throws IOException {
        plain(out, status, "application/json; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void plain(OutputStream out, int status, String type, byte[] body) throws IOException {
        String reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Method Not Allowed";
        String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: " + type + "\r\nDate: "
                + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC))
                + "\r\nContent-Length: " + body.length + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        socket.close();
        pool.shutdownNow();
    }
}
