package io.github.locallm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.TokenStream;
import java.util.ArrayList;
import java.util.List;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The benchmark's paced server speaks the wire formats the clients expect; no timing targets here. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PacedServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MediaType JSON_TYPE = MediaType.get("application/json");
    private final OkHttpClient http = new OkHttpClient();
    private PacedServer server;

    @BeforeAll
    void start() throws Exception {
        server = PacedServer.start(List.of("bench:t16", "bench:t5i2000"));
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    private Response post(String path, String body) throws Exception {
        return http.newCall(new Request.Builder().url(server.baseUrl() + path)
                .post(RequestBody.create(body, JSON_TYPE)).build()).execute();
    }

    @Test
    void chatStreamsOneNdjsonLinePerTokenThenADoneLine() throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        try (Response r = post("/api/chat", "{\"model\":\"bench:t5\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Content-Type")).isEqualTo("application/x-ndjson");
            assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
            BufferedSource source = r.body().source();
            String line;
            while ((line = source.readUtf8Line()) != null) {
                lines.add(JSON.readTree(line));
            }
        }
        assertThat(lines).hasSize(6);
        for (JsonNode n : lines.subList(0, 5)) {
            assertThat(n.path("model").asText()).isEqualTo("bench:t5");
            assertThat(n.path("message").path("role").asText()).isEqualTo("assistant");
            assertThat(n.path("message").path("content").asText()).isNotEmpty();
            assertThat(n.path("done").asBoolean(true)).isFalse();
        }
        JsonNode last = lines.get(5);
        assertThat(last.path("done").asBoolean()).isTrue();
        assertThat(last.path("done_reason").asText()).isEqualTo("stop");
        assertThat(last.path("eval_count").asInt()).isEqualTo(5);
    }

    @Test
    void keepAliveConnectionServesSeveralRequests() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Response r = post("/api/generate", "{\"model\":\"bench:t3\",\"prompt\":\"Hi\",\"stream\":false}")) {
                JsonNode n = JSON.readTree(r.body().string());
                assertThat(n.path("response").asText()).isEqualTo(" The quick brown");
                assertThat(n.path("done").asBoolean()).isTrue();
            }
        }
        assertThat(http.connectionPool().connectionCount()).isEqualTo(1);
    }

    @Test
    void unknownModelGetsOllamasNotFound() throws Exception {
        try (Response r = post("/api/chat", "{\"model\":\"llama3.2\",\"messages\":[]}")) {
            assertThat(r.code()).isEqualTo(404);
            assertThat(JSON.readTree(r.body().string()).path("error").asText()).contains("llama3.2", "not found");
        }
    }

    @Test
    void theSdkStreamsTheWholeAnswer() {
        try (LocalLlm llm = LocalLlm.open("ollama:" + server.baseUrl() + "/bench:t40")) {
            StringBuilder pieces = new StringBuilder();
            Completion c = llm.chat(List.of(ChatMessage.user("Hi")), GenerationOptions.defaults());
            try (TokenStream tokens = llm.chatTokens(List.of(ChatMessage.user("Hi")), GenerationOptions.defaults())) {
                tokens.forEachRemaining(pieces::append);
            }
            assertThat(c.text()).startsWith(" The quick brown fox").contains(" café", " \"quoted\"");
            assertThat(pieces.toString()).isEqualTo(c.text());
            assertThat(c.usage().completionTokens()).isEqualTo(40);
        }
    }

    @Test
    void pacedTokensCarryTheirWriteTimeAndAreSpacedByTheInterval() throws Exception {
        List<Long> written = new ArrayList<>();
        long before = System.nanoTime();
        try (Response r = post("/api/chat", "{\"model\":\"bench:t5i2000\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"Hi\"}]}")) {
            BufferedSource source = r.body().source();
            String line;
            while ((line = source.readUtf8Line()) != null) {
                JsonNode n = JSON.readTree(line);
                if (!n.path("done").asBoolean()) {
                    written.add(Long.parseLong(n.path("message").path("content").asText().trim()));
                }
            }
        }
        assertThat(written).hasSize(5).isSorted();
        // Token i is written on its deadline (i + 1) intervals after the request arrived, or later, never earlier.
        for (int i = 0; i < written.size(); i++) {
            assertThat(written.get(i) - before).isGreaterThanOrEqualTo((i + 1) * 2_000_000L);
        }
    }

    @Test
    void openAiStreamIsServerSentEventsEndingWithDone() throws Exception {
        List<String> data = new ArrayList<>();
        try (Response r = post("/v1/chat/completions", "{\"model\":\"bench:t3\",\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")) {
            assertThat(r.code()).isEqualTo(200);
            assertThat(r.header("Content-Type")).startsWith("text/event-stream");
            BufferedSource source = r.body().source();
            String line;
            while ((line = source.readUtf8Line()) != null) {
                if (line.startsWith("data: ")) {
                    data.add(line.substring(6));
                } else {
                    assertThat(line).isEmpty();
                }
            }
        }
        // role, 3 tokens, finish, usage, [DONE]
        assertThat(data).hasSize(7);
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, 4)) {
            JsonNode n = JSON.readTree(d);
            assertThat(n.path("object").asText()).isEqualTo("chat.completion.chunk");
            text.append(n.path("choices").get(0).path("delta").path("content").asText());
        }
        assertThat(text.toString()).isEqualTo(" The quick brown");
        assertThat(JSON.readTree(data.get(4)).path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(JSON.readTree(data.get(5)).path("usage").path("completion_tokens").asInt()).isEqualTo(3);
        try (Response r = http.newCall(new Request.Builder().url(server.baseUrl() + "/v1/models").build()).execute()) {
            JsonNode models = JSON.readTree(r.body().string()).path("data");
            assertThat(models).hasSize(2);
            assertThat(models.get(1).path("id").asText()).isEqualTo("bench:t5i2000");
        }
    }

    @Test
    void everyMeasuredClientReceivesEveryPacedTokenAndItsLatency() throws Exception {
        for (String[] c : ClientBench.CLIENTS) {
            try (ClientBench.Client client = ClientBench.client(c[0], server.baseUrl())) {
                ClientBench.Recorder rec = new ClientBench.Recorder(64);
                client.stream("bench:t5i2000", rec);
                assertThat(rec.tokens(true)).as(c[0]).isEqualTo(5);
                List<Double> latency = new ArrayList<>();
                rec.latencies(latency);
                assertThat(latency).as(c[0]).hasSize(5).allSatisfy(us -> assertThat(us).isBetween(0.0, 5e6));
                rec.reset();
                client.stream("bench:t16", rec);
                assertThat(rec.tokens(false)).as(c[0]).isEqualTo(16);
            }
        }
    }
}
