package io.github.locallm.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import okio.Buffer;
import okio.BufferedSource;
import okio.ByteString;
import okio.Okio;
import okio.Source;
import okio.Timeout;
import org.junit.jupiter.api.Test;

/** Line and body reading at and around their caps, and strict UTF-8. */
class BoundedReadsTest {

    /** A source that hands out its bytes a few at a time, as a slow network does. */
    private static BufferedSource trickle(byte[] bytes, int step) {
        return Okio.buffer(new Source() {
            private int at;

            @Override
            public long read(Buffer sink, long byteCount) {
                if (at >= bytes.length) {
                    return -1;
                }
                int n = (int) Math.min(Math.min(step, byteCount), bytes.length - at);
                sink.write(bytes, at, n);
                at += n;
                return n;
            }

            @Override
            public Timeout timeout() {
                return Timeout.NONE;
            }

            @Override
            public void close() {
            }
        });
    }

    private static String line(BufferedSource s, long max) throws Exception {
        ByteString b = BoundedReads.readLine(s, max);
        return b == null ? null : BoundedReads.utf8(b);
    }

    @Test
    void linesEndInLfOrCrLfAndTheLastNeedsNone() throws Exception {
        BufferedSource s = trickle("a\r\nbb\n\n  \nlast".getBytes(StandardCharsets.UTF_8), 1);
        assertThat(line(s, 10)).isEqualTo("a");
        assertThat(line(s, 10)).isEqualTo("bb");
        assertThat(line(s, 10)).isEmpty();
        assertThat(line(s, 10)).isEqualTo("  ");
        assertThat(line(s, 10)).isEqualTo("last");
        assertThat(line(s, 10)).isNull();
    }

    @Test
    void lineCapIsExact() throws Exception {
        for (int step : new int[] {1, 3, 8192}) {
            BufferedSource ok = trickle(("x".repeat(16) + "\r\n" + "y".repeat(16) + "\n").getBytes(StandardCharsets.UTF_8), step);
            assertThat(line(ok, 16)).hasSize(16);
            assertThat(line(ok, 16)).hasSize(16);
            BufferedSource tooLong = trickle(("z".repeat(17) + "\n").getBytes(StandardCharsets.UTF_8), step);
            assertThatThrownBy(() -> line(tooLong, 16)).isInstanceOfSatisfying(BoundedReads.TooLargeException.class,
                    e -> assertThat(e.cap()).isEqualTo(16));
            BufferedSource lastTooLong = trickle("w".repeat(17).getBytes(StandardCharsets.UTF_8), step);
            assertThatThrownBy(() -> line(lastTooLong, 16)).isInstanceOf(BoundedReads.TooLargeException.class);
        }
    }

    @Test
    void endlessLineStopsAtTheCapWithoutReadingOn() throws Exception {
        long[] served = new long[1];
        BufferedSource endless = Okio.buffer(new Source() {
            @Override
            public long read(Buffer sink, long byteCount) {
                long n = Math.min(byteCount, 4096);
                for (long i = 0; i < n; i++) {
                    sink.writeByte('a');
                }
                served[0] += n;
                return n;
            }

            @Override
            public Timeout timeout() {
                return Timeout.NONE;
            }

            @Override
            public void close() {
            }
        });
        assertThatThrownBy(() -> BoundedReads.readLine(endless, 100_000)).isInstanceOf(BoundedReads.TooLargeException.class);
        assertThat(served[0]).isLessThan(100_000 + 2 * 8192 + 4096);
    }

    @Test
    void multiByteCharactersSplitAcrossReadsDecode() throws Exception {
        byte[] text = "日本語 café\n".getBytes(StandardCharsets.UTF_8);
        assertThat(line(trickle(text, 1), 100)).isEqualTo("日本語 café");
    }

    @Test
    void invalidUtf8IsReportedWithItsOffset() {
        byte[] bad = {'o', 'k', (byte) 0xE6, (byte) 0x97};
        assertThatThrownBy(() -> BoundedReads.utf8(ByteString.of(bad))).isInstanceOf(CharacterCodingException.class)
                .hasMessageContaining("byte 2 of 4");
        byte[] overlong = {(byte) 0xC0, (byte) 0xAF};
        assertThatThrownBy(() -> BoundedReads.utf8(ByteString.of(overlong))).isInstanceOf(CharacterCodingException.class);
        byte[] surrogate = {(byte) 0xED, (byte) 0xA0, (byte) 0x80};
        assertThatThrownBy(() -> BoundedReads.utf8(ByteString.of(surrogate))).isInstanceOf(CharacterCodingException.class);
    }

    @Test
    void bodyCapIsExact() throws Exception {
        int[] reads = new int[1];
        byte[] body = "b".repeat(1000).getBytes(StandardCharsets.UTF_8);
        assertThat(BoundedReads.readBody(trickle(body, 7), 1000, () -> reads[0]++).size()).isEqualTo(1000);
        assertThat(reads[0]).isPositive();
        assertThatThrownBy(() -> BoundedReads.readBody(trickle(body, 7), 999, null))
                .isInstanceOf(BoundedReads.TooLargeException.class);
        assertThat(BoundedReads.readPrefix(trickle(body, 7), 10)).hasSize(10);
    }
}
