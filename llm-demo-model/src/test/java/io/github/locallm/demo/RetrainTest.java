package io.github.locallm.demo;

import io.github.locallm.LocalLlm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retrains the demo model with the shipped seed and checks the new files the way the shipped ones are
 * checked. It takes minutes, so it is left out of the default run; run it with
 * {@code mvn -B -q -pl llm-demo-model -am verify -Ddemo.excludedGroups= -Dgroups=retrain
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("retrain")
class RetrainTest {

    @TempDir
    Path dir;

    @Test
    void retrainingWithTheSameSeedGivesAModelThatPassesTheSameChecks() throws Exception {
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        TrainDemoModel.Options options = new TrainDemoModel.Options(dir, 42, TrainDemoModel.DEFAULT_STEPS,
                TrainDemoModel.DEFAULT_MERGES, 1, "auto", TrainDemoModel.DEFAULT_HF);
        TrainDemoModel.Result result = TrainDemoModel.run(options, new PrintStream(System.out, true, "UTF-8"));
        assertThat(result.allReproduced()).as("plain-Java checks of the retrained model").isTrue();

        try (LocalLlm llm = LocalLlm.open("llamacpp:" + dir.resolve(DemoModel.GGUF_FILE) + "?threads=1")) {
            assertThat(BackendAnswers.mismatches(llm, DemoModel.corpus(), true)).isEmpty();
            assertThat(BackendAnswers.mismatches(llm, DemoModel.corpus(), false)).isEmpty();
        }
        try (LocalLlm llm = LocalLlm.open(dir.resolve(DemoModel.CHECKPOINT_DIR))) {
            assertThat(BackendAnswers.mismatches(llm, BackendAnswers.sample(8), true)).isEmpty();
        }
    }
}
