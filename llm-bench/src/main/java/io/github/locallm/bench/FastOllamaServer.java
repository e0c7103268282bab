package io.github.locallm.bench;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A loopback HTTP/1.1 server that speaks Ollama's wire format and streams without any delay, so that what a
 * benchmark measures against it is the client's cost.
 *
 * <p>The model name carries the length of every answer: {@code bench:t5000} streams 5000 tokens. Streamed
 * answers are NDJSON, one line per token in its own HTTP chunk, exactly as Ollama frames them; the bytes of
 * each answer are rendered once and then written in large blocks. It answers {@code /api/chat},
 * {@code /api/generate} (streamed or not), {@code /api/show}, {@code /api/tags}, {@code /api/ps},
 * {@code /api/version} and {@code /}; an unknown model gets Ollama's 404. Keep-alive connections are
 * served one thread each.
 */
final class FastOllamaServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = {" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy",
        " dog", ".", " Local", " models", " run", " on", " your", " machine", ",", " café", " \"quoted\"", "\n"};
    private static final String CREATED_AT = "2026-11-26T16:00:00.";

    private final ServerSocket socket;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fast-ollama-conn");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, byte[]> bodies = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private FastOllamaServer(ServerSocket socket) {
        this.socket = socket;
    }

    /** Starts a server on a free loopback port. */
    static FastOllamaServer start() throws IOException {
        FastOllamaServer s = new FastOllamaServer(new ServerSocket(0, 256, InetAddress.getLoopbackAddress()));
        Thread acceptor = new Thread(s::acceptLoop, "fast-ollama-accept");
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
            default:
                break;
        }
        if (!method.equals("POST")) {
            json(out, 405, "{\"error\":\"method not allowed\"}");
            return;
        }
        JsonNode request = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
        String model = request.path("model").asText(request.path("name").asText(""));
        int tokens = tokens(model);
        if (tokens < 0) {
            json(out, 404, "{\"error\":\"model \\\"" + model + "\\\" not found, try pulling it first\"}");
            return;
        }
        boolean stream = request.path("stream").asBoolean(true);
        switch (path) {
            case "/api/show":
                json(out, 200, show());
                return;
            case "/api/chat":
            case "/api/generate":
                boolean chat = path.equals("/api/chat");
                if (stream) {
                    out.write(bodies.computeIfAbsent((chat ? "c" : "g") + model, k -> render(model, tokens, chat)));
                } else {
                    json(out, 200, single(model, tokens, chat));
                }
                return;
            default:
                json(out, 404, "404 page not found");
        }
    }

    /** Returns the answer length named by the model, or -1 for a model this server does not have. */
    private static int tokens(String model) {
        if (!model.startsWith("bench")) {
            return -1;
        }
        int t = model.indexOf(":t");
        if (t < 0) {
            return 16;
        }
        int end = t + 2;
        while (end < model.length() && Character.isDigit(model.charAt(end))) {
            end++;
        }
        return end > t + 2 ? Integer.parseInt(model.substring(t + 2, end)) : 16;
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
            String head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nDate: "
                    + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC))
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n";
            body.write(head.getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < tokens; i++) {
                chunk(body, line(model, i, WORDS[i % WORDS.length], false, tokens, chat));
            }
            chunk(body, line(model, tokens, "", true, tokens, chat));
            body.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return body.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void chunk(ByteArrayOutputStream out, byte[] line) throws IOException {
        out.write((Integer.toHexString(line.length + 1) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(line);
        out.write('\n');
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
