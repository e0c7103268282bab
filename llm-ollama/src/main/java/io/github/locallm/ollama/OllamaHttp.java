package io.github.locallm.ollama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.LlmException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.http.HttpExchange;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.http.HttpTransport;
import io.github.locallm.http.Json;
import io.github.locallm.http.Limit;
import io.github.locallm.http.LimitExceededException;
import io.github.locallm.http.MalformedResponseException;
import io.github.locallm.spi.CancelSignal;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLException;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Talks to one Ollama server: sends JSON requests, reads JSON and NDJSON answers within the limits of its
 * {@link HttpTransport}, and turns every failure into a typed {@link LlmException} whose message names the
 * server.
 *
 * <p>Thread-safe; calls share the connection pool of the underlying {@link OkHttpClient}.
 */
final class OllamaHttp {
    static final ObjectMapper JSON = Json.MAPPER;
    static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");
    private static final int MAX_ERROR_BODY = 8192;

    private final HttpUrl base;
    private final Headers headers;
    private final HttpTransport transport;

    OllamaHttp(HttpUrl base, Headers headers, OkHttpClient client, HttpLimits limits) {
        this.base = Objects.requireNonNull(base, "base");
        this.headers = Objects.requireNonNull(headers, "headers");
        this.transport = HttpTransport.create(client, limits, "the Ollama server at " + ServerAddress.display(base));
    }

    private OllamaHttp(OllamaHttp from, HttpLimits limits) {
        this.base = from.base;
        this.headers = from.headers;
        this.transport = from.transport.withLimits(limits);
    }

    /** @return this server with the limits for model transfers (no whole-request limit by default) */
    OllamaHttp forTransfers() {
        HttpLimits t = transport.limits().forTransfers();
        return t.equals(transport.limits()) ? this : new OllamaHttp(this, t);
    }

    HttpUrl base() {
        return base;
    }

    HttpLimits limits() {
        return transport.limits();
    }

    HttpTransport transport() {
        return transport;
    }

    String server() {
        return ServerAddress.display(base);
    }

    /** What a line handler wants after a line. */
    enum Next {
        /** Read on. */
        MORE,
        /** That was the last line ({@code done}, or {@code success} for a pull). */
        DONE,
        /** Read no more: the call is closed, so the server stops (a client-side limit was reached). */
        ENOUGH
    }

    /** Receives the lines of a streamed answer. */
    interface LineHandler {
        /**
         * @param line one parsed JSON object, without an {@code error} field
         * @return whether to read on
         */
        Next onLine(JsonNode line);
    }

    /** What a call is, in plain words for messages: {@code "a chat with model llama3.2"}, {@code "downloading with model m"}. */
    record Op(String what, String model) {
        @Override
        public String toString() {
            return model == null ? what : what + " with model " + model;
        }
    }

    /**
     * Sends a request and reads a single JSON answer within the first-byte limit.
     *
     * @param method GET, POST or DELETE
     * @param path such as {@code api/show}
     * @param body the JSON body, or {@code null}
     * @param op what the call is, for messages
     * @return the answer, or an empty object node for an empty body
     */
    JsonNode call(String method, String path, JsonNode body, Op op) {
        try (HttpExchange x = transport.open(request(method, path, json(body, method)), op.toString(), true, true)) {
            try {
                Response response = execute(x, op);
                String text = x.readBody();
                if (text.isBlank()) {
                    return JSON.createObjectNode();
                }
                JsonNode node = parseLine(text, op);
                if (node.has("error")) {
                    throw classify(response.code(), node.path("error").asText(), op);
                }
                return node;
            } catch (IOException e) {
                throw ioFailure(e, x, op, null);
            }
        }
    }

    /**
     * Sends a request whose answer is only a status ({@code HEAD} and uploads).
     *
     * @param request the request
     * @param op what the call is, for messages
     * @param firstByte whether the first-byte limit applies
     * @return the status code of a successful answer or of a 404
     */
    int status(Request.Builder request, Op op, boolean firstByte) {
        try (HttpExchange x = transport.open(request, op.toString(), firstByte, firstByte)) {
            try {
                Response response = x.execute();
                if (response.isSuccessful() || response.code() == 404) {
                    x.readBody();
                    return response.code();
                }
                throw errorOf(x, response, op);
            } catch (IOException e) {
                throw ioFailure(e, x, op, null);
            }
        }
    }

    /**
     * Sends an upload and reads its (small) answer. Neither the first-byte nor the whole-request limit applies
     * while the body is sent; the body's writer reports progress to the deadline, so the idle limit and the
     * minimum rate end a stalled upload.
     *
     * @param request the request with its body
     * @param op what the call is, for messages
     * @param onStart receives the call's deadline before the body is written
     */
    void upload(Request.Builder request, Op op, java.util.function.Consumer<io.github.locallm.http.Deadline> onStart) {
        try (HttpExchange x = transport.open(request, op.toString(), false, true)) {
            onStart.accept(x.deadline());
            try {
                Response response = execute(x, op);
                x.readBody();
                if (response.code() / 100 != 2) {
                    throw classify(response.code(), "HTTP " + response.code(), op);
                }
            } catch (IOException e) {
                throw ioFailure(e, x, op, null);
            }
        }
    }

    /**
     * Sends a request and reads its NDJSON answer line by line until the handler sees the last line.
     *
     * @param path such as {@code api/chat}
     * @param body the JSON body
     * @param op what the call is, for messages
     * @param handler receives each line
     * @param cancel cancels the call, or {@code null}
     * @param streamed false when the request asked for one answer object ({@code "stream": false}): then
     *                 the first-token and idle limits do not apply to the wait
     * @return false when the call was cancelled before the last line, true when the handler saw the last line
     *         or wanted no more
     */
    boolean stream(String path, JsonNode body, Op op, LineHandler handler, CancelSignal cancel, boolean streamed) {
        try (HttpExchange x = transport.open(request("POST", path, json(body, "POST")), op.toString(), streamed)) {
            if (cancel != null) {
                cancel.onCancel(x::cancelLater);
                if (cancel.isCancelled()) {
                    return false;
                }
            }
            int lines = 0;
            try {
                Response response = execute(x, op);
                while (true) {
                    String line = x.readLine();
                    if (line == null) {
                        if (cancel != null && cancel.isCancelled()) {
                            return false;
                        }
                        throw new LlmException("The Ollama server at " + server() + " ended its answer to " + op
                                + " before the final \"done\" line, after " + lines + " line(s); the answer is "
                                + "incomplete. Check the server log; a proxy in between may cut long responses.");
                    }
                    if (line.isBlank()) {
                        continue;
                    }
                    lines++;
                    JsonNode node = parseLine(line, op);
                    if (node.has("error")) {
                        throw classify(response.code(), node.path("error").asText(), op);
                    }
                    Next next = handler.onLine(node);
                    if (next == Next.DONE) {
                        x.complete();
                        return true;
                    }
                    if (next == Next.ENOUGH) {
                        return true;
                    }
                    if (cancel != null && cancel.isCancelled()) {
                        return false;
                    }
                }
            } catch (IOException e) {
                if (cancel != null && cancel.isCancelled() && x.deadline().expired() == null) {
                    return false;
                }
                throw ioFailure(e, x, op, lines);
            }
        }
    }

    Request.Builder request(String method, String path, RequestBody body) {
        return new Request.Builder().url(base.resolve(path)).headers(headers)
                .method(method, method.equals("GET") || method.equals("HEAD") ? null : body);
    }

    private static RequestBody json(JsonNode body, String method) {
        if (body == null) {
            return method.equals("GET") || method.equals("HEAD") ? null : RequestBody.create(new byte[0], JSON_TYPE);
        }
        try {
            return RequestBody.create(JSON.writeValueAsBytes(body), JSON_TYPE);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON request", e);
        }
    }

    private Response execute(HttpExchange x, Op op) throws IOException {
        Response response = x.execute();
        if (response.isSuccessful()) {
            return response;
        }
        throw errorOf(x, response, op);
    }

    private LlmException errorOf(HttpExchange x, Response response, Op op) throws IOException {
        int code = response.code();
        String text = x.readErrorText(MAX_ERROR_BODY);
        String message = null;
        try {
            JsonNode node = JSON.readTree(text);
            if (node != null && node.hasNonNull("error")) {
                message = node.get("error").asText();
            }
        } catch (JsonProcessingException e) {
            // not JSON: a proxy or another server answered
        }
        if (message == null) {
            if (code == 404) {
                return new BackendUnavailableException("The server at " + server() + " answered 404 to " + op
                        + " (" + x.call().request().url().encodedPath() + ") without an Ollama error; is it an "
                        + "Ollama server, and is the path prefix right? Body: " + snippet(text));
            }
            return classify(code, "HTTP " + code + (text.isBlank() ? "" : ": " + snippet(text)), op);
        }
        return classify(code, message, op);
    }

    /**
     * Turns an error the server reported into the matching exception.
     *
     * @param status the HTTP status (200 for an error line inside a stream)
     * @param message the server's message
     * @param op what the call was
     * @return the exception to throw
     */
    LlmException classify(int status, String message, Op op) {
        String lower = message.toLowerCase(Locale.ROOT);
        String said = "the Ollama server at " + server() + " said: " + message;
        if (status == 404 || (lower.contains("not found") && lower.contains("model"))
                || lower.contains("file does not exist")) {
            if (op.model() != null) {
                return new ModelNotFoundException("Model '" + op.model() + "' is not available for " + op.what()
                        + " (" + said + "). Pull it with `ollama pull " + op.model()
                        + "`, call OllamaClient.ensureModel, or open it with the setting pull=true.");
            }
            return new ModelNotFoundException("Not found: " + said);
        }
        if (lower.contains("does not support insert")) {
            return new UnsupportedCapabilityException("Not supported: " + op + " (" + said + "). Fill-in-the-middle"
                    + " (a suffix) needs a model with the insert capability (see OllamaClient.show).",
                    io.github.locallm.Capability.FILL_IN_MIDDLE);
        }
        if (lower.contains("does not support") || lower.contains("not supported")) {
            return new UnsupportedCapabilityException("Not supported: " + op + " (" + said + ")"
                    + ". Use a model that has this capability (see OllamaClient.show).");
        }
        if (lower.contains("context length") || lower.contains("context window")
                || lower.contains("exceeds the maximum")) {
            return new ContextOverflowException("The input does not fit for " + op + ": " + said
                    + ". Shorten the input or open the model with a larger ctx setting.");
        }
        if (status == 401 || status == 403) {
            return new LlmException("The Ollama server at " + server() + " refused " + op + " (HTTP " + status
                    + "): " + message + ". Check the bearer_token or header.* settings.");
        }
        return new LlmException("Ollama failed during " + op + (status == 200 ? " (error inside the stream)" : " (HTTP " + status + ")")
                + ": " + said);
    }

    private LlmException ioFailure(IOException e, HttpExchange x, Op op, Integer lines) {
        LlmException typed = x.failure(e);
        if (typed instanceof LimitExceededException l && l.limit() == Limit.CONNECT) {
            return new LimitExceededException(l.limit(), l.value(), "Cannot connect to the Ollama server at " + server()
                    + " for " + op + " within the " + x.deadline().describeExpired() + ". Check the address, and "
                    + "whether it speaks https or http (setting tls); raise connect_timeout for a slow network.", e);
        }
        if (typed != null) {
            return typed;
        }
        if (e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException
                || (e instanceof SocketTimeoutException && lines == null && !x.deadline().sawLine()
                    && String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("connect"))) {
            return new BackendUnavailableException("Cannot reach the Ollama server at " + server() + " for " + op
                    + " (" + e + "). Start it with `ollama serve`, or point OLLAMA_HOST or the spec "
                    + "(ollama://host:port/MODEL) at a running server.", e);
        }
        if (e instanceof SSLException) {
            return new BackendUnavailableException("TLS failed with the Ollama server at " + server() + " for " + op
                    + " (" + e.getMessage() + "). Check that the server speaks https, or use http.", e);
        }
        String when = lines == null ? "" : " after " + lines + " line(s)";
        String cut = e instanceof EOFException || String.valueOf(e.getMessage()).contains("unexpected end of stream")
                ? "closed the connection" : "failed (" + e + ")";
        return new BackendUnavailableException("The connection to the Ollama server at " + server() + " " + cut
                + " during " + op + when + ", before the answer was complete. Check that the server is "
                + "still running and its log.", e);
    }

    private JsonNode parseLine(String line, Op op) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new MalformedResponseException("The server at " + server() + " sent a line that is not JSON during "
                    + op + ": " + snippet(line) + ". Is " + server() + " an Ollama server (not a proxy page)?", e);
        }
        if (node == null || !node.isObject()) {
            throw new MalformedResponseException("The server at " + server() + " sent a line that is not a JSON "
                    + "object during " + op + ": " + snippet(line) + ". Is " + server() + " an Ollama server?", null);
        }
        return node;
    }

    static String snippet(String text) {
        String t = text.strip().replaceAll("\\s+", " ");
        return "'" + (t.length() > 200 ? t.substring(0, 200) + "..." : t) + "'";
    }
}
