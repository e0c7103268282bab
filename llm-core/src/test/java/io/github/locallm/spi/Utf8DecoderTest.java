package io.github.locallm.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8DecoderTest {

    @Test
    void everySplitOfMixedTextDecodesToTheSameText() {
        String text = "aé€\uD83D\uDE00z日本";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            Utf8Decoder d = new Utf8Decoder();
            String first = d.decode(bytes, 0, cut);
            String second = d.decode(bytes, cut, bytes.length - cut);
            assertThat(first + second + d.flush()).as("cut at %d", cut).isEqualTo(text);
            assertThat(first).doesNotContain("\uFFFD");
            assertThat(text).startsWith(first);
        }
    }

    @Test
    void byteByByteReturnsOnlyCompleteCharacters() {
        String text = "\uD83D\uDE00é";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        Utf8Decoder d = new Utf8Decoder();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bytes.length; i++) {
            String piece = d.decode(new byte[] {bytes[i]});
            if (i < 3 || i == 4) {
                assertThat(piece).isEmpty();
                assertThat(d.hasPending()).isTrue();
            }
            sb.append(piece);
        }
        assertThat(d.hasPending()).isFalse();
        assertThat(sb).hasToString(text);
    }

    @Test
    void danglingSequenceBecomesReplacementOnFlush() {
        Utf8Decoder d = new Utf8Decoder();
        assertThat(d.decode(new byte[] {'o', 'k', (byte) 0xE2, (byte) 0x82})).isEqualTo("ok");
        assertThat(d.flush()).isEqualTo("\uFFFD");
        assertThat(d.flush()).isEmpty();
        assertThat(d.decode(new byte[] {'x'})).isEqualTo("x");
    }

    @Test
    void malformedBytesBecomeReplacement() {
        Utf8Decoder d = new Utf8Decoder();
        assertThat(d.decode(new byte[] {'a', (byte) 0xFF, 'b'})).isEqualTo("a\uFFFDb");
    }

    @Test
    void badSliceIsRejected() {
        Utf8Decoder d = new Utf8Decoder();
        assertThatThrownBy(() -> d.decode(new byte[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
