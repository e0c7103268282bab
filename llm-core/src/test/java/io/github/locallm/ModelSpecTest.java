package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelSpecTest {
    @Test
    void ollamaTagsKeepTheirColons() {
        ModelSpec s = ModelSpec.parse("ollama:qwen2.5:7b");
        assertThat(s.scheme()).isEqualTo("ollama");
        assertThat(s.location()).isEqualTo("qwen2.5:7b");
        assertThat(s.parameters()).isEmpty();
        assertThat(s).hasToString("ollama:qwen2.5:7b");
    }

    @Test
    void hostAndPortStayInTheLocation() {
        ModelSpec s = ModelSpec.parse("ollama://gpu-box:11434/qwen2.5:7b?keep_alive=5m");
        assertThat(s.location()).isEqualTo("//gpu-box:11434/qwen2.5:7b");
        assertThat(s.parameters()).containsExactly(Map.entry("keep_alive", "5m"));
    }

    @Test
    void windowsPathsSurvive() {
        ModelSpec s = ModelSpec.parse("llamacpp:C:\\models\\mistral.Q4_K_M.gguf?ctx=8192&threads=8");
        assertThat(s.scheme()).isEqualTo("llamacpp");
        assertThat(s.location()).isEqualTo("C:\\models\\mistral.Q4_K_M.gguf");
        assertThat(s.parameters()).containsExactly(Map.entry("ctx", "8192"), Map.entry("threads", "8"));
    }

    @Test
    void queryValuesAreDecodedAndSchemeLowerCased() {
        ModelSpec s = ModelSpec.parse("DJL:/models/Qwen2.5-0.5B-Instruct?device=cpu&name=a%20b");
        assertThat(s.scheme()).isEqualTo("djl");
        assertThat(s.location()).isEqualTo("/models/Qwen2.5-0.5B-Instruct");
        assertThat(s.parameters()).containsExactly(Map.entry("device", "cpu"), Map.entry("name", "a b"));
    }

    @Test
    void malformedSpecsAreRejectedWithTheSpecInTheMessage() {
        assertThatThrownBy(() -> ModelSpec.parse("llama3.2")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("scheme:model").hasMessageContaining("llama3.2");
        assertThatThrownBy(() -> ModelSpec.parse("ollama:")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("names no model");
        assertThatThrownBy(() -> ModelSpec.parse("ollama:m?ctx")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key=value");
        assertThatThrownBy(() -> ModelSpec.parse("ollama:m?a=1&a=2")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("duplicate");
        assertThatThrownBy(() -> ModelSpec.parse("1x:m")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ModelSpec.parse(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aBarePathPointsToOpenPathAndThePrefixes() {
        assertThatThrownBy(() -> ModelSpec.parse("/models/m.gguf")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("LocalLlm.open(Path.of(\"/models/m.gguf\"))").hasMessageContaining("'llamacpp:'");
        assertThatThrownBy(() -> ModelSpec.parse("llama3.2")).hasMessageNotContaining("Path.of");
    }
}
