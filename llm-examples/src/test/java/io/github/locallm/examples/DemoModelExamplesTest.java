package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.demo.DemoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default on a machine with nothing: no Ollama server, no ./models. The demo model must give
 * its trained answers, through the llama.cpp backend (the default) and through DJL (its checkpoint).
 */
class DemoModelExamplesTest {
    static final String QUESTION = "Explique-moi Python en une phrase";

    @TempDir
    static Path dir;
    static Environment nothing;
    static Map<String, String> trained;

    @BeforeAll
    static void machine() throws Exception {
        nothing = TestSupport.env(TestSupport.deadOllama(), Files.createDirectories(dir.resolve("work")),
                dir.resolve("cache"));
        trained = DemoModel.corpus().stream()
                .collect(Collectors.toMap(DemoModel.Exchange::question, DemoModel.Exchange::answer));
    }

    private static List<String> lines(String text) {
        return text.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void theAssistantsDefaultSystemPromptIsTheOneTheDemoModelWasTrainedWith() {
        assertThat(Assistant.DEFAULT_SYSTEM_PROMPT).isEqualTo(DemoModel.systemPrompt());
    }

    @Test
    void theReadmeQuestionGetsTheTrainedAnswerFromTheAssistant() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, nothing,
                QUESTION + "\n/reset\nQu'est-ce qu'une liste en Python ?\n");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(trained).containsKey("Qu'est-ce qu'une liste en Python ?");
        assertThat(lines(r.out())).as(r.toString()).containsExactly(trained.get(QUESTION),
                "Conversation reset; the system prompt stays.", trained.get("Qu'est-ce qu'une liste en Python ?"));
        assertThat(r.err()).contains("embedded tiny demo model").contains("ollama pull qwen2.5:0.5b")
                .contains("--model ollama:qwen2.5:0.5b").contains("--model djl:");
        assertThat(dir.resolve("cache").resolve(EmbeddedModel.FOLDER).resolve("demo.gguf")).isRegularFile();
    }

    @Test
    void threeQuestionsInOneConversationEachGetTheirTrainedAnswer() {
        List<String> questions = List.of(QUESTION, "Comment définir une fonction ?", "Qu'est-ce qu'une liste en Python ?");
        assertThat(trained).containsKeys(questions.toArray(String[]::new));
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, nothing, String.join("\n", questions) + "\n");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(lines(r.out())).as(r.toString()).containsExactly(questions.stream().map(trained::get)
                .toArray(String[]::new));
    }

    @Test
    void jsonAndEmbeddingsPrintsValidJsonFollowingTheSchema() throws Exception {
        TestSupport.Result r = TestSupport.run(TestSupport.JSON_AND_EMBEDDINGS, nothing, "");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(trained).containsKey(JsonAndEmbeddings.JSON_PROMPT);
        List<String> out = lines(r.out());
        assertThat(out.get(0)).startsWith("JSON with a schema (llamacpp model");
        // The trained answer (ASCII only, as the llama.cpp engine's schema grammar takes ASCII strings only).
        assertThat(out.get(1)).isEqualTo(trained.get(JsonAndEmbeddings.JSON_PROMPT));
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.get(1));
        assertThat(json.get("nom").asText()).isEqualTo("Python");
        assertThat(json.get("annee_creation").asInt()).isEqualTo(1991);
        assertThat(json.get("createur").asText()).isEqualTo("Guido van Rossum");
        assertThat(json.get("paradigmes").isArray()).isTrue();
        assertThat(json.get("paradigmes")).allMatch(com.fasterxml.jackson.databind.JsonNode::isTextual);
        assertThat(out.get(2)).isEqualTo("Valid JSON: yes (object with fields [nom, annee_creation, createur, paradigmes])");
    }

    @Test
    void quickStartAndStreamingGiveTheTrainedAnswerWithoutSystemPrompt() {
        TestSupport.Result quick = TestSupport.run(TestSupport.QUICK_START, nothing, "");
        assertThat(quick.code()).as(quick.toString()).isZero();
        assertThat(quick.out().strip()).isEqualTo(trained.get(QUESTION));

        TestSupport.Result streamed = TestSupport.run(TestSupport.STREAMING, nothing, "");
        assertThat(streamed.code()).as(streamed.toString()).isZero();
        assertThat(streamed.out()).startsWith(trained.get(QUESTION) + "\n--- time to first token: ");
    }

    @Test
    void modelSaysWhatTheEmbeddedModelIs() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, nothing, "/model\n");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("(embedded tiny demo model)").contains("backend: llamacpp").contains("CHAT");
    }

    @Test
    void theDemoCheckpointGivesTheSameAnswerOnDjl() {
        Path checkpoint = DemoModel.extractCheckpoint(dir.resolve("hf-copy"));
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, nothing, QUESTION + "\n",
                "--model", "djl:" + checkpoint, "--temperature", "0", "--repeat-penalty", "1");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(lines(r.out())).containsExactly(trained.get(QUESTION));
        assertThat(r.err()).doesNotContain("ollama pull");
    }
}
