package io.github.locallm.ollama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.http.Limit;
import io.github.locallm.http.LimitExceededException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.OpenOptions;
import io.github.locallm.ToolSpec;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The backend through the user API ({@link LocalLlm}), over plain HTTP and HTTPS. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaLocalLlmTest {
    private FakeOllamaServer server;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    private String spec(String model) {
        return "ollama://127.0.0.1:" + server.port() + "/" + model;
    }

    @Test
    void thinkingEndsUpInCompletionThinking() {
        try (LocalLlm llm = LocalLlm.open(spec("fake-llm"))) {
            Completion c = llm.chat(List.of(ChatMessage.user("Why?")),
                    GenerationOptions.builder().think(true).temperature(0).maxTokens(5).build());
            assertThat(c.thinking()).isEqualTo("Considering the question.");
            assertThat(c.text()).isNotEmpty().doesNotContain("Considering");
            assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(c.usage().completionTokens()).isEqualTo(5);
            assertThat(c.usage().promptTokens()).isEqualTo(server.last("/api/chat").body().path("messages").get(0)
                    .path("content").asText().split("\\s+").length + 2);
            assertThat(c.timings().timeToFirstToken()).isEqualTo(Duration.ofNanos(1_500_000));
        }
    }

    @Test
    void toolCallsReachTheCompletion() {
        ToolSpec weather = new ToolSpec("get_weather", "weather of a city", "{\"type\":\"object\"}");
        try (LocalLlm llm = LocalLlm.open(spec("fake-llm"))) {
            Completion c = llm.chat(List.of(ChatMessage.user("Weather in Tokyo?")),
                    GenerationOptions.builder().tool(weather).build());
            assertThat(c.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(c.toolCalls()).singleElement().satisfies(t -> {
                assertThat(t.name()).isEqualTo("get_weather");
                assertThat(t.argumentsJson()).isEqualTo("{\"city\":\"Tokyo\",\"days\":3}");
            });
        }
    }

    @Test
    void embeddingsAndSettingsThroughOpenOptions() {
        OpenOptions opts = OpenOptions.builder().contextLength(256).parameter("bearer_token", "abc")
                .parameter("keep_alive", "30s").build();
        try (LocalLlm llm = LocalLlm.open(spec("fake-embed"), opts)) {
            assertThat(llm.info().supports(Capability.EMBEDDINGS)).isTrue();
            assertThat(llm.info().contextLength()).isEqualTo(256);
            float[] v = llm.embed("hello world");
            assertThat(v).hasSize(FakeOllamaServer.EMBED_DIM);
            FakeOllamaServer.Recorded rec = server.last("/api/embed");
            assertThat(rec.header("Authorization")).isEqualTo("Bearer abc");
            assertThat(rec.body().path("keep_alive").asText()).isEqualTo("30s");
            assertThat(rec.body().path("options").path("num_ctx").asInt()).isEqualTo(256);
        }
    }

    @Test
    void unknownModelThroughLocalLlm() {
        assertThatThrownBy(() -> LocalLlm.open(spec("missing:1b")))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("ollama pull missing:1b");
    }

    @Test
    void tlsSettingAgainstAPlainServerFailsClearly() {
        long t0 = System.nanoTime();
        // the plain server waits for an HTTP request line that a TLS hello never completes
        assertThatThrownBy(() -> LocalLlm.open(spec("fake-llm") + "?tls=true&connect_timeout=500ms"))
                .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.CONNECT))
                .hasMessageContaining("https://127.0.0.1:" + server.port())
                .hasMessageContaining("connect limit of 500 ms")
                .hasMessageContaining("tls");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5000);
    }

    @Test
    void httpsEndpointTrustedThroughCaFileOrACustomHttpClient(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "fake", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String log = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(log).isZero();

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        X509TrustManager trust = (X509TrustManager) tmf.getTrustManagers()[0];
        SSLContext clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, new javax.net.ssl.TrustManager[] {trust}, null);

        try (FakeOllamaServer tls = new FakeOllamaServer(serverTls)) {
            String spec = "ollama:https://localhost:" + tls.port() + "/fake-llm";
            assertThatThrownBy(() -> LocalLlm.open(spec)).as("untrusted certificate")
                    .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("TLS");

            Path pem = dir.resolve("server.pem");
            Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64,
                    "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).encodeToString(
                    ks.getCertificate("fake").getEncoded()) + "\n-----END CERTIFICATE-----\n");
            try (LocalLlm llm = LocalLlm.open(spec + "?ca_file=" + pem)) {
                assertThat(llm.info().details()).containsEntry("server", "https://localhost:" + tls.port());
                Completion c = llm.generate("over TLS", GenerationOptions.builder().temperature(0).maxTokens(3).build());
                assertThat(c.text()).isEqualTo(String.join("", FakeOllamaServer.tokens("over TLS",
                        FakeOllamaServer.obj().put("temperature", 0.0), 3)));
            }
            assertThat(OllamaClient.builder().baseUrl("https://localhost:" + tls.port()).caFile(pem).build().version())
                    .isEqualTo("0.12.6");
            OkHttpClient trusting = new OkHttpClient.Builder().sslSocketFactory(clientTls.getSocketFactory(), trust).build();
            OllamaClient direct = OllamaClient.builder().baseUrl("https://localhost:" + tls.port())
                    .httpClient(trusting).build();
            assertThat(direct.version()).isEqualTo("0.12.6");
        }
    }
}
