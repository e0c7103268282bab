package io.github.locallm.ollama;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * A loopback HTTP/1.1 server on a plain socket, for faults that a full HTTP server cannot produce: a
 * connection reset in the middle of a chunked answer. Each path maps to raw bytes to write; a path whose
 * answer ends with {@link #RESET} has its connection reset after the bytes.
 */
final class RawHttpServer implements AutoCloseable {
    static final String RESET = "\u0000RESET";

    private final ServerSocket socket;
    private final Map<String, String> answers;
    private final Thread thread;

    RawHttpServer(Map<String, String> answers) throws IOException {
        this.answers = answers;
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        thread = new Thread(this::serve, "raw-http");
        thread.setDaemon(true);
        thread.start();
    }

    String url() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    private void serve() {
        while (!socket.isClosed()) {
            try (Socket s = socket.accept()) {
                s.setSoTimeout(5000);
                String path = readRequest(s.getInputStream());
                String answer = answers.getOrDefault(path, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                boolean reset = answer.endsWith(RESET);
                if (reset) {
                    answer = answer.substring(0, answer.length() - RESET.length());
                }
                OutputStream out = s.getOutputStream();
                out.write(answer.getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (reset) {
                    s.setSoLinger(true, 0);
                }
            } catch (IOException e) {
                // next connection
            }
        }
    }

    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("client closed");
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int length = 0;
        for (String line : lines) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        in.readNBytes(length);
        return lines[0].split(" ")[1];
    }

    /** @return an HTTP 200 answer with a JSON body */
    static String json(String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\n\r\n" + body;
    }

    /** @return the start of a chunked NDJSON answer holding the lines, without the last chunk */
    static String chunkedStart(String... lines) {
        StringBuilder sb = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n");
        for (String line : lines) {
            byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
            sb.append(Integer.toHexString(b.length)).append("\r\n").append(line).append("\n\r\n");
        }
        return sb.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
