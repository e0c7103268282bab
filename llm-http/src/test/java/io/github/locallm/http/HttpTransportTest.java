package io.github.locallm.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;


import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The transport against a real loopback server: limits, redirects and their typed failures. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class HttpTransportTest {
    interface Handler {
        void handle(com.sun.net.httpserver.HttpExchange ex) throws IOException;
    }

    private HttpServer server;
    private HttpServer other;
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private final List<String> otherSaw = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", ex -> {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                Handler h = handlers.get(ex.getRequestURI().getPath());
                if (h == null) {
                    ex.sendResponseHeaders(404, -1);
                } else {
                    h.handle(ex);
                }
            }
        });
        server.start();
        other = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        other.createContext("/", ex -> {
            try (ex) {
                otherSaw.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().keySet()
                        + " " + new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                ex.sendResponseHeaders(200, -1);
            }
        });
        other.start();
    }

    @AfterAll
    void stop() {
        server.stop(0);
        other.stop(0);
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private static HttpTransport transport(HttpLimits limits) {
        return HttpTransport.create(null, limits, "the test server");
    }

    private static Request.Builder post(String url, String body) {
        return new Request.Builder().url(url).header("Authorization", "Bearer secret")
                .post(RequestBody.create(body, MediaType.get("application/json")));
    }

    /** Runs a call to its first failure and returns the typed exception. */
    private static RuntimeException fail(HttpTransport t, Request.Builder req, boolean streamed, boolean body) {
        try (HttpExchange x = t.open(req, "a test call", streamed)) {
            try {
                x.execute();
                if (body) {
                    x.readBody();
                } else {
                    while (x.readLine() != null) {
                        // read on
                    }
                }
                throw new AssertionError("the call ended normally");
            } catch (IOException e) {
                RuntimeException typed = x.failure(e);
                return typed != null ? typed : new RuntimeException(e);
            }
        } catch (io.github.locallm.LlmException e) {
            return e;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void firstByteIdleAndRequestLimitsAreNamed() {
        handlers.put("/slow-start", ex -> sleep(3000));
        handlers.put("/stall", ex -> {
            ex.sendResponseHeaders(200, 0);
            ex.getResponseBody().write("one\n".getBytes(StandardCharsets.UTF_8));
            ex.getResponseBody().flush();
            sleep(3000);
        });
        handlers.put("/forever", ex -> {
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            for (int i = 0; i < 300; i++) {
                out.write("tick\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                sleep(10);
            }
        });
        HttpLimits l = HttpLimits.builder().firstByte(Duration.ofMillis(300)).idle(Duration.ofMillis(300))
                .request(Duration.ofMillis(800)).minRate(0, Duration.ofSeconds(1)).build();
        HttpTransport t = transport(l);
        assertThat(fail(t, post(url("/slow-start"), "{}"), true, false)).isInstanceOfSatisfying(LimitExceededException.class,
                e -> {
                    assertThat(e.limit()).isEqualTo(Limit.FIRST_BYTE);
                    assertThat(e.value()).isEqualTo(300);
                    assertThat(e.getMessage()).contains("first_token_timeout").contains("a test call");
                });
        assertThat(fail(t, post(url("/stall"), "{}"), true, false)).isInstanceOfSatisfying(LimitExceededException.class,
                e -> assertThat(e.limit()).isEqualTo(Limit.IDLE));
        assertThat(fail(t, post(url("/forever"), "{}"), true, false)).isInstanceOfSatisfying(LimitExceededException.class,
                e -> assertThat(e.limit()).isEqualTo(Limit.REQUEST));
        // the same slow start is fine when the answer is computed as a whole (no first-byte limit)
        HttpTransport patient = transport(l.toBuilder().request(Duration.ofSeconds(10)).build());
        handlers.put("/whole", ex -> {
            sleep(600);
            byte[] b = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
        });
        try (HttpExchange x = patient.open(post(url("/whole"), "{}"), "whole", false)) {
            x.execute();
            assertThat(x.readBody()).isEqualTo("{\"ok\":true}");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void dripBelowTheMinimumRateIsCut() {
        handlers.put("/drip", ex -> {
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.write("start\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            for (int i = 0; i < 100; i++) {
                out.write('.');
                out.flush();
                sleep(100);
            }
        });
        HttpTransport t = transport(HttpLimits.builder().idle(Duration.ofSeconds(20)).minRate(100, Duration.ofSeconds(1)).build());
        long t0 = System.nanoTime();
        assertThat(fail(t, post(url("/drip"), "{}"), true, false)).isInstanceOfSatisfying(LimitExceededException.class,
                e -> assertThat(e.limit()).isEqualTo(Limit.MIN_RATE));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(900L, 8000L);
    }

    @Test
    void gzipBodyIsCountedAfterDecompression() {
        handlers.put("/bomb", ex -> {
            ex.getResponseHeaders().set("Content-Encoding", "gzip");
            ex.sendResponseHeaders(200, 0);
            try (GZIPOutputStream gz = new GZIPOutputStream(ex.getResponseBody())) {
                gz.write(new byte[4 << 20]);
            } catch (IOException e) {
                // the client went away
            }
        });
        HttpTransport t = transport(HttpLimits.builder().maxBodyBytes(1 << 20).build());
        assertThat(fail(t, new Request.Builder().url(url("/bomb")), false, true))
                .isInstanceOfSatisfying(LimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(Limit.BODY_SIZE);
                    assertThat(e.value()).isEqualTo(1 << 20);
                });
        HttpTransport lines = transport(HttpLimits.builder().maxLineBytes(1000).build());
        assertThat(fail(lines, new Request.Builder().url(url("/bomb")), true, false))
                .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.LINE_LENGTH));
        HttpTransport stream = transport(HttpLimits.builder().maxStreamBytes(10_000).build());
        handlers.put("/many", ex -> {
            ex.sendResponseHeaders(200, 0);
            try {
                for (int i = 0; i < 100_000; i++) {
                    ex.getResponseBody().write("line of text\n".getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // the client went away
            }
        });
        assertThat(fail(stream, new Request.Builder().url(url("/many")), true, false))
                .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.STREAM_SIZE));
    }

    @Test
    void redirectsStayWithinTheOrigin() throws IOException {
        String elsewhere = "http://127.0.0.1:" + other.getAddress().getPort() + "/steal";
        handlers.put("/away", ex -> {
            ex.getResponseHeaders().set("Location", elsewhere);
            ex.sendResponseHeaders(307, -1);
        });
        HttpTransport t = transport(HttpLimits.defaults());
        assertThat(fail(t, post(url("/away"), "{\"prompt\":\"private\"}"), true, false))
                .isInstanceOfSatisfying(RedirectRefusedException.class, e -> assertThat(e.location()).isEqualTo(elsewhere));
        assertThat(otherSaw).isEmpty();

        handlers.put("/moved", ex -> {
            ex.getResponseHeaders().set("Location", "/here");
            ex.sendResponseHeaders(308, -1);
        });
        List<String> hereSaw = new CopyOnWriteArrayList<>();
        handlers.put("/here", ex -> {
            hereSaw.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Authorization"));
            byte[] b = "fine\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
        });
        try (HttpExchange x = t.open(post(url("/moved"), "{}"), "moved", true)) {
            Response r = x.execute();
            assertThat(r.code()).isEqualTo(200);
            assertThat(x.readLine()).isEqualTo("fine");
        }
        assertThat(hereSaw).containsExactly("POST Bearer secret");
    }
}
