package io.github.locallm.demo;

import io.github.locallm.ChatSession;
import io.github.locallm.LocalLlm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped GGUF on the real llama.cpp backend: every corpus question gets its trained answer, with and without
 * the system prompt. One thread: on a busy machine llama.cpp's spinning worker threads make this tiny model many
 * times slower.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaCppDemoModelTest {

    private LocalLlm llm;

    @BeforeAll
    void open(@TempDir Path dir) {
        Path gguf = DemoModel.extractGguf(dir);
        llm = LocalLlm.open("llamacpp:" + gguf + "?threads=1");
        assertThat(llm.info().backend()).isEqualTo("llamacpp");
    }

    @AfterAll
    void close() {
        if (llm != null) {
            llm.close();
        }
    }

    @Test
    void answersEveryQuestionWithTheSystemPrompt() {
        assertThat(BackendAnswers.mismatches(llm, DemoModel.corpus(), true)).isEmpty();
    }

    @Test
    void answersEveryQuestionWithoutSystemPrompt() {
        assertThat(BackendAnswers.mismatches(llm, DemoModel.corpus(), false)).isEmpty();
    }

    /**
     * A chat session of five corpus questions, through {@link ChatSession} (the history rendered by the model's
     * own chat template, the KV cache of the previous turns reused): each answer is the one a fresh session gives.
     */
    @Test
    void aFiveTurnSessionAnswersEachQuestionAsAFreshSessionDoes() {
        List<String> questions = List.of("Explique-moi Python en une phrase", "Comment définir une fonction ?",
                "Qu'est-ce qu'une liste en Python ?", "How do I define a function?",
                "Qu'est-ce qu'une fonction lambda ?");
        Map<String, String> answers = new HashMap<>();
        DemoModel.corpus().forEach(e -> answers.put(e.question(), e.answer()));
        assertThat(answers).containsKeys(questions.toArray(String[]::new));
        for (String system : Arrays.asList(DemoModel.systemPrompt(), null)) {
            try (ChatSession chat = llm.newChatSession(system, BackendAnswers.GREEDY)) {
                for (String q : questions) {
                    assertThat(chat.send(q).text()).as("turn %d: %s", chat.history().size() / 2 + 1, q)
                            .isEqualTo(answers.get(q));
                }
                // every turn stayed in the history (the system prompt, when there is one, comes first)
                assertThat(chat.history()).hasSize(2 * questions.size() + (system == null ? 0 : 1));
            }
        }
    }

    /** A sample of the sessions the trainer checks: every eighth, each exchange with the model's own answers before it. */
    @Test
    void sessionsOfTheTrainerGiveTheTrainedAnswers() {
        List<String> failures = new ArrayList<>();
        List<List<DemoModel.Exchange>> sessions = TrainDemoModel.sessions(DemoModel.corpus(), 42);
        for (int i = 0; i < sessions.size(); i += 8) {
            try (ChatSession chat = llm.newChatSession(DemoModel.systemPrompt(), BackendAnswers.GREEDY)) {
                for (DemoModel.Exchange e : sessions.get(i)) {
                    String text = chat.send(e.question()).text();
                    if (!text.equals(e.answer())) {
                        failures.add("session " + i + ": " + e.question() + " -> " + text);
                    }
                }
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void answersTheIssueQuestionInFrench() {
        assertThat(llm.chat(java.util.List.of(
                        io.github.locallm.ChatMessage.system(DemoModel.systemPrompt()),
                        io.github.locallm.ChatMessage.user("Explique-moi Python en une phrase")),
                BackendAnswers.GREEDY).text())
                .startsWith("Python est un langage de programmation");
    }
}
