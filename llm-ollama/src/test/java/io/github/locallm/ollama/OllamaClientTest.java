package io.github.locallm.ollama;

import io.github.locallm.OpenOptions;

import io.github.locallm.LocalLlm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Model management through {@link OllamaClient} against the loopback fake server. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaClientTest {
    private FakeOllamaServer server;
    private OllamaClient client;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
        client = OllamaClient.builder().baseUrl(server.url()).build();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @BeforeEach
    void reset() {
        server.requests.clear();
        server.models.remove("tiny-pull:latest");
        server.models.remove("backup:latest");
    }

    @Test
    void versionAndBaseUrl() {
        assertThat(client.version()).isEqualTo("0.12.6");
        assertThat(client.baseUrl()).isEqualTo(server.url());
        assertThat(server.last("/api/version").method()).isEqualTo("GET");
    }

    @Test
    void listReadsTags() {
        List<OllamaClient.LocalModel> models = client.list();
        assertThat(models).extracting(OllamaClient.LocalModel::name)
                .containsExactlyInAnyOrder(FakeOllamaServer.CHAT_MODEL, FakeOllamaServer.PLAIN_MODEL, FakeOllamaServer.EMBED_MODEL);
        OllamaClient.LocalModel m = models.get(0);
        assertThat(m.size()).isEqualTo(4683075271L);
        assertThat(m.digest()).startsWith("0a8c2669");
        assertThat(m.modifiedAt()).isEqualTo(Instant.parse("2025-05-10T15:06:48.639712648Z"));
        assertThat(m.details()).containsEntry("quantization_level", "Q4_K_M").containsEntry("format", "gguf")
                .containsKey("families").doesNotContainKey("parent_model");
    }

    @Test
    void showMapsCapabilitiesAndContextLength() {
        OllamaClient.ModelDescription d = client.show("fake-llm");
        assertThat(server.last("/api/show").body().path("model").asText()).isEqualTo("fake-llm");
        assertThat(d.serverCapabilities()).containsExactly("completion", "tools", "thinking", "vision");
        assertThat(d.capabilities()).contains(Capability.CHAT, Capability.TOOLS, Capability.THINKING, Capability.VISION)
                .doesNotContain(Capability.EMBEDDINGS, Capability.TOKENIZE);
        assertThat(d.contextLength()).isEqualTo(32768);
        assertThat(d.numCtx()).isZero();
        assertThat(d.details()).containsEntry("architecture", "fake").containsEntry("parameter_count", "7600000");
        assertThat(d.template()).contains("{{ .Prompt }}");
        assertThat(client.show("fake-embed").capabilities()).containsExactly(Capability.EMBEDDINGS);
        assertThatThrownBy(() -> client.show("nope")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("ollama pull nope");
        assertThat(client.exists("fake-llm")).isTrue();
        assertThat(client.exists("nope")).isFalse();
    }

    @Test
    void pullReportsProgressInOrder() {
        List<OllamaClient.PullProgress> seen = new ArrayList<>();
        client.pull("tiny-pull", seen::add);
        JsonNode body = server.last("/api/pull").body();
        assertThat(body.path("model").asText()).isEqualTo("tiny-pull");
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(seen.get(0).status()).isEqualTo("pulling manifest");
        assertThat(seen.get(0).fraction()).isZero();
        assertThat(seen).filteredOn(p -> p.total() > 0).extracting(OllamaClient.PullProgress::fraction)
                .containsExactly(0.0, 0.25, 0.5, 0.75, 1.0);
        assertThat(seen.get(2).digest()).startsWith("sha256:");
        assertThat(seen.get(seen.size() - 1).isSuccess()).isTrue();
        assertThat(seen).extracting(OllamaClient.PullProgress::status).contains("verifying sha256 digest", "writing manifest");
        assertThat(client.exists("tiny-pull")).isTrue();
    }

    @Test
    void pullOfAnUnknownModelIsModelNotFound() {
        assertThatThrownBy(() -> client.pull("does-not-exist", p -> { }))
                .isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("does-not-exist")
                .hasMessageContaining("file does not exist");
    }

    @Test
    void progressCallbackCanStopAPull() {
        assertThatThrownBy(() -> client.pull("tiny-pull", p -> {
            if (p.completed() >= 500) {
                throw new IllegalStateException("enough");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessage("enough");
    }

    @Test
    void ensureModelPullsOnlyWhenMissing() {
        List<OllamaClient.PullProgress> seen = new ArrayList<>();
        assertThat(client.ensureModel("fake-llm", seen::add)).isFalse();
        assertThat(server.requests).noneMatch(r -> r.path().equals("/api/pull"));
        assertThat(seen).isEmpty();
        assertThat(client.ensureModel("tiny-pull", seen::add)).isTrue();
        assertThat(seen).isNotEmpty();
        assertThat(client.ensureModel("tiny-pull", p -> { })).isFalse();
        assertThat(server.requests).filteredOn(r -> r.path().equals("/api/pull")).hasSize(1);
    }

    @Test
    void openWithPullSettingPullsAMissingModel() {
        try (LlmBackend llm = TestSupport.open(server, "tiny-pull", "pull", "true")) {
            assertThat(llm.info().model()).isEqualTo("tiny-pull");
            assertThat(server.last("/api/pull").body().path("model").asText()).isEqualTo("tiny-pull");
            assertThat(llm.info().contextLength()).isEqualTo(1024);
        }
    }

    @Test
    void copyAndDelete() {
        client.copy("fake-plain", "backup");
        JsonNode copy = server.last("/api/copy").body();
        assertThat(copy.path("source").asText()).isEqualTo("fake-plain");
        assertThat(copy.path("destination").asText()).isEqualTo("backup");
        assertThat(client.exists("backup")).isTrue();

        client.delete("backup");
        FakeOllamaServer.Recorded del = server.last("/api/delete");
        assertThat(del.method()).isEqualTo("DELETE");
        assertThat(del.body().path("model").asText()).isEqualTo("backup");
        assertThat(client.exists("backup")).isFalse();

        assertThatThrownBy(() -> client.delete("backup")).isInstanceOf(ModelNotFoundException.class);
        assertThatThrownBy(() -> client.copy("ghost", "x")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("ghost");
    }

    @Test
    void runningModelsComeFromPs() {
        server.loaded.clear();
        assertThat(client.running()).isEmpty();
        try (LlmBackend llm = TestSupport.open(server, "fake-plain")) {
            llm.generate(GenerationRequest.completion("x", GenerationOptions.builder().maxTokens(1).build()),
                    new TestSupport.Sink(), TestSupport.NEVER);
        }
        List<OllamaClient.RunningModel> running = client.running();
        assertThat(running).hasSize(1);
        OllamaClient.RunningModel r = running.get(0);
        assertThat(r.name()).isEqualTo(FakeOllamaServer.PLAIN_MODEL);
        assertThat(r.contextLength()).isEqualTo(4096);
        assertThat(r.sizeVram()).isEqualTo(1024);
        assertThat(r.expiresAt()).isEqualTo(Instant.parse("2024-06-04T21:38:31.83753Z"));
    }

    @Test
    void embedThroughTheClient() {
        List<float[]> v = client.embed("fake-embed", List.of("hello"));
        assertThat(v).hasSize(1);
        assertThat(v.get(0)).hasSize(FakeOllamaServer.EMBED_DIM);
    }

    @Test
    void builderSetsHeadersClientAndLimits() throws Exception {
        List<String> seenByInterceptor = new ArrayList<>();
        OkHttpClient custom = new OkHttpClient.Builder().addInterceptor(chain -> {
            Request req = chain.request();
            seenByInterceptor.add(req.url().encodedPath());
            return chain.proceed(req);
        }).build();
        OllamaClient c = OllamaClient.builder().baseUrl(server.url()).bearerToken("t0k").header("X-Trace", "42")
                .httpClient(custom).connectTimeout(Duration.ofSeconds(2)).firstTokenTimeout(Duration.ofSeconds(5))
                .idleTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(10)).build();
        assertThat(c.version()).isEqualTo("0.12.6");
        assertThat(server.last("/api/version").header("Authorization")).isEqualTo("Bearer t0k");
        assertThat(server.last("/api/version").header("X-Trace")).isEqualTo("42");
        assertThat(seenByInterceptor).containsExactly("/api/version");
    }

    @Test
    void aProviderGivenAnHttpClientOpensModelsThatUseIt() {
        List<String> seen = new ArrayList<>();
        OkHttpClient custom = new OkHttpClient.Builder().addInterceptor(chain -> {
            seen.add(chain.request().url().encodedPath());
            return chain.proceed(chain.request());
        }).build();
        String spec = "ollama:http://127.0.0.1:" + server.port() + "/fake-plain";
        try (LocalLlm llm = LocalLlm.open(new OllamaProvider(custom), spec, OpenOptions.defaults())) {
            llm.generate("x", GenerationOptions.builder().maxTokens(1).build());
            assertThat(seen).contains("/api/show", "/api/generate");
        }
        seen.clear();
        try (LocalLlm llm = LocalLlm.open(spec)) {
            llm.generate("x", GenerationOptions.builder().maxTokens(1).build());
        }
        assertThat(seen).as("a model opened through the default provider").isEmpty();
    }

    @Test
    void proxySettingSendsEveryCallThroughTheProxy() {
        // the fake answers as a proxy would forward: an absolute-form request for a host that does not resolve
        try (LlmBackend llm = TestSupport.openSpec("ollama://ollama.invalid:11434/fake-plain",
                java.util.Map.of("proxy", "http://user:pa%24s@" + server.url().substring("http://".length())))) {
            llm.generate(GenerationRequest.completion("x", GenerationOptions.builder().maxTokens(1).build()),
                    new TestSupport.Sink(), TestSupport.NEVER);
            assertThat(server.last("/api/generate").header("Host")).isEqualTo("ollama.invalid:11434");
            assertThat(server.last("/api/generate").header("Proxy-Authorization")).isNull();
        }
        OllamaClient viaProxy = OllamaClient.builder().baseUrl("http://ollama.invalid:11434")
                .proxy(server.url()).build();
        assertThat(viaProxy.version()).isEqualTo("0.12.6");
        assertThatThrownBy(() -> OllamaClient.builder().proxy("ftp://p:1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("proxy");
        assertThatThrownBy(() -> TestSupport.openSpec("ollama:fake-plain", java.util.Map.of("host", server.url(),
                "proxy", "http://user:hunter2@proxy-without-port")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("hunter2");
    }

    @Test
    void serverDownIsBackendUnavailable() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        OllamaClient down = OllamaClient.builder().baseUrl("127.0.0.1:" + port).build();
        assertThatThrownBy(down::list).isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("http://127.0.0.1:" + port);
    }
}
