package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ollama.FakeOllama;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelChooserTest {
    @TempDir
    Path work;
    @TempDir
    Path cache;
    FakeOllama ollama;
    ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    @BeforeEach
    void start() throws IOException {
        ollama = FakeOllama.start();
    }

    @AfterEach
    void stop() {
        ollama.close();
    }

    private String err() {
        return errBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void anOllamaServerWithAChatModelComesFirstEvenWhenModelsHoldsAGguf() throws IOException {
        TestSupport.gguf(work.resolve("models"), "local.gguf");
        ollama.keepOnly(FakeOllama.EMBED_MODEL, FakeOllama.CHAT_MODEL);

        ModelChoice choice = ModelChooser.choose(null, TestSupport.env(ollama.url(), work, cache), err);

        assertThat(choice.source()).isEqualTo(ModelChoice.Source.OLLAMA);
        assertThat(choice.spec()).isEqualTo("ollama:" + FakeOllama.CHAT_MODEL + "?host=" + ollama.url());
        assertThat(err()).isEmpty();
        try (var llm = choice.open()) {
            assertThat(llm.info().backend()).isEqualTo("ollama");
            assertThat(llm.info().model()).contains("fake-llm");
        }
    }

    @Test
    void anOllamaServerWithOnlyAnEmbeddingModelIsPassedOver() {
        ollama.keepOnly(FakeOllama.EMBED_MODEL);
        Path gguf = TestSupport.gguf(work.resolve("models"), "local.gguf");

        ModelChoice choice = ModelChooser.choose(null, TestSupport.env(ollama.url(), work, cache), err);

        assertThat(choice.source()).isEqualTo(ModelChoice.Source.MODELS_DIR);
        assertThat(choice.path()).isEqualTo(gguf.toAbsolutePath().normalize());
    }

    @Test
    void anOllamaServerWithoutModelsGivesWayToTheFirstGgufOfModels() throws IOException {
        ollama.removeAllModels();
        Path models = work.resolve("models");
        TestSupport.gguf(models, "b.gguf");
        Path a = TestSupport.gguf(models, "a.GGUF");
        Files.writeString(models.resolve("0-readme.txt"), "not a model");
        Files.createDirectories(models.resolve("0-dir.gguf"));

        ModelChoice choice = ModelChooser.choose(null, TestSupport.env(ollama.url(), work, cache), err);

        assertThat(choice.source()).isEqualTo(ModelChoice.Source.MODELS_DIR);
        assertThat(choice.path()).isEqualTo(a.toAbsolutePath().normalize());
        assertThat(err()).isEmpty();
    }

    @Test
    void withNoServerAndNoModelsTheEmbeddedModelIsExtractedAndExplained() {
        ModelChoice choice = ModelChooser.choose(null, TestSupport.env(TestSupport.deadOllama(), work, cache), err);

        assertThat(choice.source().embedded()).isTrue();
        assertThat(choice.backend()).isEqualTo("llamacpp");
        assertThat(choice.path()).startsWith(cache).isRegularFile();
        assertThat(err()).contains("tiny").contains("ollama pull qwen2.5:0.5b").contains("--model ollama:qwen2.5:0.5b")
                .contains(".gguf").contains("--model djl:");
    }

    @Test
    void theEmbeddedModelIsExtractedOnceAndReused() throws IOException {
        ModelChoice first = ModelChooser.choose(null, TestSupport.env(TestSupport.deadOllama(), work, cache), err);
        var modified = Files.getLastModifiedTime(first.path());
        ModelChoice second = ModelChooser.choose(null, TestSupport.env(TestSupport.deadOllama(), work, cache), err);
        assertThat(second.path()).isEqualTo(first.path());
        assertThat(Files.getLastModifiedTime(second.path())).isEqualTo(modified);
    }

    @Test
    void anEmptyModelsFolderCountsAsNoModel() throws IOException {
        Files.createDirectories(work.resolve("models"));
        ollama.removeAllModels();
        ModelChoice choice = ModelChooser.choose(null, TestSupport.env(ollama.url(), work, cache), err);
        assertThat(choice.source().embedded()).isTrue();
    }

    @Test
    void anExplicitModelIsTakenAsIsWithoutAskingOllama() {
        long before = ollama.requests("/api/tags");
        ModelChoice spec = ModelChooser.choose("ollama:qwen2.5:7b", TestSupport.env(ollama.url(), work, cache), err);
        assertThat(spec.spec()).isEqualTo("ollama:qwen2.5:7b");
        assertThat(spec.source()).isEqualTo(ModelChoice.Source.EXPLICIT);
        assertThat(ollama.requests("/api/tags")).isEqualTo(before);
    }

    @Test
    void anExplicitPathIsResolvedAgainstTheWorkingDirectory() {
        Path gguf = TestSupport.gguf(work.resolve("models"), "m.gguf");
        ModelChoice choice = ModelChooser.choose("models/m.gguf", TestSupport.env(ollama.url(), work, cache), err);
        assertThat(choice.path()).isEqualTo(gguf.toAbsolutePath().normalize());
        assertThat(choice.spec()).isNull();
    }

    @Test
    void anExplicitPathThatDoesNotExistIsABadArgumentThatSaysWhatToGive() {
        assertThatThrownBy(() -> ModelChooser.choose("nowhere/m.gguf", TestSupport.env(ollama.url(), work, cache), err))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nowhere/m.gguf").hasMessageContaining("ollama:");
    }
}
