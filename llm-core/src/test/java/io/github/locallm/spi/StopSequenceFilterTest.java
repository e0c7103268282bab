package io.github.locallm.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StopSequenceFilterTest {
    private final List<String> out = new ArrayList<>();

    private StopSequenceFilter filter(String... stops) {
        return new StopSequenceFilter(List.of(stops), out::add);
    }

    private String forwarded() {
        return String.join("", out);
    }

    @Test
    void withoutStopsEveryPieceIsForwardedAtOnce() {
        StopSequenceFilter f = filter();
        assertThat(f.accept("Hello")).isFalse();
        assertThat(f.accept(" world")).isFalse();
        assertThat(out).containsExactly("Hello", " world");
        f.flush();
        assertThat(out).containsExactly("Hello", " world");
        assertThat(f.stopped()).isFalse();
    }

    @Test
    void stopInsideOnePieceCutsBeforeIt() {
        StopSequenceFilter f = filter("END");
        assertThat(f.accept("abc END def")).isTrue();
        assertThat(forwarded()).isEqualTo("abc ");
        assertThat(f.stopped()).isTrue();
    }

    @Test
    void stopSpanningPiecesIsHeldBackThenDropped() {
        StopSequenceFilter f = filter("\n\n");
        assertThat(f.accept("one\n")).isFalse();
        assertThat(forwarded()).isEqualTo("one");
        assertThat(f.accept("\ntwo")).isTrue();
        assertThat(forwarded()).isEqualTo("one");
        assertThat(f.accept("more")).isTrue();
        f.flush();
        assertThat(forwarded()).isEqualTo("one");
    }

    @Test
    void heldTextIsReleasedWhenItStopsLookingLikeAStop() {
        StopSequenceFilter f = filter("STOP");
        assertThat(f.accept("ST")).isFalse();
        assertThat(forwarded()).isEmpty();
        assertThat(f.accept("ay")).isFalse();
        assertThat(forwarded()).isEqualTo("STay");
    }

    @Test
    void flushForwardsHeldTextWhenNothingMatched() {
        StopSequenceFilter f = filter("User:");
        assertThat(f.accept("Hi Us")).isFalse();
        assertThat(forwarded()).isEqualTo("Hi ");
        f.flush();
        assertThat(forwarded()).isEqualTo("Hi Us");
    }

    @Test
    void stopThatCompletesFirstWins() {
        StopSequenceFilter f = filter("abcd", "bc");
        assertThat(f.accept("xab")).isFalse();
        assertThat(f.accept("c")).isTrue();
        assertThat(forwarded()).isEqualTo("xa");
    }

    @Test
    void overlappingPrefixesKeepTheLongestCandidate() {
        StopSequenceFilter f = filter("aab");
        assertThat(f.accept("aa")).isFalse();
        assertThat(f.accept("a")).isFalse();
        assertThat(forwarded()).isEqualTo("a");
        assertThat(f.accept("b")).isTrue();
        assertThat(forwarded()).isEqualTo("a");
    }

    @Test
    void characterByCharacterEqualsWholeText() {
        String text = "The answer is 42.\nQuestion: why?\nAnswer: because";
        for (String stop : List.of("Question:", "\nAnswer", "?", "zzz")) {
            List<String> whole = new ArrayList<>();
            StopSequenceFilter a = new StopSequenceFilter(List.of(stop), whole::add);
            a.accept(text);
            a.flush();
            List<String> pieces = new ArrayList<>();
            StopSequenceFilter b = new StopSequenceFilter(List.of(stop), pieces::add);
            for (int i = 0; i < text.length() && !b.accept(text.substring(i, i + 1)); i++) {
                // feed one char at a time until the filter reports the stop
            }
            b.flush();
            int at = text.indexOf(stop);
            String expected = at < 0 ? text : text.substring(0, at);
            assertThat(String.join("", whole)).as(stop).isEqualTo(expected);
            assertThat(String.join("", pieces)).as(stop).isEqualTo(expected);
        }
    }

    @Test
    void surrogatePairsAreNotSplit() {
        StopSequenceFilter f = filter("\uD83D\uDE00!");
        assertThat(f.accept("a\uD83D\uDE00")).isFalse();
        assertThat(forwarded()).isEqualTo("a");
        assertThat(f.accept("b")).isFalse();
        assertThat(forwarded()).isEqualTo("a\uD83D\uDE00b");
        for (String piece : out) {
            assertThat(Character.isHighSurrogate(piece.charAt(piece.length() - 1))).isFalse();
        }
    }

    @Test
    void emptyStopIsRejected() {
        assertThatThrownBy(() -> filter("a", "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new StopSequenceFilter(null, out::add)).isInstanceOf(NullPointerException.class);
    }
}
