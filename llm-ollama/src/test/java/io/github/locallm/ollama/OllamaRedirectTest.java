package io.github.locallm.ollama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.http.RedirectRefusedException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Redirects never take a prompt or a credential to another origin: the second server here stands for
 * whoever a redirect names and records everything it receives.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaRedirectTest {
    private static final String SECRET_PROMPT = "the launch code is 0000";
    private static final String TOKEN = "s3cr3t-t0ken";
    private static final String API_KEY = "k3y-of-the-company";
    private FakeOllamaServer server;
    private FakeOllamaServer elsewhere;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
        elsewhere = new FakeOllamaServer();
    }

    @AfterAll
    void stop() {
        server.close();
        elsewhere.close();
    }

    @AfterEach
    void clear() {
        server.script("/api/chat", null);
        server.script("/api/generate", null);
        server.script("/api/show", null);
        server.script("/api/tags/", null);
        elsewhere.requests.clear();
    }

    private static void redirect(com.sun.net.httpserver.HttpExchange ex, int code, String location)
            throws java.io.IOException {
        ex.getResponseHeaders().set("Location", location);
        ex.sendResponseHeaders(code, -1);
    }

    private LocalLlm open() {
        return LocalLlm.open("ollama:fake-llm", OpenOptions.builder().parameter("host", server.url())
                .parameter("bearer_token", TOKEN).parameter("header.X-Api-Key", API_KEY).build());
    }

    private void assertNothingReachedElsewhere() {
        assertThat(elsewhere.requests).as("requests that reached the other origin").isEmpty();
    }

    @Test
    void crossOriginRedirectOfAChatIsRefusedAndSendsNothingThere() {
        for (int code : new int[] {301, 302, 303, 307, 308}) {
            server.script("/api/chat", (ex, body) -> redirect(ex, code, elsewhere.url() + "/api/chat"));
            try (LocalLlm llm = open()) {
                assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user(SECRET_PROMPT)), GenerationOptions.defaults()))
                        .isInstanceOfSatisfying(RedirectRefusedException.class,
                                e -> assertThat(e.location()).isEqualTo(elsewhere.url() + "/api/chat"))
                        .hasMessageContaining("another origin").hasMessageContaining(String.valueOf(code))
                        .hasMessageNotContaining(TOKEN).hasMessageNotContaining(SECRET_PROMPT);
            }
            // the origin itself got the prompt and the credentials, as it should
            assertThat(server.last("/api/chat").header("Authorization")).isEqualTo("Bearer " + TOKEN);
            assertThat(server.last("/api/chat").body().toString()).contains(SECRET_PROMPT);
        }
        assertNothingReachedElsewhere();
    }

    @Test
    void sameHostOtherSchemeOrPortOrNameIsAnotherOrigin() {
        String hostPort = server.url().substring("http://".length());
        int port = server.port();
        for (String target : List.of("https://" + hostPort + "/api/chat", "http://localhost:" + port + "/api/chat",
                elsewhere.url() + "/api/chat")) {
            server.script("/api/chat", (ex, body) -> redirect(ex, 307, target));
            try (LocalLlm llm = open()) {
                assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user(SECRET_PROMPT)), GenerationOptions.defaults()))
                        .isInstanceOf(RedirectRefusedException.class).hasMessageContaining("another origin");
            }
        }
        assertNothingReachedElsewhere();
    }

    @Test
    void redirectAtOpenIsRefusedToo() {
        server.script("/api/show", (ex, body) -> redirect(ex, 307, elsewhere.url() + "/api/show"));
        assertThatThrownBy(this::open).isInstanceOf(RedirectRefusedException.class);
        assertNothingReachedElsewhere();
    }

    @Test
    void managementClientRefusesToo() {
        server.script("/api/tags", (ex, body) -> redirect(ex, 302, elsewhere.url() + "/api/tags"));
        try {
            OllamaClient c = OllamaClient.builder().baseUrl(server.url()).bearerToken(TOKEN).build();
            assertThatThrownBy(c::list).isInstanceOf(RedirectRefusedException.class);
        } finally {
            server.script("/api/tags", null);
        }
        assertNothingReachedElsewhere();
    }

    @Test
    void sameOriginRedirectKeepingTheRequestIsFollowed() {
        // as an HTTP router answers a path with a trailing slash: 307 keeps the method and the body
        server.script("/api/generate", (ex, body) -> redirect(ex, 307, "/api/generate-moved"));
        server.script("/api/generate-moved", (ex, body) -> {
            assertThat(body.path("prompt").asText()).isEqualTo("hello there");
            FakeOllamaServer.json(ex, 200, FakeOllamaServer.JSON.readTree(
                    "{\"response\":\"followed\",\"done\":true,\"done_reason\":\"stop\",\"eval_count\":1}"));
        });
        try (LocalLlm llm = open()) {
            Completion c = llm.generate("hello there", GenerationOptions.builder()
                    .backendOption("ollama", "stream", "false").build());
            assertThat(c.text()).isEqualTo("followed");
            assertThat(server.last("/api/generate-moved").header("Authorization")).isEqualTo("Bearer " + TOKEN);
        } finally {
            server.script("/api/generate-moved", null);
        }
        assertNothingReachedElsewhere();
    }

    @Test
    void sameOriginRedirectThatWouldDropTheBodyIsRefused() {
        server.script("/api/generate", (ex, body) -> redirect(ex, 302, "/api/generate-moved"));
        server.requests.clear();
        try (LocalLlm llm = open()) {
            assertThatThrownBy(() -> llm.generate("hello", GenerationOptions.defaults()))
                    .isInstanceOf(RedirectRefusedException.class).hasMessageContaining("drop the request body");
        }
        assertThat(server.requests).noneMatch(r -> r.path().equals("/api/generate-moved"));
    }

    @Test
    void redirectLoopEnds() {
        server.script("/api/generate", (ex, body) -> redirect(ex, 307, "/api/generate"));
        try (LocalLlm llm = open()) {
            assertThatThrownBy(() -> llm.generate("hello", GenerationOptions.defaults()))
                    .isInstanceOf(RedirectRefusedException.class).hasMessageContaining("more than 5 redirects");
        }
    }
}
