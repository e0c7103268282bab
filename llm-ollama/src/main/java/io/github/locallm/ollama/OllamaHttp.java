package io.github.locallm.ollama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.LlmException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.CancelSignal;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLException;
import okhttp3.Call;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;

/**
 * Talks to one Ollama server: sends JSON requests, reads JSON and NDJSON answers, enforces the time
 * limits and turns every failure into a typed {@link LlmException} whose message names the server.
 *
 * <p>Thread-safe; calls share the connection pool of the underlying {@link OkHttpClient}.
 */
final class OllamaHttp {
    static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);
    private static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");
    private static final int MAX_ERROR_BODY = 8192;

    private final HttpUrl base;
    private final Headers headers;
    private final Limits limits;
    private final OkHttpClient client;

    OllamaHttp(HttpUrl base, Headers headers, OkHttpClient shared, Limits limits) {
        this.base = Objects.requireNonNull(base, "base");
        this.headers = Objects.requireNonNull(headers, "headers");
        this.limits = Objects.requireNonNull(limits, "limits");
        // Derived clients share the pool, dispatcher, interceptors and TLS setup of the shared one;
        // read, write and call limits are enforced per call by Deadline instead, since OkHttp's read
        // timeout cannot tell a model that is loading from one that stalled.
        this.client = shared.newBuilder()
                .connectTimeout(limits.connect())
                .readTimeout(Duration.ZERO)
                .writeTimeout(Duration.ZERO)
                .callTimeout(Duration.ZERO)
                .addNetworkInterceptor(chain -> {
                    Deadline.Tag tag = chain.request().tag(Deadline.Tag.class);
                    if (tag != null) {
                        tag.connected();
                    }
                    return chain.proceed(chain.request());
                })
                .build();
    }

    HttpUrl base() {
        return base;
    }

    Limits limits() {
        return limits;
    }

    String server() {
        return ServerAddress.display(base);
    }

    /** Receives the lines of a streamed answer. */
    interface LineHandler {
        /**
         * @param line one parsed JSON object, without an {@code error} field
         * @return true when this was the last line ({@code done}, or {@code success} for a pull)
         */
        boolean onLine(JsonNode line);
    }

    /** What a call is, for messages: {@code "chat with model llama3.2"}. */
    record Op(String what, String model) {
        @Override
        public String toString() {
            return model == null ? what : what + " with model " + model;
        }
    }

    /**
     * Sends a request and reads a single JSON answer within the first-token limit.
     *
     * @param method GET, POST or DELETE
     * @param path such as {@code api/show}
     * @param body the JSON body, or {@code null}
     * @param op what the call is, for messages
     * @return the answer, or an empty object node for an empty body
     */
    JsonNode call(String method, String path, JsonNode body, Op op) {
        Call call = client.newCall(request(method, path, body));
        Deadline deadline = Deadline.start(call, limits.connect(), limits.firstToken(), Duration.ZERO, limits.request());
        try (Response response = execute(call, op)) {
            String text = readLimited(response.body(), Integer.MAX_VALUE);
            deadline.stop();
            if (text.isBlank()) {
                return JSON.createObjectNode();
            }
            JsonNode node = parseLine(text, op);
            if (node.has("error")) {
                throw classify(response.code(), node.path("error").asText(), op);
            }
            return node;
        } catch (IOException e) {
            throw ioFailure(e, deadline, op, null);
        } finally {
            deadline.stop();
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
     *                 only the whole-request limit applies to the wait
     * @return false when the call was cancelled before the last line, true when the last line arrived
     */
    boolean stream(String path, JsonNode body, Op op, LineHandler handler, CancelSignal cancel, boolean streamed) {
        Call call = client.newCall(request("POST", path, body));
        Deadline deadline = streamed
                ? Deadline.start(call, limits.connect(), limits.firstToken(), limits.idle(), limits.request())
                : Deadline.start(call, limits.connect(), Duration.ZERO, Duration.ZERO, limits.request());
        if (cancel != null) {
            cancel.onCancel(() -> Deadline.cancelLater(call));
            if (cancel.isCancelled()) {
                deadline.stop();
                return false;
            }
        }
        int lines = 0;
        boolean finished = false;
        try (Response response = execute(call, op)) {
            BufferedSource source = response.body().source();
            while (true) {
                String line = source.readUtf8Line();
                if (line == null) {
                    if (cancel != null && cancel.isCancelled()) {
                        return false;
                    }
                    throw new LlmException("The Ollama server at " + server() + " ended its answer to " + op
                            + " before the final \"done\" line, after " + lines + " line(s); the answer is "
                            + "incomplete. Check the server log; a proxy in between may cut long responses.");
                }
                deadline.activity();
                if (line.isBlank()) {
                    continue;
                }
                lines++;
                JsonNode node = parseLine(line, op);
                if (node.has("error")) {
                    throw classify(response.code(), node.path("error").asText(), op);
                }
                if (handler.onLine(node)) {
                    finished = true;
                    return true;
                }
                if (cancel != null && cancel.isCancelled()) {
                    return false;
                }
            }
        } catch (IOException e) {
            if (cancel != null && cancel.isCancelled() && deadline.expired() == null) {
                return false;
            }
            throw ioFailure(e, deadline, op, lines);
        } finally {
            deadline.stop();
            if (!finished) {
                // closes the connection, so the server stops generating
                call.cancel();
            }
        }
    }

    private Request request(String method, String path, JsonNode body) {
        Request.Builder b = new Request.Builder().url(base.resolve(path)).headers(headers)
                .tag(Deadline.Tag.class, new Deadline.Tag());
        RequestBody rb = null;
        if (body != null) {
            try {
                rb = RequestBody.create(JSON.writeValueAsBytes(body), JSON_TYPE);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write a JSON request", e);
            }
        }
        if (rb == null && !method.equals("GET")) {
            rb = RequestBody.create(new byte[0], JSON_TYPE);
        }
        return b.method(method, method.equals("GET") ? null : rb).build();
    }

    private Response execute(Call call, Op op) throws IOException {
        Response response = call.execute();
        if (response.isSuccessful()) {
            return response;
        }
        try (response) {
            int code = response.code();
            String text = readLimited(response.body(), MAX_ERROR_BODY);
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
                    throw new BackendUnavailableException("The server at " + server() + " answered 404 to " + op
                            + " (" + call.request().url().encodedPath() + ") without an Ollama error; is it an "
                            + "Ollama server, and is the path prefix right? Body: " + snippet(text));
                }
                throw classify(code, "HTTP " + code + (text.isBlank() ? "" : ": " + snippet(text)), op);
            }
            throw classify(code, message, op);
        }
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
        if (lower.contains("does not support") || lower.contains("not supported")) {
            return new UnsupportedCapabilityException("Cannot " + op + ": " + said
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

    private LlmException ioFailure(IOException e, Deadline deadline, Op op, Integer lines) {
        String expired = deadline.expired();
        if (expired != null && expired.startsWith("connect")) {
            return new BackendUnavailableException("Cannot connect to the Ollama server at " + server() + " for " + op
                    + " within the " + expired + ". Check the address, and whether it speaks https or http "
                    + "(setting tls); raise connect_timeout for a slow network.", e);
        }
        if (expired != null) {
            return new BackendUnavailableException("The Ollama server at " + server() + " exceeded the " + expired
                    + " during " + op + "; the call was closed. A slow CPU model may need a larger limit "
                    + "(settings first_token_timeout, idle_timeout, request_timeout).", e);
        }
        if (e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException
                || (e instanceof SocketTimeoutException && lines == null && !deadline.sawLine()
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
            throw new LlmException("The server at " + server() + " sent a line that is not JSON during " + op + ": "
                    + snippet(line) + ". Is " + server() + " an Ollama server (not a proxy page)?", e);
        }
        if (node == null || !node.isObject()) {
            throw new LlmException("The server at " + server() + " sent a line that is not a JSON object during "
                    + op + ": " + snippet(line) + ". Is " + server() + " an Ollama server?");
        }
        return node;
    }

    private static String readLimited(ResponseBody body, int max) throws IOException {
        if (body == null) {
            return "";
        }
        BufferedSource source = body.source();
        if (max == Integer.MAX_VALUE) {
            return source.readString(StandardCharsets.UTF_8);
        }
        source.request(max);
        long n = Math.min(max, source.getBuffer().size());
        return source.readString(n, StandardCharsets.UTF_8);
    }

    static String snippet(String text) {
        String t = text.strip().replaceAll("\\s+", " ");
        return "'" + (t.length() > 200 ? t.substring(0, 200) + "..." : t) + "'";
    }
}
