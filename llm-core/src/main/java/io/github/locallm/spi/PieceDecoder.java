package io.github.locallm.spi;

import java.util.Objects;
import java.util.function.IntFunction;

/**
 * Turns generated tokens into text pieces that never split a character: text is held back while it ends
 * in an incomplete UTF-8 sequence and comes out with the token that completes it.
 *
 * <p>Not thread-safe: one per generation.
 */
public interface PieceDecoder {

    /**
     * @param token the next generated token
     * @return the text that is complete now, possibly empty
     */
    String push(int token);

    /** @return the text still held back at the end of generation (U+FFFD for a dangling partial character) */
    String flush();

    /**
     * @param tokenBytes the UTF-8 bytes of each token
     * @return a decoder that joins the tokens' bytes and cuts only between characters
     */
    static PieceDecoder ofBytes(IntFunction<byte[]> tokenBytes) {
        Objects.requireNonNull(tokenBytes, "tokenBytes");
        Utf8Decoder utf8 = new Utf8Decoder();
        return new PieceDecoder() {
            @Override
            public String push(int token) {
                byte[] bytes = tokenBytes.apply(token);
                return bytes == null || bytes.length == 0 ? "" : utf8.decode(bytes);
            }

            @Override
            public String flush() {
                return utf8.flush();
            }
        };
    }
}
