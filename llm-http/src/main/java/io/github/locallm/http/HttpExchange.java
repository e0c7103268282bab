package io.github.locallm.http;

import io.github.locallm.LlmException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.time.Duration;
import okhttp3.Call;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.ByteString;
import okio.ForwardingSource;
import okio.Okio;

/**
 * One call of an {@link HttpTransport}: sends the request, then reads the answer line by line
 * ({@link #readLine()}, for NDJSON and SSE) or whole ({@link #readBody()}), within the transport's
 * limits. Lines and bodies are decoded as strict UTF-8. A passed limit, a refused redirect or bytes that
 * are not UTF-8 end the call with a typed {@link LlmException} that names the server, the call and, for a
 * limit, the setting that raises it.
 *
 * <p>Not thread-safe, except {@link #cancel()} and {@link #cancelLater()}, which any thread may call.
 * Close it when done: closing an answer that was not read to its end closes the connection, so the server
 * stops working on it.
 */
public final class HttpExchange implements AutoCloseable {
    private final HttpTransport transport;
    private final Call call;
    private final Deadline deadline;
    private final String op;
    private Response response;
    private BufferedSource source;
    private boolean complete;

    HttpExchange(HttpTransport transport, Call call, Deadline deadline, String op) {
        this.transport = transport;
        this.call = call;
        this.deadline = deadline;
        this.op = op;
    }

    /**
     * Sends the request and waits for the status line and headers.
     *
     * @return the response; read its body through this exchange, not through the response
     * @throws IOException when the call fails (see {@link #failure(IOException)})
     */
    public Response execute() throws IOException {
        response = call.execute();
        ResponseBody body = response.body();
        BufferedSource raw = body != null ? body.source() : new Buffer();
        source = Okio.buffer(new ForwardingSource(raw) {
            @Override
            public long read(Buffer sink, long byteCount) throws IOException {
                long n = super.read(sink, byteCount);
                if (n > 0) {
                    deadline.bytes(n);
                }
                return n;
            }
        });
        return response;
    }

    /**
     * Reads the next line of a streamed answer. Blank lines are returned (as empty strings) but do not
     * count as activity for the idle limit.
     *
     * @return the line without its line end, or {@code null} at the end of the answer
     * @throws LimitExceededException when a line is longer than {@link HttpLimits#maxLineBytes()}
     * @throws MalformedResponseException when a line is not UTF-8
     * @throws IOException when reading fails (see {@link #failure(IOException)})
     */
    public String readLine() throws IOException {
        return readLine(true);
    }

    /**
     * Reads the next line of a streamed answer, choosing whether it counts as activity: a caller that
     * assembles events from several lines (server-sent events, where comment lines keep a connection
     * alive without carrying anything) passes {@code false} and calls {@link Deadline#activity()} on the
     * {@link #deadline()} when an event is complete.
     *
     * @param activity whether a non-blank line counts as activity for the first-byte and idle limits
     * @return the line without its line end, or {@code null} at the end of the answer
     * @throws LimitExceededException when a line is longer than {@link HttpLimits#maxLineBytes()}
     * @throws MalformedResponseException when a line is not UTF-8
     * @throws IOException when reading fails (see {@link #failure(IOException)})
     */
    public String readLine(boolean activity) throws IOException {
        ByteString line;
        try {
            line = BoundedReads.readLine(source, transport.limits().maxLineBytes());
        } catch (BoundedReads.TooLargeException e) {
            throw new LimitExceededException(Limit.LINE_LENGTH, e.cap(), transport.server() + " sent a line longer than "
                    + e.cap() + " bytes during " + op + "; the call was closed. If the answer is legitimate, raise the "
                    + "setting " + Limit.LINE_LENGTH.setting() + ".", e);
        }
        if (line == null) {
            return null;
        }
        long total = deadline.bytesSoFar();
        long cap = transport.limits().maxStreamBytes();
        if (total > cap) {
            throw new LimitExceededException(Limit.STREAM_SIZE, cap, transport.server() + " streamed more than " + cap
                    + " bytes (after decompression) during " + op + "; the call was closed. Set a token limit"
                    + " (maxTokens) or, if the answer is legitimate, raise the setting " + Limit.STREAM_SIZE.setting()
                    + ".", null);
        }
        String text = decode(line, "a line");
        if (activity && !text.isBlank()) {
            deadline.activity();
        }
        return text;
    }

    /**
     * Reads the whole answer body.
     *
     * @return the body as text
     * @throws LimitExceededException when it is larger than {@link HttpLimits#maxBodyBytes()} (counted
     *                                after decompression)
     * @throws MalformedResponseException when it is not UTF-8
     * @throws IOException when reading fails (see {@link #failure(IOException)})
     */
    public String readBody() throws IOException {
        ByteString bytes;
        try {
            bytes = BoundedReads.readBody(source, transport.limits().maxBodyBytes(), deadline::activity);
        } catch (BoundedReads.TooLargeException e) {
            throw new LimitExceededException(Limit.BODY_SIZE, e.cap(), transport.server() + " sent an answer larger than "
                    + e.cap() + " bytes (after decompression) during " + op + "; the call was closed. If the answer "
                    + "is legitimate, raise the setting " + Limit.BODY_SIZE.setting() + ".", e);
        }
        complete = true;
        return decode(bytes, "an answer");
    }

    /**
     * Reads the start of an error answer for a message, decoding leniently.
     *
     * @param maxBytes most bytes to read
     * @return the text
     * @throws IOException when reading fails
     */
    public String readErrorText(int maxBytes) throws IOException {
        return BoundedReads.readPrefix(source, maxBytes);
    }

    /** Marks the answer as read to its end, so that closing keeps the connection for reuse. */
    public void complete() {
        complete = true;
    }

    /** @return the deadline of this call */
    public Deadline deadline() {
        return deadline;
    }

    /** @return the OkHttp call */
    public Call call() {
        return call;
    }

    /** Cancels the call now, from any thread. */
    public void cancel() {
        call.cancel();
    }

    /** Cancels the call from the timer thread, so that the caller does not wait for a socket to close. */
    public void cancelLater() {
        Deadline.cancelLater(call);
    }

    /**
     * Turns the I/O failure of this call into its typed exception when the client caused it: a passed time
     * limit or rate ({@link LimitExceededException}), or a refused redirect
     * ({@link RedirectRefusedException}).
     *
     * @param e the failure
     * @return the typed exception, or {@code null} when the failure was the network's or the server's own
     */
    public LlmException failure(IOException e) {
        Limit limit = deadline.expired();
        if (limit != null) {
            String what = deadline.describeExpired();
            String raise = limit == Limit.MIN_RATE
                    ? "lower the setting " + limit.setting() + " (0 for none)"
                    : "raise the setting " + limit.setting() + " (0 for none)";
            String hint = limit == Limit.CONNECT
                    ? " Check the address and whether it speaks https or http; on a slow network " + raise + "."
                    : " A slow CPU model may need more: " + raise + ".";
            return new LimitExceededException(limit, deadline.expiredValue(), transport.server()
                    + (limit == Limit.CONNECT ? " could not be connected within the " : " exceeded the ") + what
                    + " during " + op + "; the call was closed." + hint, e);
        }
        if (e instanceof SameOriginRedirects.Refused r) {
            return new RedirectRefusedException(r.location, transport.server() + " answered " + op + " with "
                    + r.getMessage() + "; it was not followed and nothing was sent there. Point the client at the"
                    + " final address instead.");
        }
        return null;
    }

    /** @return how long the call has run */
    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    private final long startNanos = System.nanoTime();

    @Override
    public void close() {
        deadline.stop();
        if (!complete) {
            call.cancel();
        }
        if (response != null) {
            response.close();
        }
    }

    private String decode(ByteString bytes, String what) {
        try {
            return BoundedReads.utf8(bytes);
        } catch (CharacterCodingException e) {
            throw new MalformedResponseException(transport.server() + " sent " + what + " that is not valid UTF-8 during "
                    + op + " (" + e.getMessage() + "); the call was closed. The server or a proxy in between "
                    + "corrupts the text.", e);
        }
    }
}
