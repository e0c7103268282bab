package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Think levels, logprob options and records, the raw finish reason, and the bounds on option values. */
class ThinkLogprobOptionsTest {

    @Test
    void thinkLevelImpliesThinkingAndFalseClearsIt() {
        GenerationOptions high = GenerationOptions.builder().think(ThinkLevel.HIGH).build();
        assertThat(high.think()).contains(true);
        assertThat(high.thinkLevel()).contains(ThinkLevel.HIGH);
        assertThat(high.toBuilder().build()).isEqualTo(high);
        GenerationOptions off = high.toBuilder().think(false).build();
        assertThat(off.think()).contains(false);
        assertThat(off.thinkLevel()).isEmpty();
        assertThat(off).isNotEqualTo(high);
        assertThat(ThinkLevel.parse(" Medium ")).isEqualTo(ThinkLevel.MEDIUM);
        assertThat(ThinkLevel.LOW.wireName()).isEqualTo("low");
        assertThatThrownBy(() -> ThinkLevel.parse("max")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void topLogprobsImpliesLogprobsAndIsBounded() {
        GenerationOptions o = GenerationOptions.builder().topLogprobs(5).build();
        assertThat(o.logprobs()).contains(true);
        assertThat(o.topLogprobs()).hasValue(5);
        assertThat(o.toString()).contains("topLogprobs=5");
        GenerationOptions none = o.toBuilder().logprobs(false).build();
        assertThat(none.logprobs()).contains(false);
        assertThat(none.topLogprobs()).isEmpty();
        assertThatThrownBy(() -> GenerationOptions.builder().topLogprobs(21)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("21");
        assertThatThrownBy(() -> GenerationOptions.builder().topLogprobs(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tokenLogprobValidatesAndCopies() {
        TokenLogprob alt = TokenLogprob.of("b", -2.0);
        TokenLogprob t = new TokenLogprob("a", -0.5, List.of(97), List.of(alt));
        assertThat(t.probability()).isCloseTo(Math.exp(-0.5), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(t.topLogprobs()).containsExactly(alt);
        assertThatThrownBy(() -> new TokenLogprob("a", Double.NaN, List.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenLogprob("a", -1, List.of(256), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void completionKeepsLogprobsAndTheRawReason() {
        Timings t = new Timings(Duration.ZERO, Duration.ZERO, 0);
        Completion old = new Completion("x", "", FinishReason.STOP, new Usage(1, 1), t, List.of());
        assertThat(old.logprobs()).isEmpty();
        assertThat(old.rawFinishReason()).isEmpty();
        Completion c = new Completion("x", "", FinishReason.STOP, new Usage(1, 1), t, List.of(),
                List.of(TokenLogprob.of("x", -0.1)), "content_filter");
        assertThat(c.rawFinishReason()).isEqualTo("content_filter");
        assertThat(c.logprobs()).hasSize(1);
    }

    @Test
    void optionValuesAreBounded() {
        assertThatThrownBy(() -> GenerationOptions.builder().stop("s".repeat(1025)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1024");
        assertThatThrownBy(() -> GenerationOptions.builder().backendOption("ollama", "k\u0000", "v"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GenerationOptions.builder().backendOption("ollama", "k", "v\u0000"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NUL");
        assertThatThrownBy(() -> GenerationOptions.builder().backendOption("ollama", "k".repeat(200), "v"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("128");
        assertThatThrownBy(() -> GenerationOptions.builder().backendOption("ollama", "system", "x".repeat((1 << 20) + 1)))
                .isInstanceOf(IllegalArgumentException.class);
        GenerationOptions.Builder many = GenerationOptions.builder();
        for (int i = 0; i < GenerationOptions.Builder.MAX_BACKEND_OPTIONS; i++) {
            many.backendOption("ollama", "k" + i, "v");
        }
        many.backendOption("ollama", "k0", "replaced is fine");
        assertThatThrownBy(() -> many.backendOption("ollama", "one_more", "v")).isInstanceOf(IllegalArgumentException.class);

        assertThatThrownBy(() -> OpenOptions.builder().parameter("bad key", "v")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OpenOptions.builder().parameter("k", "x".repeat(64 * 1024 + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("65536");
        OpenOptions.Builder params = OpenOptions.builder();
        for (int i = 0; i < OpenOptions.Builder.MAX_PARAMETERS; i++) {
            params.parameter("p" + i, "v");
        }
        assertThatThrownBy(() -> params.parameter("p_extra", "v")).isInstanceOf(IllegalArgumentException.class);
    }
}
