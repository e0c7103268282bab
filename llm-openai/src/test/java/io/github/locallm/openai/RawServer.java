package io.github.locallm.openai;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP/1.1 server on a plain socket, for what a well-behaved HTTP server cannot do: never
 * answer, drip bytes, send a line without end, reset a connection. {@code GET /v1/models} answers one
 * model, as a plain OpenAI-compatible server does; every other request goes to the handler, which writes
 * raw bytes. Every request is recorded, head and body.
 */
final class RawServer implements AutoCloseable {
    /** A received request. */
    record Request(String line, String head, String body) {
        String path() {
            return line.split(" ")[1];
        }
    }

    /** Writes the answer to one request. */
    interface Handler {
        void answer(Request request, OutputStream out) throws IOException, InterruptedException;
    }

    private final ServerSocket socket;
    private final Handler handler;
    private final ExecutorService pool;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger writeFailures = new AtomicInteger();

    RawServer(Handler handler) throws IOException {
        this.handler = handler;
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "raw-server");
            t.setDaemon(true);
            return t;
        });
        pool.execute(this::accept);
    }

    String url() {
        return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
    }

    int port() {
        return socket.getLocalPort();
    }

    long count(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).count();
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                pool.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            while (true) {
                Request r = read(in);
                if (r == null) {
                    return;
                }
                requests.add(r);
                OutputStream out = s.getOutputStream();
                if (r.line().startsWith("GET /v1/models ")) {
                    out.write(json(200, "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\","
                            + "\"owned_by\":\"someone\"}]}").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                if (!r.line().startsWith("POST /v1/") || r.path().equals("/v1/completions") && r.body().contains("\"prompt\":\"\"")) {
                    // detection probes and the completions probe: a plain server without extras
                    out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                try {
                    handler.answer(r, out);
                    out.flush();
                } catch (IOException e) {
                    writeFailures.incrementAndGet();
                }
                return;
            }
        } catch (IOException | InterruptedException e) {
            // the client went away or the server closes
        }
    }

    private static Request read(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
        return new Request(text.substring(0, text.indexOf("\r\n")), text, body);
    }

    static String json(int status, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n"
                + body;
    }

    /** The head of a server-sent event stream without a length: the body ends when the connection closes. */
    static final String SSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

    /** @return a chat chunk carrying a piece of content */
    static String chunk(String content) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"
                + "{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        socket.close();
        pool.shutdownNow();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
