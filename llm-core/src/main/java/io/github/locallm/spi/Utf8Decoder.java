package io.github.locallm.spi;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Turns a stream of UTF-8 byte chunks into text without ever splitting a character.
 *
 * <p>Backends that receive token bytes (a native tokenizer's pieces, an HTTP body read in chunks) feed
 * each chunk to {@link #decode(byte[])}; it returns only complete characters and keeps an incomplete
 * trailing sequence for the next call. Malformed bytes become U+FFFD. At the end, {@link #flush()}
 * returns whatever is left (a dangling partial sequence becomes U+FFFD).
 *
 * <pre>{@code
 * Utf8Decoder utf8 = new Utf8Decoder();
 * String text = utf8.decode(pieceBytes);
 * if (!text.isEmpty()) {
 *     sink.token(text);
 * }
 * }</pre>
 *
 * <p>Not thread-safe: use one decoder per generation.
 */
public final class Utf8Decoder {
    private byte[] carry = new byte[0];

    /** Creates a decoder with nothing held back. */
    public Utf8Decoder() {
    }

    /**
     * @param bytes the next chunk
     * @return the complete characters available now, possibly empty
     */
    public String decode(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        return decode(bytes, 0, bytes.length);
    }

    /**
     * @param bytes an array holding the next chunk
     * @param offset where the chunk starts
     * @param length how many bytes it has
     * @return the complete characters available now, possibly empty
     * @throws IndexOutOfBoundsException when the slice is outside the array
     */
    public String decode(byte[] bytes, int offset, int length) {
        Objects.requireNonNull(bytes, "bytes");
        Objects.checkFromIndexSize(offset, length, bytes.length);
        byte[] all;
        if (carry.length == 0) {
            all = Arrays.copyOfRange(bytes, offset, offset + length);
        } else {
            all = Arrays.copyOf(carry, carry.length + length);
            System.arraycopy(bytes, offset, all, carry.length, length);
        }
        int complete = completePrefixLength(all);
        carry = Arrays.copyOfRange(all, complete, all.length);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    /** @return the text of any bytes still held back (U+FFFD for an incomplete sequence); resets the decoder */
    public String flush() {
        String rest = new String(carry, StandardCharsets.UTF_8);
        carry = new byte[0];
        return rest;
    }

    /** @return true when bytes of an incomplete character are held back */
    public boolean hasPending() {
        return carry.length > 0;
    }

    // Only the last three bytes can belong to a character that is still incomplete.
    private static int completePrefixLength(byte[] b) {
        int n = b.length;
        for (int i = n - 1; i >= Math.max(0, n - 3); i--) {
            int v = b[i] & 0xFF;
            if ((v & 0xC0) == 0x80) {
                continue;
            }
            int need = (v & 0xE0) == 0xC0 ? 2 : (v & 0xF0) == 0xE0 ? 3 : (v & 0xF8) == 0xF0 ? 4 : 1;
            return n - i < need ? i : n;
        }
        return n;
    }
}
