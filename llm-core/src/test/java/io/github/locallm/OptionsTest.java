package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.spi.OpenRequest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionsTest {
    @Test
    void generationOptionsNameTheBadValue() {
        GenerationOptions.Builder b = GenerationOptions.builder();
        assertThatThrownBy(() -> b.temperature(3.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("temperature must be in [0, 2]: 3.5");
        assertThatThrownBy(() -> b.temperature(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.maxTokens(0)).hasMessageContaining(": 0");
        assertThatThrownBy(() -> b.topP(1.5)).hasMessageContaining("1.5");
        assertThatThrownBy(() -> b.topK(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.minP(-0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.repeatPenalty(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.stop("a", "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.backendOption("a.b", "k", "v")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.responseFormat(null)).isInstanceOf(NullPointerException.class);
        assertThat(b.build()).as("failed setters leave nothing behind").isEqualTo(GenerationOptions.defaults());
    }

    @Test
    void unsetIsNotDefaultAndToBuilderRoundTrips() {
        GenerationOptions o = GenerationOptions.builder().maxTokens(8).temperature(0).stop("\n")
                .backendOption("ollama", "keep_alive", "5m").build();
        assertThat(GenerationOptions.defaults().temperature()).isEmpty();
        assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
        assertThat(o.backendOptions("ollama")).containsExactly(Map.entry("keep_alive", "5m"));
        assertThat(o.toBuilder().clearStop().build().stop()).isEmpty();
        assertThat(o.stop()).containsExactly("\n");
    }

    @Test
    void openOptionsValidateAndRequestsParseTypedSettings() {
        assertThatThrownBy(() -> OpenOptions.builder().contextLength(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OpenOptions.builder().backend(" ")).isInstanceOf(IllegalArgumentException.class);
        OpenRequest r = new OpenRequest(ModelSpec.parse("memory:x"), Map.of("ctx", "abc", "flag", "yes"));
        assertThatThrownBy(() -> r.integer("ctx", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ctx must be an integer in [1, inf]: 'abc'").hasMessageContaining("memory:x");
        assertThat(r.bool("flag")).contains(true);
        assertThatThrownBy(() -> r.requireKnown(List.of("ctx"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[flag]").hasMessageContaining("known: [ctx]");
    }
}
