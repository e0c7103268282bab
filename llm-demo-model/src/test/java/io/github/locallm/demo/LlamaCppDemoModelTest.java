package io.github.locallm.demo;

import io.github.locallm.LocalLlm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped GGUF on the real llama.cpp backend: every corpus question gets its trained answer. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaCppDemoModelTest {

    @TempDir
    Path dir;

    private LocalLlm llm;

    @BeforeAll
    void open() {
        Path gguf = DemoModel.extractGguf(dir);
        llm = LocalLlm.open(gguf);
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
