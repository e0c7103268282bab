package io.github.locallm.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelSpec;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OptionValuesTest {
    private enum Pooling { LAST, CLS, MEAN_SQRT }

    private static OptionValues of(String key, String value) {
        return new OptionValues("test option", "test model m", Map.of(key, value));
    }

    @Test
    void integersAreCheckedAgainstTheirRange() {
        assertThat(of("n", " 7 ").integer("n", 0, 10)).hasValue(7);
        assertThat(of("n", "7").integer("other", 0, 10)).isEmpty();
        assertThatThrownBy(() -> of("n", "11").integer("n", 0, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("test option n must be an integer in [0, 10]: '11' (test model m)");
        assertThatThrownBy(() -> of("n", "1.5").integer("n", 0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> of("n", "99999999999").integer("n", 0, Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, inf]");
    }

    @Test
    void decimalsMustBeFiniteAndInRange() {
        assertThat(of("x", "0.25").decimal("x", 0, 1)).hasValue(0.25);
        for (String bad : new String[] {"NaN", "Infinity", "-0.5", "2", "abc", ""}) {
            assertThatThrownBy(() -> of("x", bad).decimal("x", 0, 1)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("test option x must be a finite number in [0.0, 1.0]");
        }
    }

    @Test
    void booleansTakeTheUsualSpellings() {
        for (String t : new String[] {"true", "TRUE", "1", "yes", "on"}) {
            assertThat(of("b", t).bool("b")).as(t).contains(true);
        }
        for (String f : new String[] {"false", "0", "No", "off"}) {
            assertThat(of("b", f).bool("b")).as(f).contains(false);
        }
        assertThatThrownBy(() -> of("b", "maybe").bool("b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("true or false: 'maybe'");
    }

    @Test
    void durationsTakeUnitsSecondsAndIso() {
        assertThat(of("d", "250ms").duration("d")).contains(Duration.ofMillis(250));
        assertThat(of("d", "30s").duration("d")).contains(Duration.ofSeconds(30));
        assertThat(of("d", "30").duration("d")).contains(Duration.ofSeconds(30));
        assertThat(of("d", "5m").duration("d")).contains(Duration.ofMinutes(5));
        assertThat(of("d", "2h").duration("d")).contains(Duration.ofHours(2));
        assertThat(of("d", "PT1M30S").duration("d")).contains(Duration.ofSeconds(90));
        assertThat(of("d", "1.5s").duration("d")).contains(Duration.ofMillis(1500));
        for (String bad : new String[] {"-1", "5 minutes", "PT-1S", "s", "1d", "9999999999999s"}) {
            assertThatThrownBy(() -> of("d", bad).duration("d")).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("must be a duration");
        }
    }

    @Test
    void choicesNameTheirConstants() {
        assertThat(of("p", "Cls").choice("p", Pooling.class)).contains(Pooling.CLS);
        assertThat(of("p", "mean-sqrt").choice("p", Pooling.class)).contains(Pooling.MEAN_SQRT);
        assertThatThrownBy(() -> of("p", "max").choice("p", Pooling.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("one of last, cls, mean_sqrt: 'max'");
    }

    @Test
    void unknownBackendOptionsAreRejectedListingTheKnownOnes() {
        GenerationOptions o = GenerationOptions.builder().backendOption("x", "mirostat", "2")
                .backendOption("x", "bogus", "1").backendOption("other", "ignored", "1").build();
        assertThatThrownBy(() -> OptionValues.backendOptions(o, "x", "x model m", Set.of("mirostat", "keep_alive")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown x option [bogus] for x model m; known: [keep_alive, mirostat]");
        GenerationOptions none = GenerationOptions.builder().backendOption("x", "k", "1").build();
        assertThatThrownBy(() -> OptionValues.backendOptions(none, "x", "x model m", Set.of()))
                .hasMessageContaining("known: none");
        OptionValues v = OptionValues.backendOptions(GenerationOptions.builder().backendOption("x", "mirostat", "2")
                .build(), "x", "x model m", Set.of("mirostat"));
        assertThat(v.integer("mirostat", 0, 2)).hasValue(2);
    }

    @Test
    void aBackendOptionShadowingASharedOptionSaysWhereThatOneIsSet() {
        GenerationOptions o = GenerationOptions.builder().backendOption("x", "temperature", "2").build();
        assertThatThrownBy(() -> OptionValues.backendOptions(o, "x", "x model m", Set.of("mirostat")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[temperature]")
                .hasMessageContaining("set with GenerationOptions");
    }

    @Test
    void theContextDefaultsToTheModelCappedOnce() {
        assertThat(new OpenRequest(ModelSpec.parse("m:x"), Map.of()).contextLength(32768))
                .isEqualTo(OptionValues.DEFAULT_CONTEXT_CAP);
        assertThat(new OpenRequest(ModelSpec.parse("m:x"), Map.of()).contextLength(512)).isEqualTo(512);
        assertThat(new OpenRequest(ModelSpec.parse("m:x"), Map.of()).contextLength(0))
                .isEqualTo(OptionValues.DEFAULT_CONTEXT_CAP);
        assertThat(new OpenRequest(ModelSpec.parse("m:x"), Map.of("ctx", "1024")).contextLength(2048)).isEqualTo(1024);
        assertThatThrownBy(() -> new OpenRequest(ModelSpec.parse("m:x"), Map.of("ctx", "4096")).contextLength(2048))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[16, 2048]");
    }
}
