package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The provider: discovery, path detection, settings and model information. */
class ProviderTest {

    @Test
    void isFoundAndOpensADirectoryByPath() {
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32);
        assertThat(LocalLlm.providers()).anyMatch(p -> p.name().equals("djl"));
        try (LocalLlm llm = LocalLlm.open(dir)) {
            ModelInfo info = llm.info();
            assertThat(info.backend()).isEqualTo("djl");
            assertThat(info.details()).containsEntry("architecture", "LlamaForCausalLM")
                    .containsEntry("device", "cpu").containsEntry("weights_dtype", "F32");
            assertThat(info.contextLength()).isEqualTo(2048);
            assertThat(info.capabilities()).contains(Capability.COMPLETION, Capability.TOKENIZE, Capability.SEED);
            Completion c = llm.generate("Hello", GenerationOptions.builder().temperature(0).maxTokens(8).build());
            assertThat(c.usage().completionTokens()).isBetween(1, 8);
        }
    }

    @Test
    void acceptsOnlyCheckpointDirectories() {
        DjlProvider p = new DjlProvider();
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32);
        assertThat(p.accepts(dir)).isTrue();
        assertThat(p.accepts(dir.resolve("config.json"))).isFalse();
        assertThat(p.accepts(dir.getParent())).isFalse();
        assertThat(p.schemes()).containsExactly("djl");
        assertThat(p.name()).isEqualTo("djl");
    }

    @Test
    void unknownSettingsAndBadValuesAreRejected() {
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32);
        assertThatThrownBy(() -> Backends.open(dir, Map.of("threads_per_core", "2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads_per_core")
                .hasMessageContaining("device");
        assertThatThrownBy(() -> Backends.open(dir, Map.of("device", "tpu")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpu or gpu");
        assertThatThrownBy(() -> Backends.open(dir, Map.of("ctx", "100000")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2048");
    }

    @Test
    void gpuIsUsedOnlyWhenAskedAndPresent() {
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32);
        if (Engine.getEngine("PyTorch").getGpuCount() == 0) {
            assertThatThrownBy(() -> Backends.open(dir, Map.of("device", "gpu")))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("sees no CUDA GPU");
        } else {
            try (DjlBackend b = Backends.open(dir, Map.of("device", "gpu"))) {
                assertThat(b.info().details().get("device")).startsWith("gpu");
            }
        }
        assertThat(Backends.shared(TinyCheckpoints.Variant.LLAMA_F32).info().details().get("device"))
                .isEqualTo("cpu");
    }

    @Test
    void openingAModelChangesNoSystemProperty() {
        java.util.Properties before = (java.util.Properties) System.getProperties().clone();
        try (DjlBackend b = Backends.open(TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32), Map.of("ctx", "64"))) {
            assertThat(b.info().contextLength()).isEqualTo(64);
        }
        assertThat(System.getProperties()).isEqualTo(before);
        assertThat(Engine.getEngine("PyTorch").getVersion()).isEqualTo("2.7.1");
    }

    @Test
    void threadsIsProcessWideAndNotAModelSetting() {
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.LLAMA_F32);
        assertThatThrownBy(() -> Backends.open(dir, Map.of("threads", "2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ai.djl.pytorch.num_threads");
    }
}
