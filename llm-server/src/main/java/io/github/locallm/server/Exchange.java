package io.github.locallm.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * One HTTP exchange as the APIs see it: a bounded JSON body in, a JSON answer or a stream out. Used by one
 * request thread.
 */
final class Exchange {
    static final String JSON = "application/json; charset=utf-8";

    final Request request;
    final Response response;
    final Callback callback;
    final String method;
    final String path;
    private final ObjectMapper mapper;
    private final int maxBodyBytes;
    private OutputStream stream;
    private boolean answered;
    private boolean checkClient = true;

    Exchange(Request request, Response response, Callback callback, ObjectMapper mapper, int maxBodyBytes) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.method = request.getMethod();
        this.path = Request.getPathInContext(request);
        this.mapper = mapper;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** @return a JSON mapper with read bounds: nesting depth, string length and number length */
    static ObjectMapper newMapper(int maxBodyBytes) {
        JsonMapper m = JsonMapper.builder().build();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64)
                .maxStringLength(Math.max(1024, maxBodyBytes))
                .maxNumberLength(64)
                .build());
        return m;
    }

    ObjectMapper mapper() {
        return mapper;
    }

    /**
     * Reads the request body as one JSON object, refusing more than the body bound.
     *
     * @return the object
     */
    JsonNode body() {
        String enc = request.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        if (enc != null && !enc.isBlank() && !enc.equalsIgnoreCase("identity")) {
            throw new HttpError(415, "invalid_request_error", "unsupported_encoding", null,
                    "Content-Encoding '" + enc + "' is not accepted; send the JSON body uncompressed", 0);
        }
        long declared = request.getLength();
        if (declared > maxBodyBytes) {
            throw HttpError.tooLarge("request body of " + declared + " bytes is over the server's limit of "
                    + maxBodyBytes + " bytes");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream((int) Math.max(64, Math.min(declared, 65536)));
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] chunk = new byte[8192];
            int n;
            while ((n = in.read(chunk)) >= 0) {
                if (buf.size() + (long) n > maxBodyBytes) {
                    throw HttpError.tooLarge("request body is over the server's limit of " + maxBodyBytes + " bytes");
                }
                buf.write(chunk, 0, n);
            }
        } catch (IOException e) {
            throw new HttpError(400, "invalid_request_error", null, null, "could not read the request body: " + e, 0);
        }
        if (buf.size() == 0) {
            throw HttpError.badRequest("the request body is empty; send a JSON object");
        }
        JsonNode node;
        try {
            node = mapper.readTree(buf.toByteArray());
        } catch (JsonProcessingException e) {
            throw HttpError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node == null || !node.isObject()) {
            throw HttpError.badRequest("the request body must be a JSON object");
        }
        return node;
    }

    /** Sends a whole JSON answer. */
    void send(int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = mapper.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        send(status, JSON, bytes);
    }

    void send(int status, String contentType, byte[] bytes) {
        answered = true;
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    void sendText(int status, String text) {
        send(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Starts a streamed answer (chunked).
     *
     * @param contentType the stream's type
     * @return where the stream goes; each {@code flush} sends what was written
     */
    OutputStream startStream(String contentType) {
        answered = true;
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        stream = Content.Sink.asOutputStream(response);
        return stream;
    }

    /**
     * Whether the client closed its connection, for a request whose answer is not written yet (the HTTP
     * server reads nothing more from the connection while a request is handled, so it would notice only when
     * the answer is written). Reads at most one byte, without waiting: end of input means the client went
     * away. A byte means the client already sent its next request; that byte is taken, so the connection is
     * closed after this answer, which tells the client to send that request again (HTTP/1.1 pipelining).
     *
     * @return true when the client is gone
     */
    boolean clientGone() {
        if (!checkClient) {
            return false;
        }
        try {
            ByteBuffer one = BufferUtil.allocate(1);
            int n = request.getConnectionMetaData().getConnection().getEndPoint().fill(one);
            if (n > 0) {
                checkClient = false;
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
            }
            return n < 0;
        } catch (IOException e) {
            return true;
        } catch (RuntimeException e) {
            // a connection that cannot be read this way is not checked
            checkClient = false;
            return false;
        }
    }

    boolean answered() {
        return answered;
    }

    /** Ends a streamed answer; the callback completes with it. */
    void endStream() throws IOException {
        stream.close();
        callback.succeeded();
    }

    byte[] json(JsonNode node) {
        try {
            return mapper.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
