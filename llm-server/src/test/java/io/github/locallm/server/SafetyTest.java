package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The server's safety defaults and bounds, one test each. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SafetyTest {
    private static final String SLOW_CHAT = "{\"model\":\"fake\",\"options\":{\"num_predict\":200},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"tell a long story about many things in order\"}]}";

    @AfterEach
    void fastFake() {
        Fixture.FAKE_OLLAMA.tokenDelayMillis(1);
        Fixture.FAKE_OLLAMA.embedDelayMillis(0);
    }

    private static LlmServer.Builder fake() {
        Fixture.SERVER.port(); // the shared models exist
        return LlmServer.builder().model("fake", Fixture.FAKE).model("tiny", Fixture.TINY).port(0);
    }

    private static String chat(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
    }

    @Test
    void bindsToLoopbackByDefault() {
        try (LlmServer s = fake().start()) {
            assertThat(s.address().getAddress().isLoopbackAddress()).isTrue();
            assertThat(s.baseUri().getHost()).isEqualTo("127.0.0.1");
        }
    }

    @Test
    void apiKeyIsRequiredWhenSet() throws Exception {
        try (LlmServer s = fake().apiKey("s3cret").start()) {
            String base = s.baseUri().toString();
            HttpResponse<String> none = Http.get(base + "/v1/models");
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
            assertThat(Http.json(none.body()).get("error").get("code").asText()).isEqualTo("invalid_api_key");
            assertThat(Http.get(base + "/api/tags", "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
            assertThat(Http.json(Http.get(base + "/api/tags").body()).get("error").asText()).contains("unauthorized");
            assertThat(Http.get(base + "/api/tags", "Authorization", "Bearer s3cret").statusCode()).isEqualTo(200);
            assertThat(Http.get(base + "/").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void requestBodyIsBounded() throws Exception {
        try (LlmServer s = fake().maxBodyBytes(1000).start()) {
            String big = chat("fake", ",\"pad\":\"" + "x".repeat(2000) + "\"");
            HttpResponse<String> r = Http.post(s.baseUri() + "/v1/chat/completions", big);
            assertThat(r.statusCode()).isEqualTo(413);
            assertThat(Http.json(r.body()).get("error").get("message").asText()).contains("1000 bytes");
        }
    }

    @Test
    void promptIsBounded() throws Exception {
        try (LlmServer s = fake().maxPromptChars(50).start()) {
            String req = "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "y".repeat(60) + "\"}]}";
            HttpResponse<String> r = Http.post(s.baseUri() + "/api/chat", req);
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(Http.json(r.body()).get("error").asText()).contains("limit of 50");
        }
    }

    @Test
    void maxTokensIsBoundedAndDefaultsToTheBound() throws Exception {
        try (LlmServer s = fake().maxTokens(5).start()) {
            HttpResponse<String> over = Http.post(s.baseUri() + "/v1/chat/completions", chat("fake", ",\"max_tokens\":6"));
            assertThat(over.statusCode()).isEqualTo(400);
            assertThat(Http.json(over.body()).get("error").get("param").asText()).isEqualTo("max_tokens");
            HttpResponse<String> ollama = Http.post(s.baseUri() + "/api/generate",
                    "{\"model\":\"fake\",\"prompt\":\"x\",\"options\":{\"num_predict\":99}}");
            assertThat(ollama.statusCode()).isEqualTo(400);
            JsonNode unbounded = Http.json(Http.post(s.baseUri() + "/api/chat",
                    "{\"model\":\"fake\",\"stream\":false,\"options\":{\"num_predict\":-1},"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"tell a long story about many things\"}]}").body());
            assertThat(unbounded.get("eval_count").asInt()).isLessThanOrEqualTo(5);
        }
    }

    @Test
    void pastTheQueueA503WithRetryAfter() throws Exception {
        Fixture.FAKE_OLLAMA.tokenDelayMillis(100);
        try (LlmServer s = fake().concurrency(1).queue(0).start()) {
            CompletableFuture<HttpResponse<String>> first = postAsync(s.baseUri() + "/api/chat", SLOW_CHAT);
            waitFor(() -> s.activeGenerations() == 1);
            HttpResponse<String> refused = Http.post(s.baseUri() + "/v1/chat/completions", chat("fake", ""));
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Integer.parseInt(v)).isPositive());
            assertThat(Http.json(refused.body()).get("error").get("code").asText()).isEqualTo("server_overloaded");
            Fixture.FAKE_OLLAMA.tokenDelayMillis(1);
            assertThat(first.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aWaitingRequestGetsItsTurnWithinTheQueue() throws Exception {
        Fixture.FAKE_OLLAMA.tokenDelayMillis(20);
        try (LlmServer s = fake().concurrency(1).queue(1).start()) {
            CompletableFuture<HttpResponse<String>> first = postAsync(s.baseUri() + "/api/chat", SLOW_CHAT);
            waitFor(() -> s.activeGenerations() == 1);
            HttpResponse<String> queued = Http.post(s.baseUri() + "/v1/chat/completions", chat("fake", ""));
            assertThat(queued.statusCode()).isEqualTo(200);
            assertThat(first.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aClientThatGoesAwayCancelsItsStreamedGeneration() throws Exception {
        clientGoesAway("/api/chat", SLOW_CHAT);
    }

    @Test
    void aClientThatGoesAwayCancelsItsNonStreamedGeneration() throws Exception {
        clientGoesAway("/api/chat", SLOW_CHAT.replace("{\"model\"", "{\"stream\":false,\"model\""));
        clientGoesAway("/v1/chat/completions", SLOW_CHAT.replace("\"options\":{\"num_predict\":200}",
                "\"max_tokens\":200"));
    }

    /**
     * Sends a request for a generation of 200 tokens at 100 ms each (20 s), drops the connection once the
     * generation runs, and expects it to end on the server and on the backend within 5 s.
     */
    private static void clientGoesAway(String path, String request) throws Exception {
        boolean streamed = !request.contains("\"stream\":false") && !path.startsWith("/v1/");
        Fixture.FAKE_OLLAMA.tokenDelayMillis(100);
        try (LlmServer s = fake().start(); Socket socket = new Socket(InetAddress.getLoopbackAddress(), s.port())) {
            byte[] body = request.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            if (streamed) {
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null && !line.contains("\"done\":false")) {
                    // headers and chunk sizes, up to the first streamed piece
                }
                assertThat(line).contains("\"done\":false");
            } else {
                // nothing arrives before the whole answer: wait until the backend generates
                waitFor(() -> Fixture.FAKE_OLLAMA.active() == 1, 30);
                Thread.sleep(300);
                assertThat(socket.getInputStream().available()).as("no answer yet").isZero();
            }
            assertThat(s.activeGenerations()).isEqualTo(1);
            socket.close();
            long closed = System.nanoTime();
            waitFor(() -> s.activeGenerations() == 0 && Fixture.FAKE_OLLAMA.active() == 0, 5);
            System.out.println(path + (streamed ? " (streamed)" : " (not streamed)") + ": generation ended "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closed) + " ms after the client went away");
        }
    }

    /**
     * An embedding request of 64 texts at 50 ms per text (3.2 s) whose client goes away once the first texts
     * are embedded: the server stops sending texts to the model; a request that stays gets all 64 vectors.
     */
    @Test
    void aClientThatGoesAwayStopsItsEmbeddings() throws Exception {
        StringBuilder texts = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            texts.append(i == 0 ? "" : ",").append("\"text ").append(i).append('"');
        }
        try (io.github.locallm.LocalLlm embedder = io.github.locallm.LocalLlm.open(Fixture.FAKE_OLLAMA.embedSpec());
             LlmServer s = fake().model("fake-embed", embedder).start()) {
            HttpResponse<String> whole = Http.post(s.baseUri() + "/v1/embeddings",
                    "{\"model\":\"fake-embed\",\"input\":[" + texts + "]}");
            assertThat(whole.statusCode()).isEqualTo(200);
            assertThat(Http.json(whole.body()).get("data")).hasSize(64);
            Fixture.FAKE_OLLAMA.embedDelayMillis(50);
            for (String path : new String[] {"/v1/embeddings", "/api/embed"}) {
                int start = Fixture.FAKE_OLLAMA.embedded();
                byte[] body = ("{\"model\":\"fake-embed\",\"input\":[" + texts + "]}").getBytes(StandardCharsets.UTF_8);
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), s.port())) {
                    OutputStream out = socket.getOutputStream();
                    out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.flush();
                    waitFor(() -> Fixture.FAKE_OLLAMA.embedded() > start, 30);
                }
                // the texts already sent to the model finish; no further ones are sent
                int last = -1;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (Fixture.FAKE_OLLAMA.embedded() != last && System.nanoTime() < deadline) {
                    last = Fixture.FAKE_OLLAMA.embedded();
                    Thread.sleep(1_000);
                }
                int done = Fixture.FAKE_OLLAMA.embedded() - start;
                System.out.println(path + ": " + done + " of 64 texts embedded after the client went away");
                assertThat(done).as(path).isLessThan(64);
                // the model's slot is free again: the next request is answered
                Fixture.FAKE_OLLAMA.embedDelayMillis(0);
                assertThat(Http.post(s.baseUri() + path, "{\"model\":\"fake-embed\",\"input\":\"again\"}")
                        .statusCode()).isEqualTo(200);
                Fixture.FAKE_OLLAMA.embedDelayMillis(50);
            }
        }
    }

    @Test
    void onlyConfiguredModelsAreServed() throws Exception {
        try (LlmServer s = fake().start()) {
            for (String model : new String[] {"/etc/passwd", "llamacpp:" + Fixture.GGUF, "../tiny", "tiny-embed"}) {
                HttpResponse<String> r = Http.post(s.baseUri() + "/api/chat", chat(model.replace("\"", ""), ""));
                assertThat(r.statusCode()).as(model).isEqualTo(404);
            }
            assertThat(Http.post(s.baseUri() + "/api/pull", "{\"model\":\"llama3.2\"}").statusCode()).isEqualTo(404);
            assertThat(Http.post(s.baseUri() + "/api/create", "{\"model\":\"x\",\"from\":\"tiny\"}").statusCode()).isEqualTo(403);
        }
    }

    @Test
    void corsIsOffUnlessConfigured() throws Exception {
        try (LlmServer s = fake().start()) {
            HttpResponse<String> r = Http.get(s.baseUri() + "/api/tags", "Origin", "http://evil.example");
            assertThat(r.statusCode()).isEqualTo(403);
            assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
        }
        try (LlmServer s = fake().corsOrigin("http://localhost:3000").start()) {
            HttpResponse<String> ok = Http.get(s.baseUri() + "/api/tags", "Origin", "http://localhost:3000");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.headers().firstValue("Access-Control-Allow-Origin")).hasValue("http://localhost:3000");
            assertThat(Http.get(s.baseUri() + "/api/tags", "Origin", "http://other.example").statusCode()).isEqualTo(403);
        }
    }

    @Test
    void foreignHostNamesAreRefusedOnLoopback() throws Exception {
        try (LlmServer s = fake().start(); Socket socket = new Socket(InetAddress.getLoopbackAddress(), s.port())) {
            socket.getOutputStream().write("GET /api/tags HTTP/1.1\r\nHost: rebind.example:11434\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            assertThat(status).isEqualTo("HTTP/1.1 403 Forbidden");
        }
    }

    @Test
    void shutdownEndsRunningStreamsWithAFinalChunk() throws Exception {
        Fixture.FAKE_OLLAMA.tokenDelayMillis(50);
        LlmServer s = fake().shutdownGrace(Duration.ofMillis(300)).start();
        CompletableFuture<HttpResponse<String>> stream = postAsync(s.baseUri() + "/api/chat", SLOW_CHAT);
        waitFor(() -> s.activeGenerations() == 1);
        s.close();
        HttpResponse<String> r = stream.get(30, TimeUnit.SECONDS);
        String[] lines = r.body().split("\n");
        JsonNode last = Http.json(lines[lines.length - 1]);
        assertThat(last.get("done").asBoolean()).isTrue();
        assertThat(last.get("eval_count").asInt()).isLessThan(200);
        assertThat(s.activeGenerations()).isZero();
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(String url, String body) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Http.post(url, body);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        waitFor(condition, 30);
    }

    static void waitFor(java.util.function.BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within " + seconds + " s").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
