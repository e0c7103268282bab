package io.github.locallm.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.GenerationCancelledException;
import io.github.locallm.LlmException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.http.HttpExchange;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.http.HttpTransport;
import io.github.locallm.http.Limit;
import io.github.locallm.http.RedirectRefusedException;
import io.github.locallm.spi.CancelSignal;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Talks to the servers of one model: picks a server, sends JSON, reads JSON answers and server-sent
 * event streams within the size and time limits, retries a call refused as busy (429, 503) or whose
 * connection failed while no answer has arrived yet, and turns every failure into a typed
 * {@link LlmException} that names the server and what to do.
 *
 * <p>Thread-safe; calls share the connection pool of the underlying {@link OkHttpClient}. At most
 * {@code max_concurrency} calls run at once; more wait for a slot.
 */
final class OpenAiHttp implements AutoCloseable {
    private static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");
    private static final int MAX_ERROR_BODY = 8192;

    private final Settings settings;
    private final Endpoints endpoints;
    private final Map<Endpoints.Endpoint, HttpTransport> transports = new IdentityHashMap<>();
    private final Semaphore slots;

    OpenAiHttp(Settings settings, OkHttpClient base) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.endpoints = new Endpoints(settings.baseUrls());
        for (Endpoints.Endpoint ep : endpoints.all()) {
            transports.put(ep, HttpTransport.create(base, settings.limits(), "the server at " + ep));
        }
        this.slots = new Semaphore(settings.maxConcurrency(), true);
    }

    Endpoints endpoints() {
        return endpoints;
    }

    Settings settings() {
        return settings;
    }

    /** @return the servers, for messages */
    String servers() {
        return endpoints.all().size() == 1 ? endpoints.all().get(0).toString() : endpoints.all().toString();
    }

    /** What a call is, for messages: {@code "chat with model qwen2.5"}. */
    record Op(String what, String model) {
        @Override
        public String toString() {
            return model == null ? what : what + " with model " + model;
        }
    }

    /** Receives an answer: the chunks of a stream, or one whole JSON answer. */
    interface Answer {
        /**
         * @param chunk one parsed {@code data} event, without an {@code error} field
         * @return true to stop reading: the answer is complete for this client (a limit or stop sequence)
         */
        boolean onChunk(JsonNode chunk);

        /** @param body a whole JSON answer (a server that answered a stream request without streaming) */
        void onWhole(JsonNode body);

        /** @return whether a chunk carried a {@code finish_reason}: the stream may end without {@code [DONE]} */
        boolean finished();
    }

    /** How a stream ended. */
    enum Outcome {
        /** The server ended it ({@code [DONE]} or the end of the body after a finish reason). */
        DONE,
        /** The answer asked to stop reading; the connection was closed. */
        STOPPED,
        /** The caller cancelled; the connection was closed. */
        CANCELLED
    }

    // ---------------------------------------------------------------- whole JSON calls

    /**
     * Sends a request to the least busy server and reads one JSON answer; retries when busy.
     *
     * @param method GET or POST
     * @param path relative to the API root ({@code embeddings}), or to the server root when it starts with
     *             {@code /} ({@code /tokenize})
     * @param body the JSON body, or {@code null}
     * @param op what the call is, for messages
     * @return the answer
     */
    JsonNode call(String method, String path, JsonNode body, Op op) {
        acquire(op, null);
        try {
            Set<Endpoints.Endpoint> tried = new HashSet<>();
            for (int attempt = 0; ; attempt++) {
                Endpoints.Endpoint ep = endpoints.pick(tried);
                tried.add(ep);
                ep.enter();
                try (HttpExchange x = transports.get(ep).open(request(ep, method, path, body, false), op.toString(),
                        false)) {
                    try {
                        Response response = x.execute();
                        if (!response.isSuccessful()) {
                            Duration wait = retryWait(response, attempt, ep);
                            if (wait != null) {
                                // the answer is not read; the exchange closes when the loop moves on
                                response.close();
                                pause(wait, null);
                                continue;
                            }
                            throw failure(x, response, ep, op);
                        }
                        JsonNode answer = parseObject(x.readBody(), ep, op);
                        endpoints.markUp(ep);
                        return answer;
                    } catch (IOException e) {
                        if (retryConnect(e, x, attempt, ep)) {
                            continue;
                        }
                        throw ioFailure(e, x, ep, op, false);
                    }
                } finally {
                    ep.leave();
                }
            }
        } finally {
            slots.release();
        }
    }

    /**
     * Asks one server something during detection or a health check: no retries, no slot, a short limit.
     *
     * @param ep the server
     * @param method GET or POST
     * @param path as for {@link #call}
     * @param body the JSON body, or {@code null}
     * @param limit the first-byte and whole-request limit
     * @return the status and the JSON answer
     */
    Probe probe(Endpoints.Endpoint ep, String method, String path, JsonNode body, Duration limit) {
        HttpLimits l = settings.limits().toBuilder().firstByte(limit).request(limit).build();
        Op op = new Op("probe of " + path, null);
        try (HttpExchange x = transports.get(ep).withLimits(l).open(request(ep, method, path, body, false),
                op.toString(), true, false)) {
            try {
                Response response = x.execute();
                if (!response.isSuccessful()) {
                    x.readErrorText(MAX_ERROR_BODY);
                    return new Probe(response.code(), null, null);
                }
                String text = x.readBody();
                JsonNode node = null;
                try {
                    node = text.isBlank() ? null : WireFormat.JSON.readTree(text);
                } catch (JsonProcessingException e) {
                    // not JSON: not the endpoint looked for
                }
                return new Probe(response.code(), node, null);
            } catch (IOException e) {
                return new Probe(0, null, ioFailure(e, x, ep, op, false));
            } catch (LlmException e) {
                return new Probe(0, null, e);
            }
        }
    }

    /**
     * The answer of a probe.
     *
     * @param status HTTP status, 0 when the server could not be asked
     * @param json the answer when it is JSON
     * @param failure why the server could not be asked, or null
     */
    record Probe(int status, JsonNode json, LlmException failure) {
        boolean ok() {
            return status >= 200 && status < 300 && json != null;
        }
    }

    // ---------------------------------------------------------------- streams

    /**
     * Sends a generation request and reads its answer: server-sent events, or one JSON object when the
     * server does not stream. Retries (busy or connection failed) happen only before any answer arrived.
     *
     * @param path relative to the API root, such as {@code chat/completions}
     * @param body the JSON body
     * @param streamed whether the body asked for a stream (then the idle limit applies between events)
     * @param op what the call is, for messages
     * @param answer receives the answer
     * @param cancel tells whether the caller cancelled
     * @return how the answer ended
     */
    Outcome stream(String path, JsonNode body, boolean streamed, Op op, Answer answer, CancelSignal cancel) {
        AtomicReference<HttpExchange> current = new AtomicReference<>();
        CountDownLatch cancelled = new CountDownLatch(1);
        cancel.onCancel(() -> {
            cancelled.countDown();
            HttpExchange x = current.get();
            if (x != null) {
                x.cancelLater();
            }
        });
        if (!acquire(op, cancel)) {
            return Outcome.CANCELLED;
        }
        try {
            Set<Endpoints.Endpoint> tried = new HashSet<>();
            for (int attempt = 0; ; attempt++) {
                if (cancel.isCancelled()) {
                    return Outcome.CANCELLED;
                }
                Endpoints.Endpoint ep = endpoints.pick(tried);
                tried.add(ep);
                int events = 0;
                ep.enter();
                // a whole answer (stream=false) is computed before its first byte: only the request limit applies
                try (HttpExchange x = transports.get(ep).open(request(ep, "POST", path, body, streamed),
                        op.toString(), streamed)) {
                    current.set(x);
                    if (cancel.isCancelled()) {
                        return Outcome.CANCELLED;
                    }
                    try {
                        Response response = x.execute();
                        if (!response.isSuccessful()) {
                            Duration wait = retryWait(response, attempt, ep);
                            if (wait != null) {
                                // the answer is not read; the exchange closes when the loop moves on
                                response.close();
                                if (!pause(wait, cancelled)) {
                                    return Outcome.CANCELLED;
                                }
                                continue;
                            }
                            throw failure(x, response, ep, op);
                        }
                        endpoints.markUp(ep);
                        MediaType type = response.body() == null ? null : response.body().contentType();
                        if (!streamed || type == null || !type.subtype().equalsIgnoreCase("event-stream")) {
                            JsonNode node = parseObject(x.readBody(), ep, op);
                            checkError(node, ep, op);
                            answer.onWhole(node);
                            return Outcome.DONE;
                        }
                        SseEvents sse = new SseEvents(settings.limits().maxLineBytes());
                        while (true) {
                            // comment lines (keep-alives) do not count as activity: only events do
                            String line = x.readLine(false);
                            SseEvents.Event event = line == null ? sse.end() : sse.line(line);
                            if (event != null) {
                                x.deadline().activity();
                                events++;
                                if (event.type().equals("error")) {
                                    throw streamError(event.data(), ep, op);
                                }
                                if (event.isDone()) {
                                    x.complete();
                                    return Outcome.DONE;
                                }
                                JsonNode node = parseObject(event.data(), ep, op);
                                checkError(node, ep, op);
                                if (answer.onChunk(node)) {
                                    return Outcome.STOPPED;
                                }
                                if (cancel.isCancelled()) {
                                    return Outcome.CANCELLED;
                                }
                            }
                            if (line == null) {
                                if (cancel.isCancelled()) {
                                    return Outcome.CANCELLED;
                                }
                                if (answer.finished()) {
                                    x.complete();
                                    return Outcome.DONE;
                                }
                                throw new BackendUnavailableException("The server at " + ep + " ended its answer to "
                                        + op + " after " + events + " event(s), without a finish reason or [DONE]; the "
                                        + "answer is incomplete. Check the server log; a proxy in between may cut "
                                        + "long answers.");
                            }
                        }
                    } catch (IOException e) {
                        if (cancel.isCancelled() && x.deadline().expired() == null) {
                            return Outcome.CANCELLED;
                        }
                        if (events == 0 && retryConnect(e, x, attempt, ep)) {
                            continue;
                        }
                        throw ioFailure(e, x, ep, op, events > 0);
                    } catch (SseEvents.TooLarge e) {
                        throw new LlmException("The server at " + ep + " sent an event larger than " + e.limit
                                + " characters during " + op + "; the answer was stopped (setting max_line_bytes).");
                    }
                } finally {
                    current.set(null);
                    ep.leave();
                }
            }
        } finally {
            slots.release();
        }
    }

    // ---------------------------------------------------------------- pieces

    private boolean acquire(Op op, CancelSignal cancel) {
        Duration wait = settings.limits().firstByte();
        long deadline = wait.isZero() ? Long.MAX_VALUE : System.nanoTime() + wait.toNanos();
        try {
            while (true) {
                if (slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                    return true;
                }
                if (cancel != null && cancel.isCancelled()) {
                    return false;
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new BackendUnavailableException("All " + settings.maxConcurrency() + " call slots of "
                            + op + " at " + servers() + " stayed busy for the first-token limit of "
                            + HttpLimits.describe(wait) + "; raise max_concurrency, add servers, or send fewer calls.");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException("Interrupted while waiting for a free slot for " + op, e);
        }
    }

    /** @return the wait before retrying a refused call, or null when it must not be retried */
    private Duration retryWait(Response response, int attempt, Endpoints.Endpoint ep) {
        int code = response.code();
        if (code != 429 && code != 503) {
            return null;
        }
        if (attempt >= settings.maxRetries()) {
            return null;
        }
        Duration asked = retryAfter(response.header("Retry-After"));
        Duration wait;
        if (asked != null) {
            if (asked.compareTo(settings.retryMaxWait()) > 0) {
                if (endpoints.all().size() > 1) {
                    endpoints.markDown(ep, "HTTP " + code + " with Retry-After " + asked.toSeconds() + " s");
                    return Duration.ZERO;
                }
                return null;
            }
            wait = asked;
        } else {
            long base = 250L << Math.min(attempt, 6);
            wait = Duration.ofMillis(base + ThreadLocalRandom.current().nextLong(base / 2 + 1));
        }
        if (endpoints.all().size() > 1 && code == 503) {
            // another server may answer at once
            endpoints.markDown(ep, "HTTP 503");
            return Duration.ZERO;
        }
        return wait;
    }

    /**
     * @param value a {@code Retry-After} header: seconds or an HTTP date
     * @return the wait, or null when absent or unreadable
     */
    static Duration retryAfter(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.strip();
        try {
            double seconds = Double.parseDouble(v);
            if (seconds < 0 || Double.isNaN(seconds) || seconds > 1e7) {
                return null;
            }
            return Duration.ofMillis(Math.round(seconds * 1000));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (RuntimeException ex) {
                return null;
            }
        }
    }

    /** @return false when cancelled during the pause */
    private static boolean pause(Duration wait, CountDownLatch cancelled) {
        if (wait.isZero()) {
            return true;
        }
        try {
            if (cancelled == null) {
                Thread.sleep(wait.toMillis());
                return true;
            }
            return !cancelled.await(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException("Interrupted while waiting to retry a busy server", e);
        }
    }

    /** @return true when the connection could not be made and another attempt may succeed */
    private boolean retryConnect(IOException e, HttpExchange x, int attempt, Endpoints.Endpoint ep) {
        boolean unreachable = e instanceof ConnectException || e instanceof NoRouteToHostException
                || e instanceof UnknownHostException || x.deadline().expired() == Limit.CONNECT;
        if (!unreachable) {
            return false;
        }
        endpoints.markDown(ep, e.toString());
        return attempt < settings.maxRetries() && endpoints.all().size() > 1;
    }

    private Request.Builder request(Endpoints.Endpoint ep, String method, String path, JsonNode body, boolean sse) {
        HttpUrl url = path.startsWith("/") ? ep.root().resolve(path.substring(1)) : ep.base().resolve(path);
        Request.Builder b = new Request.Builder().url(Objects.requireNonNull(url, path)).headers(settings.headers());
        b.header("Accept", sse ? "text/event-stream" : "application/json");
        RequestBody rb = null;
        if (body != null) {
            try {
                rb = RequestBody.create(WireFormat.JSON.writeValueAsBytes(body), JSON_TYPE);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write a JSON request", e);
            }
        } else if (!method.equals("GET")) {
            rb = RequestBody.create(new byte[0], JSON_TYPE);
        }
        return b.method(method, rb);
    }

    private JsonNode parseObject(String text, Endpoints.Endpoint ep, Op op) {
        JsonNode node;
        try {
            node = WireFormat.JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new LlmException("The server at " + ep + " sent something that is not JSON during " + op + ": "
                    + WireFormat.snippet(text) + ". Is the base URL (" + ep + ") an OpenAI-compatible API root, "
                    + "usually ending in /v1?", e);
        }
        if (node == null || !node.isObject()) {
            throw new LlmException("The server at " + ep + " sent JSON that is not an object during " + op + ": "
                    + WireFormat.snippet(text));
        }
        return node;
    }

    private void checkError(JsonNode node, Endpoints.Endpoint ep, Op op) {
        ErrorInfo info = ErrorInfo.of(node);
        if (info != null) {
            throw classify(200, info, ep, op);
        }
    }

    private LlmException streamError(String data, Endpoints.Endpoint ep, Op op) {
        ErrorInfo info = null;
        try {
            JsonNode node = WireFormat.JSON.readTree(data);
            info = ErrorInfo.of(node);
            if (info == null && node != null && node.has("message")) {
                info = new ErrorInfo(node.path("message").asText(), node.path("type").asText(""), node.path("code").asInt(0));
            }
        } catch (JsonProcessingException e) {
            // plain text error
        }
        return classify(200, info != null ? info : new ErrorInfo(data, "", 0), ep, op);
    }

    private LlmException failure(HttpExchange x, Response response, Endpoints.Endpoint ep, Op op) throws IOException {
        int code = response.code();
        if (code >= 300 && code < 400) {
            // a same-origin redirect was followed already; this one leaves the origin or loops
            return new RedirectRefusedException(response.header("Location", ""), "The server at " + ep
                    + " redirected " + op + " (HTTP " + code + "); the redirect was not followed, so that the API key "
                    + "and the prompt never reach another address. Use the final address as base_url.");
        }
        String text = x.readErrorText(MAX_ERROR_BODY);
        ErrorInfo info = null;
        try {
            info = ErrorInfo.of(WireFormat.JSON.readTree(text));
        } catch (JsonProcessingException e) {
            // not JSON (or cut at the cap): a proxy or another server answered
        }
        if (info == null) {
            if (code == 404) {
                return new BackendUnavailableException("The server at " + ep + " answered 404 to " + op + " ("
                        + response.request().url().encodedPath() + ") without an API error; is the base URL the "
                        + "API root of an OpenAI-compatible server (usually ending in /v1)? Body: "
                        + WireFormat.snippet(text));
            }
            info = new ErrorInfo(text.isBlank() ? "HTTP " + code : "HTTP " + code + ": " + WireFormat.snippet(text),
                    "", code);
        }
        return classify(code, info, ep, op);
    }

    /**
     * An error as the server described it.
     *
     * @param message its message
     * @param type its type ({@code invalid_request_error}, {@code BadRequestError}, ...), or empty
     * @param code its numeric code, or 0
     */
    record ErrorInfo(String message, String type, int code, int promptTokens, int contextLength) {
        ErrorInfo(String message, String type, int code) {
            this(message, type, code, -1, -1);
        }

        /**
         * Reads the error shapes in use: {@code {"error": {"message", "type", "code"}}} (OpenAI, llama-server,
         * recent vLLM), {@code {"object": "error", "message", "type", "code"}} (vLLM), {@code {"error": "text"}},
         * and {@code {"detail": ...}}.
         *
         * @return the error, or null when the object is not one
         */
        static ErrorInfo of(JsonNode node) {
            if (node == null || !node.isObject()) {
                return null;
            }
            JsonNode e = node.get("error");
            if (e != null && e.isObject()) {
                // llama-server adds the counts to its context-size error
                return new ErrorInfo(e.path("message").asText(e.toString()), e.path("type").asText(""),
                        e.path("code").canConvertToInt() ? e.path("code").asInt() : 0,
                        e.path("n_prompt_tokens").canConvertToInt() ? e.path("n_prompt_tokens").asInt() : -1,
                        e.path("n_ctx").canConvertToInt() ? e.path("n_ctx").asInt() : -1);
            }
            if (e != null && e.isTextual()) {
                return new ErrorInfo(e.asText(), "", 0);
            }
            if ("error".equals(node.path("object").asText())) {
                return new ErrorInfo(node.path("message").asText(""), node.path("type").asText(""),
                        node.path("code").canConvertToInt() ? node.path("code").asInt() : 0);
            }
            JsonNode detail = node.get("detail");
            if (detail != null && !node.has("choices")) {
                return new ErrorInfo(detail.isTextual() ? detail.asText() : detail.toString(), "", 0);
            }
            return null;
        }
    }

    /**
     * Turns an error the server reported into the matching exception.
     *
     * @param status the HTTP status (200 for an error inside a stream)
     */
    LlmException classify(int status, ErrorInfo e, Endpoints.Endpoint ep, Op op) {
        String message = e.message();
        String lower = (message + " " + e.type()).toLowerCase(Locale.ROOT);
        String said = "the server at " + ep + " said: " + message + (e.type().isEmpty() ? "" : " (" + e.type() + ")");
        if (lower.contains("context length") || lower.contains("context size") || lower.contains("context window")
                || lower.contains("exceed_context") || lower.contains("maximum context")
                || lower.contains("too many tokens") || lower.contains("context_length_exceeded")) {
            String text = "The input does not fit the model's context for " + op + ": " + said
                    + ". Shorten the input, lower max tokens, or start the server with a larger context.";
            int[] counts = overflowCounts(e);
            return counts == null ? new ContextOverflowException(text)
                    : new ContextOverflowException(text, counts[0], counts[1], counts[2]);        }
        if ((status == 404 || e.code() == 404 || lower.contains("model_not_found"))
                && (lower.contains("model") || lower.contains("not found") || lower.contains("does not exist"))
                && op.model() != null) {
            return new ModelNotFoundException("Model '" + op.model() + "' is not served for " + op.what() + " (" + said
                    + "). List the served models with GET " + ep + "models and open one of them.");
        }
        if (status == 501 || lower.contains("not_supported") || lower.contains("not supported")
                || lower.contains("does not support") || lower.contains("unsupported")) {
            return new UnsupportedCapabilityException("Cannot " + op + ": " + said
                    + ". The server or the model lacks this; for embeddings, start the server with its embeddings "
                    + "option (llama-server --embeddings) or open an embedding model.");
        }
        if (status == 401 || status == 403) {
            return new LlmException("The server at " + ep + " refused " + op + " (HTTP " + status + "): " + message
                    + ". Check the api_key setting or OPENAI_API_KEY.");
        }
        if (status == 429 || status == 503) {
            return new BackendUnavailableException("The server at " + ep + " is busy or not ready for " + op
                    + " (HTTP " + status + "), after " + settings.maxRetries() + " retries: " + message
                    + ". Retry later, add servers (base_url takes several), or raise max_retries and retry_max_wait.");
        }
        if (status >= 500) {
            return new BackendUnavailableException("The server at " + ep + " failed during " + op + " (HTTP " + status
                    + "): " + message + ". Check the server log.");
        }
        return new LlmException("The server at " + ep + " rejected " + op
                + (status == 200 ? " (error inside the stream)" : " (HTTP " + status + ")") + ": " + message
                + (e.type().isEmpty() ? "" : " (" + e.type() + ")"));
    }

    private static final java.util.regex.Pattern VLLM_OVERFLOW = java.util.regex.Pattern.compile(
            "maximum context length is (\\d+) tokens.*?requested (\\d+) tokens \\((\\d+) in the messages, (\\d+) in the "
            + "completion\\)", java.util.regex.Pattern.DOTALL);

    /** @return prompt tokens, reply tokens and context length the server reported, or null when it did not */
    private static int[] overflowCounts(ErrorInfo e) {
        if (e.promptTokens() >= 0 && e.contextLength() >= 0) {
            return new int[] {e.promptTokens(), 0, e.contextLength()};
        }
        java.util.regex.Matcher m = VLLM_OVERFLOW.matcher(e.message());
        if (m.find()) {
            try {
                return new int[] {Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), Integer.parseInt(m.group(1))};
            } catch (NumberFormatException ex) {
                return null;
            }
        }
        return null;
    }

    private LlmException ioFailure(IOException e, HttpExchange x, Endpoints.Endpoint ep, Op op, boolean answering) {
        LlmException typed = x.failure(e);
        if (typed != null) {
            return typed;
        }
        if (e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException) {
            return new BackendUnavailableException("Cannot reach the server at " + ep + " for " + op + " (" + e
                    + "). Start it (llama-server, vllm serve, LM Studio's server) or point base_url at a running one.", e);
        }
        if (e instanceof SSLException) {
            return new BackendUnavailableException("TLS failed with the server at " + ep + " for " + op + " ("
                    + e.getMessage() + "). Check that the server speaks https, or use http.", e);
        }
        return new BackendUnavailableException("The connection to the server at " + ep + " failed during " + op
                + (answering ? " in the middle of the answer" : "") + " (" + e + "). Check that the server is still "
                + "running and its log.", e);
    }

    @Override
    public void close() {
        endpoints.close();
    }
}
