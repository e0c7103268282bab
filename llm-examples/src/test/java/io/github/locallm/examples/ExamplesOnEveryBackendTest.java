package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Capability;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.ollama.FakeOllama;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every model-running example on every backend: Ollama (the loopback fake server), llama.cpp (a generated
 * GGUF file), DJL (a generated Hugging Face checkpoint) and the embedded default (no --model, no server, no
 * ./models).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExamplesOnEveryBackendTest {
    private static final String MAX_TOKENS = "12";

    @TempDir
    static Path dir;
    FakeOllama ollama;
    Path gguf;
    Path checkpoint;

    /** One way to reach a backend: the --model argument (empty for the automatic choice) and the machine. */
    record Backend(String name, List<String> modelArgs, Environment env) {
        String[] args(String... more) {
            List<String> all = new ArrayList<>(modelArgs);
            all.add("--max-tokens");
            all.add(MAX_TOKENS);
            all.addAll(List.of(more));
            return all.toArray(String[]::new);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    void models() throws IOException {
        ollama = FakeOllama.start();
        gguf = TestSupport.gguf(dir.resolve("gguf"), "tiny.gguf");
        checkpoint = TestSupport.checkpoint(Files.createDirectories(dir.resolve("hf")));
    }

    @AfterAll
    void stop() {
        ollama.close();
    }

    Stream<Backend> backends() throws IOException {
        Path work = Files.createDirectories(dir.resolve("work"));
        Path cache = dir.resolve("cache");
        Environment live = TestSupport.env(ollama.url(), work, cache);
        Environment offline = TestSupport.env(TestSupport.deadOllama(), work, cache);
        return Stream.of(
                new Backend("ollama", List.of("--model", "ollama:" + FakeOllama.CHAT_MODEL + "?host=" + ollama.url()), live),
                new Backend("llamacpp", List.of("--model", "llamacpp:" + gguf), offline),
                new Backend("djl", List.of("--model", "djl:" + checkpoint), offline),
                new Backend("embedded", List.of(), offline));
    }

    private static String backendName(Backend b) {
        return b.name().equals("embedded") ? "llamacpp" : b.name();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void quickStartPrintsAnAnswer(Backend backend) {
        TestSupport.Result r = TestSupport.run(TestSupport.QUICK_START, backend.env(), "", backend.args());
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).as(r.toString()).isNotBlank();
        assertThat(r.err()).contains("Model: ");
        if (backend.name().equals("embedded")) {
            assertThat(r.err()).contains("tiny").contains("ollama pull qwen2.5:0.5b");
        } else {
            assertThat(r.err()).doesNotContain("ollama pull");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void streamingDemoPrintsTheAnswerThenItsTimings(Backend backend) {
        TestSupport.Result r = TestSupport.run(TestSupport.STREAMING, backend.env(), "", backend.args());
        assertThat(r.code()).as(r.toString()).isZero();
        List<String> lines = r.out().lines().toList();
        String summary = lines.get(lines.size() - 1);
        assertThat(summary).as(r.toString()).matches(
                "--- time to first token: \\d+ ms, \\d+\\.\\d tokens/s, \\d+ tokens in [1-9]\\d* pieces, total \\d+ ms \\(\\w+\\)");
        assertThat(String.join("\n", lines.subList(0, lines.size() - 1))).isNotBlank();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void assistantAnswersPipedMessagesWithResetAndModel(Backend backend) {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, backend.env(),
                "Explique-moi Python en une phrase\n/model\n/reset\nQu'est-ce qu'une liste ?\n", backend.args());
        assertThat(r.code()).as(r.toString()).isZero();
        String out = r.out();
        int model = out.indexOf("Model: ");
        int reset = out.indexOf("Conversation reset");
        assertThat(model).as(r.toString()).isPositive();
        assertThat(reset).isGreaterThan(model);
        assertThat(out.substring(0, model)).as("first answer").isNotBlank();
        assertThat(out.substring(reset).lines().skip(1).toList()).as("second answer").isNotEmpty()
                .anySatisfy(l -> assertThat(l).isNotBlank());
        assertThat(out.substring(model, reset)).contains("backend: " + backendName(backend))
                .contains("history: 3 messages");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void jsonAndEmbeddingsDoWhatTheBackendCanAndSaySoOtherwise(Backend backend) {
        TestSupport.Result r = TestSupport.run(TestSupport.JSON_AND_EMBEDDINGS, backend.env(), "", backend.args());
        assertThat(r.code()).as(r.toString()).isZero();
        ModelInfo info = infoOf(backend);
        if (info.supports(Capability.JSON_SCHEMA)) {
            assertThat(r.out()).as(r.toString()).contains("JSON with a schema").contains("Valid JSON: ");
        } else if (info.supports(Capability.JSON_MODE)) {
            assertThat(r.out()).as(r.toString()).contains("JSON without a schema");
        } else {
            assertThat(r.out()).as(r.toString()).contains("JSON output: not available. The " + info.backend());
        }
        if (info.supports(Capability.EMBEDDINGS)) {
            assertThat(r.out()).as(r.toString()).contains("Cosine similarity");
        } else {
            assertThat(r.out()).as(r.toString()).contains("Embeddings: not available. The " + info.backend());
        }
    }

    private ModelInfo infoOf(Backend backend) {
        ModelChoice choice = backend.modelArgs().isEmpty()
                ? EmbeddedModel.extract(backend.env().cacheDir())
                : ModelChooser.explicit(backend.modelArgs().get(1), backend.env());
        try (LocalLlm llm = choice.open()) {
            return llm.info();
        }
    }

    @org.junit.jupiter.api.Test
    void embeddingsCanComeFromASecondModel() {
        String host = "?host=" + ollama.url();
        Environment env = TestSupport.env(ollama.url(), dir, dir.resolve("cache"));
        TestSupport.Result r = TestSupport.run(TestSupport.JSON_AND_EMBEDDINGS, env, "",
                "--model", "ollama:" + FakeOllama.CHAT_MODEL + host, "--embedding-model",
                "ollama:" + FakeOllama.EMBED_MODEL + host);
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).contains("JSON with a schema").contains("Valid JSON: yes")
                .contains("3 vectors of 8 dimensions").containsPattern("  -?[01]\\.\\d{3}  \"Python est");
    }

    @org.junit.jupiter.api.Test
    void llamaCppGivesEmbeddingsWhenTheModelIsOpenedForThem() {
        Environment env = TestSupport.env(TestSupport.deadOllama(), dir, dir.resolve("cache"));
        TestSupport.Result r = TestSupport.run(TestSupport.JSON_AND_EMBEDDINGS, env, "", "--max-tokens", MAX_TOKENS,
                "--model", "llamacpp:" + gguf, "--embedding-model", "llamacpp:" + gguf + "?embedding=true");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).as(r.toString()).contains("JSON with a schema (llamacpp")
                .contains("3 vectors of 64 dimensions").containsPattern("  -?[01]\\.\\d{3}  \"Python est");
    }
}
