package io.github.locallm.demo;

import io.github.locallm.LocalLlm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

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

    @Test
    void answersTheIssueQuestionInFrench() {
        assertThat(llm.chat(java.util.List.of(
                        io.github.locallm.ChatMessage.system(DemoModel.systemPrompt()),
                        io.github.locallm.ChatMessage.user("Explique-moi Python en une phrase")),
                BackendAnswers.GREEDY).text())
                .startsWith("Python est un langage de programmation");
    }
}
