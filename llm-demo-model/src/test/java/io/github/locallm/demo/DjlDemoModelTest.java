package io.github.locallm.demo;

import io.github.locallm.LocalLlm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped Hugging Face checkpoint on the real DJL backend (PyTorch): a sample of the corpus. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DjlDemoModelTest {

    private LocalLlm llm;

    @BeforeAll
    void open(@TempDir Path dir) {
        Path checkpoint = DemoModel.extractCheckpoint(dir);
        llm = LocalLlm.open(checkpoint);
        assertThat(llm.info().backend()).isEqualTo("djl");
    }

    @AfterAll
    void close() {
        if (llm != null) {
            llm.close();
        }
    }

    @Test
    void answersASampleOfQuestionsWithTheSystemPrompt() {
        List<DemoModel.Exchange> sample = BackendAnswers.sample(8);
        assertThat(sample).hasSizeGreaterThanOrEqualTo(20);
        assertThat(BackendAnswers.mismatches(llm, sample, true)).isEmpty();
    }

    @Test
    void answersASampleOfQuestionsWithoutSystemPrompt() {
        assertThat(BackendAnswers.mismatches(llm, BackendAnswers.sample(40), false)).isEmpty();
    }
}
