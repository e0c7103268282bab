package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ollama.FakeOllama;
import io.github.locallm.ollama.OllamaClient.PullProgress;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model management against the loopback fake Ollama server. */
class OllamaModelsTest {
    @TempDir
    Path work;
    FakeOllama ollama;
    Environment env;

    @BeforeEach
    void start() throws IOException {
        ollama = FakeOllama.start();
        env = TestSupport.env(ollama.url(), work, work);
    }

    @AfterEach
    void stop() {
        ollama.close();
    }

    @Test
    void listShowsEveryModelWithItsSize() {
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "list");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out().lines().findFirst().orElseThrow()).startsWith("NAME").contains("SIZE");
        assertThat(r.out()).contains(FakeOllama.CHAT_MODEL).contains(FakeOllama.EMBED_MODEL)
                .contains(FakeOllama.PLAIN_MODEL).contains("4.7 GB").contains("2025-05-10 15:06");
    }

    @Test
    void listIsTheDefaultAndSaysWhatToDoWhenEmpty() {
        ollama.removeAllModels();
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("has no models").contains("pull qwen2.5:0.5b");
    }

    @Test
    void pullDrawsAProgressBarAndTheModelArrives() {
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "pull", "tiny-pull");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).contains("pulling manifest")
                .contains("pulling 29fdb92e57cf [########----------------------]  25% 250 B / 1.0 KB")
                .contains("pulling 29fdb92e57cf [##############################] 100% 1.0 KB / 1.0 KB")
                .contains("verifying sha256 digest").contains("success").contains("Pulled tiny-pull");
        assertThat(ollama.modelNames()).contains(FakeOllama.PULLABLE_MODEL);
    }

    @Test
    void pullOfAnUnknownModelFailsWithTheServersReason() {
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "pull", "no-such-model");
        assertThat(r.code()).isEqualTo(Programs.FAILED);
        assertThat(r.err()).contains("no-such-model");
    }

    @Test
    void deleteRemovesTheModel() {
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "delete", FakeOllama.PLAIN_MODEL);
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Deleted " + FakeOllama.PLAIN_MODEL);
        assertThat(ollama.modelNames()).doesNotContain(FakeOllama.PLAIN_MODEL).contains(FakeOllama.CHAT_MODEL);
    }

    @Test
    void deleteOfAMissingModelFails() {
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "delete", "ghost");
        assertThat(r.code()).isEqualTo(Programs.FAILED);
        assertThat(r.err()).contains("ghost");
    }

    @Test
    void aServerThatIsDownIsReportedWithItsAddress() {
        String dead = TestSupport.deadOllama();
        TestSupport.Result r = TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "--host", dead, "list");
        assertThat(r.code()).isEqualTo(Programs.FAILED);
        assertThat(r.err()).contains(dead.substring("http://".length()));
    }

    @Test
    void wrongCommandsAreUsageErrors() {
        assertThat(TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "pull").code()).isEqualTo(Programs.USAGE);
        assertThat(TestSupport.run(TestSupport.OLLAMA_MODELS, env, "", "remove", "x").code()).isEqualTo(Programs.USAGE);
    }

    @Test
    void atATerminalTheBarIsRedrawnInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        bar.update(new PullProgress("pulling abc", "sha256:abc", 200, 50));
        bar.update(new PullProgress("pulling abc", "sha256:abc", 200, 200));
        bar.update(new PullProgress("success", "", 0, 0));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(text).startsWith("\rpulling abc [########---").contains("\rpulling abc [##############################] 100%")
                .endsWith("100% 200 B / 200 B\nsuccess\n");
        assertThat(text.chars().filter(c -> c == '\n').count()).isEqualTo(2);
    }
}
