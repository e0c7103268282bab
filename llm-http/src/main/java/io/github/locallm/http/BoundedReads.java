package io.github.locallm.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import okio.Buffer;
import okio.BufferedSource;
import okio.ByteString;

/**
 * Reads lines and bodies with a cap on their size, holding at most the cap (plus one read segment) in
 * memory, and decodes them as strict UTF-8.
 *
 * <p>Stateless; safe from any thread for different sources.
 */
public final class BoundedReads {
    private BoundedReads() {
    }

    /** A line or body passed its cap. */
    public static final class TooLargeException extends IOException {
        private static final long serialVersionUID = 1L;
        /** The cap that was passed, in bytes. */
        private final long cap;

        TooLargeException(long cap) {
            super("more than " + cap + " bytes");
            this.cap = cap;
        }

        /** @return the cap that was passed, in bytes */
        public long cap() {
            return cap;
        }
    }

    /**
     * Reads one line ending in {@code \n} (a {@code \r} before it is dropped, as SSE and NDJSON allow).
     * A last line without a newline is returned at the end of the stream.
     *
     * @param source the stream
     * @param maxBytes longest line, without its line end
     * @return the line's bytes, or {@code null} at the end of the stream
     * @throws TooLargeException when no line end comes within {@code maxBytes}
     * @throws IOException when reading fails
     */
    public static ByteString readLine(BufferedSource source, long maxBytes) throws IOException {
        Buffer buffer = source.getBuffer();
        long scanned = 0;
        while (true) {
            long limit = Math.min(buffer.size(), maxBytes + 2);
            long nl = buffer.indexOf((byte) '\n', scanned, limit);
            if (nl >= 0) {
                long len = nl;
                ByteString line = buffer.readByteString(len);
                buffer.skip(1);
                if (line.size() > 0 && line.getByte(line.size() - 1) == '\r') {
                    line = line.substring(0, line.size() - 1);
                }
                if (line.size() > maxBytes) {
                    throw new TooLargeException(maxBytes);
                }
                return line;
            }
            scanned = limit;
            if (buffer.size() > maxBytes + 1) {
                throw new TooLargeException(maxBytes);
            }
            if (!source.request(buffer.size() + 1)) {
                if (buffer.size() == 0) {
                    return null;
                }
                if (buffer.size() > maxBytes) {
                    throw new TooLargeException(maxBytes);
                }
                return buffer.readByteString();
            }
        }
    }

    /**
     * Reads a whole body.
     *
     * @param source the body
     * @param maxBytes largest body accepted
     * @param onRead called after each read with the bytes read (for deadlines), may be {@code null}
     * @return the bytes
     * @throws TooLargeException when the body is larger than {@code maxBytes}
     * @throws IOException when reading fails
     */
    public static ByteString readBody(BufferedSource source, long maxBytes, Runnable onRead) throws IOException {
        Buffer out = new Buffer();
        while (true) {
            long n = source.read(out, 8192);
            if (n < 0) {
                return out.readByteString();
            }
            if (onRead != null) {
                onRead.run();
            }
            if (out.size() > maxBytes) {
                throw new TooLargeException(maxBytes);
            }
        }
    }

    /**
     * Reads up to {@code maxBytes} of a body for an error message, decoding leniently; the rest is left.
     *
     * @param source the body
     * @param maxBytes most bytes to read
     * @return the text
     * @throws IOException when reading fails
     */
    public static String readPrefix(BufferedSource source, long maxBytes) throws IOException {
        source.request(maxBytes);
        long n = Math.min(maxBytes, source.getBuffer().size());
        return source.readString(n, StandardCharsets.UTF_8);
    }

    /**
     * Decodes strict UTF-8: malformed or truncated sequences are an error, never replaced.
     *
     * @param bytes the bytes
     * @return the text
     * @throws CharacterCodingException naming the offset of the first bad byte
     */
    public static String utf8(ByteString bytes) throws CharacterCodingException {
        ByteBuffer in = bytes.asByteBuffer();
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(in)
                    .toString();
        } catch (CharacterCodingException e) {
            CharacterCodingException named = new CharacterCodingException() {
                private static final long serialVersionUID = 1L;

                @Override
                public String getMessage() {
                    return "invalid UTF-8 at byte " + in.position() + " of " + bytes.size();
                }
            };
            named.initCause(e);
            throw named;
        }
    }
}
