package io.github.locallm.ollama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ModelSpec;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.spi.OpenRequest;
import java.time.Duration;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/** Specs, OLLAMA_HOST forms, settings and time-limit parsing. */
class SettingsTest {

    private static String host(String value) {
        return ServerAddress.parseHost(value, "OLLAMA_HOST").toString();
    }

    @Test
    void ollamaHostFormsFollowOllama() {
        assertThat(host(null)).isEqualTo("http://127.0.0.1:11434/");
        assertThat(host("  ")).isEqualTo("http://127.0.0.1:11434/");
        assertThat(host("gpu-box")).isEqualTo("http://gpu-box:11434/");
        assertThat(host("gpu-box:8080")).isEqualTo("http://gpu-box:8080/");
        assertThat(host(":9999")).isEqualTo("http://127.0.0.1:9999/");
        assertThat(host("0.0.0.0")).isEqualTo("http://127.0.0.1:11434/");
        assertThat(host("0.0.0.0:11435")).isEqualTo("http://127.0.0.1:11435/");
        assertThat(host("http://gpu-box:11434")).isEqualTo("http://gpu-box:11434/");
        assertThat(host("http://gpu-box")).isEqualTo("http://gpu-box/");
        assertThat(host("https://ollama.example.com")).isEqualTo("https://ollama.example.com/");
        assertThat(host("https://ollama.example.com:8443/proxy/ollama")).isEqualTo("https://ollama.example.com:8443/proxy/ollama/");
        assertThat(host("[::1]:11434")).isEqualTo("http://[::1]:11434/");
        assertThat(host("::1")).isEqualTo("http://[::1]:11434/");
        assertThatThrownBy(() -> host("ftp://x")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("http or https");
        assertThatThrownBy(() -> host("box:99999")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("99999");
    }

    @Test
    void specLocations() {
        ServerAddress.Target plain = ServerAddress.parseLocation("qwen2.5:7b", "ollama:qwen2.5:7b");
        assertThat(plain.baseUrl()).isNull();
        assertThat(plain.model()).isEqualTo("qwen2.5:7b");

        ServerAddress.Target hostPort = ServerAddress.parseLocation("//gpu-box:11500/llama3.2", "s");
        assertThat(hostPort.baseUrl().toString()).isEqualTo("http://gpu-box:11500/");
        assertThat(hostPort.model()).isEqualTo("llama3.2");

        ServerAddress.Target noPort = ServerAddress.parseLocation("//gpu-box/hf.co/user/repo:Q4_K_M", "s");
        assertThat(noPort.baseUrl().toString()).isEqualTo("http://gpu-box:11434/");
        assertThat(noPort.model()).isEqualTo("hf.co/user/repo:Q4_K_M");

        ServerAddress.Target https = ServerAddress.parseLocation("https://ollama.example.com/llama3.2:1b", "s");
        assertThat(https.baseUrl().toString()).isEqualTo("https://ollama.example.com/");
        assertThat(https.model()).isEqualTo("llama3.2:1b");

        assertThat(ServerAddress.withTls(hostPort.baseUrl()).toString()).isEqualTo("https://gpu-box:11500/");
        assertThat(ServerAddress.withTls(ServerAddress.parseHost("http://box", "x")).toString()).isEqualTo("https://box/");

        assertThatThrownBy(() -> ServerAddress.parseLocation("//gpu-box:11434", "ollama://gpu-box:11434"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no model");
        assertThatThrownBy(() -> ServerAddress.parseLocation("//gpu-box:11434/", "ollama://gpu-box:11434/"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no model");
        assertThatThrownBy(() -> ServerAddress.parseLocation("my model", "ollama:my model"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spaces");
    }

    @Test
    void limitSettingsReachTheTransport() {
        OpenRequest r = new OpenRequest(ModelSpec.parse("ollama:m"), Map.of("connect_timeout", "2s",
                "first_token_timeout", "30m", "idle_timeout", "500ms", "request_timeout", "none",
                "min_bytes_per_second", "7", "max_line_bytes", "64k", "max_body_bytes", "2m"));
        HttpLimits l = OllamaProvider.limits(r);
        assertThat(l.connect()).isEqualTo(Duration.ofSeconds(2));
        assertThat(l.firstByte()).isEqualTo(Duration.ofMinutes(30));
        assertThat(l.idle()).isEqualTo(Duration.ofMillis(500));
        assertThat(l.request()).isZero();
        assertThat(l.minBytesPerSecond()).isEqualTo(7);
        assertThat(l.maxLineBytes()).isEqualTo(64 * 1024);
        assertThat(l.maxBodyBytes()).isEqualTo(2 * 1024 * 1024);
        assertThat(OllamaProvider.limits(new OpenRequest(ModelSpec.parse("ollama:m"), Map.of())))
                .isEqualTo(HttpLimits.defaults());
        assertThatThrownBy(() -> OllamaProvider.limits(new OpenRequest(ModelSpec.parse("ollama:m"),
                Map.of("max_line_bytes", "lots")))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max_line_bytes");
    }

    @Test
    void providerIsFoundAndCheap() {
        OllamaProvider p = ServiceLoader.load(io.github.locallm.spi.LlmProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(x -> x instanceof OllamaProvider)
                .map(OllamaProvider.class::cast).findFirst().orElseThrow();
        assertThat(p.name()).isEqualTo("ollama");
        assertThat(p.schemes()).containsExactly("ollama");
        assertThat(p.accepts(java.nio.file.Path.of("."))).isFalse();
    }

    @Test
    void ollamaHostNamesTheServerOfABareModelName() throws Exception {
        try (FakeOllamaServer server = new FakeOllamaServer()) {
            OllamaProvider p = new OllamaProvider(k -> k.equals("OLLAMA_HOST") ? "127.0.0.1:" + server.port() : null);
            ModelSpec spec = ModelSpec.parse("ollama:fake-llm");
            try (var llm = p.open(new OpenRequest(spec, spec.parameters()))) {
                assertThat(llm.info().details()).containsEntry("server", server.url());
            }
            ModelSpec viaSetting = ModelSpec.parse("ollama:fake-llm?host=" + server.url());
            OllamaProvider wrongEnv = new OllamaProvider(k -> "127.0.0.1:1");
            try (var llm = wrongEnv.open(new OpenRequest(viaSetting, viaSetting.parameters()))) {
                assertThat(llm.info().details()).as("the host setting wins over OLLAMA_HOST")
                        .containsEntry("server", server.url());
            }
        }
    }

    @Test
    void unknownAndConflictingSettingsAreRejectedBeforeAnyIo() {
        OllamaProvider p = new OllamaProvider();
        ModelSpec spec = ModelSpec.parse("ollama:llama3.2?color=blue");
        assertThatThrownBy(() -> p.open(new OpenRequest(spec, spec.parameters())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("color")
                .hasMessageContaining("first_token_timeout");
        ModelSpec both = ModelSpec.parse("ollama://box:1/llama3.2");
        assertThatThrownBy(() -> p.open(new OpenRequest(both, Map.of("host", "other"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host");
        ModelSpec bad = ModelSpec.parse("ollama:llama3.2");
        assertThatThrownBy(() -> p.open(new OpenRequest(bad, Map.of("ctx", "lots"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ctx");
        assertThatThrownBy(() -> p.open(new OpenRequest(bad, Map.of("idle_timeout", "forever"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idle_timeout");
        assertThatThrownBy(() -> p.open(new OpenRequest(bad, Map.of("header.Bad Name", "x"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("header.Bad Name");
    }
}
