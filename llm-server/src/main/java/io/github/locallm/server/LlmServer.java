package io.github.locallm.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.LocalLlm;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * An HTTP server that serves open models over the OpenAI-compatible API ({@code /v1/...}) and the Ollama
 * API ({@code /api/...}).
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("llamacpp:/models/qwen2.5-0.5b.gguf");
 *      LlmServer server = LlmServer.builder().model("qwen", llm).port(11434).start()) {
 *     System.out.println("serving on " + server.baseUri());
 *     server.awaitStop();
 * }
 * }</pre>
 *
 * <p>Safe by default: it binds to the loopback address, refuses requests whose {@code Host} is not a
 * loopback name while bound there, refuses cross-origin requests unless CORS origins are configured,
 * bounds request bodies, prompts, {@code max_tokens} and embedding inputs, and admits at most
 * {@code concurrency} generations per model with at most {@code queue} more waiting (503 with
 * {@code Retry-After} past that). An API key, when set, is required on every endpoint except {@code /}.
 * Clients name only the models given here: no endpoint opens a path a client sends. A client that goes
 * away cancels its generation.
 *
 * <p>Thread-safe. {@link #close()} stops accepting requests, lets running generations finish during the
 * grace period, then cancels the rest (their streams end with a regular final chunk), stops the HTTP
 * server and closes the models it opened itself.
 */
public final class LlmServer implements AutoCloseable {
    private final Map<String, ModelSlot> slots;
    private final Conversions.Bounds bounds;
    private final byte[] apiKey;
    private final Set<String> corsOrigins;
    private final Set<String> allowedHosts;
    private final boolean loopback;
    private final Duration shutdownGrace;
    private final Server jetty;
    private final ServerConnector connector;
    private final OllamaApi ollama;
    private final OpenAiApi openai;
    private final Set<Run> runs = ConcurrentHashMap.newKeySet();
    private volatile boolean stopping;
    private volatile boolean closed;

    private LlmServer(Builder b, Map<String, ModelSlot> slots) {
        this.slots = slots;
        this.bounds = new Conversions.Bounds(b.maxPromptChars, b.maxTokens, b.maxInputs);
        this.apiKey = b.apiKey == null ? null : b.apiKey.getBytes(StandardCharsets.UTF_8);
        this.corsOrigins = Set.copyOf(b.corsOrigins);
        this.loopback = isLoopback(b.host);
        Set<String> hosts = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "[::1]", "::1"));
        hosts.add(b.host.toLowerCase(Locale.ROOT));
        hosts.addAll(b.allowedHosts);
        this.allowedHosts = Set.copyOf(hosts);
        this.shutdownGrace = b.shutdownGrace;
        ObjectMapper mapper = Exchange.newMapper(b.maxBodyBytes);
        this.ollama = new OllamaApi(this, mapper);
        this.openai = new OpenAiApi(this, mapper);
        QueuedThreadPool pool = new QueuedThreadPool(b.maxThreads, 4);
        pool.setName("llm-server");
        this.jetty = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setRequestHeaderSize(16 * 1024);
        this.connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(b.host);
        connector.setPort(b.port);
        connector.setIdleTimeout(b.idleTimeout.toMillis());
        jetty.addConnector(connector);
        jetty.setStopTimeout(5000);
        int maxBody = b.maxBodyBytes;
        jetty.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                serve(new Exchange(request, response, callback, mapper, maxBody));
                return true;
            }
        });
    }

    private static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("[::1]");
    }

    /** @return a builder with the safe defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the bound address (the real port when 0 was asked) */
    public InetSocketAddress address() {
        return new InetSocketAddress(connector.getHost(), connector.getLocalPort());
    }

    /** @return the port the server listens on */
    public int port() {
        return connector.getLocalPort();
    }

    /** @return {@code http://host:port} */
    public URI baseUri() {
        String h = connector.getHost();
        if (h.contains(":") && !h.startsWith("[")) {
            h = "[" + h + "]";
        }
        return URI.create("http://" + h + ":" + port());
    }

    /** @return the names of the served models, in configuration order */
    public List<String> modelNames() {
        return List.copyOf(slots.keySet());
    }

    /** @return the number of generations running now, over all models */
    public int activeGenerations() {
        return runs.size();
    }

    /**
     * Blocks until the server stopped.
     *
     * @throws InterruptedException when interrupted
     */
    public void awaitStop() throws InterruptedException {
        jetty.join();
    }

    // ---- for the APIs ----

    Conversions.Bounds bounds() {
        return bounds;
    }

    List<ModelSlot> slots() {
        return new ArrayList<>(slots.values());
    }

    ModelSlot slot(String name) {
        ModelSlot s = slots.get(name);
        if (s == null && name.endsWith(":latest")) {
            s = slots.get(name.substring(0, name.length() - ":latest".length()));
        }
        if (s == null) {
            s = slots.get(name + ":latest");
        }
        if (s == null) {
            throw HttpError.modelNotFound(name, slots.keySet());
        }
        return s;
    }

    void register(Run r) {
        if (stopping) {
            throw HttpError.unavailable("the server is shutting down");
        }
        runs.add(r);
    }

    void unregister(Run r) {
        runs.remove(r);
    }

    // ---- the request path ----

    private void serve(Exchange ex) {
        boolean openAiShape = ex.path.startsWith("/v1/") || ex.path.equals("/v1");
        try {
            guard(ex);
            if (ex.method.equals("OPTIONS")) {
                ex.response.setStatus(204);
                ex.callback.succeeded();
                return;
            }
            if (ex.path.equals("/")) {
                OllamaApi.requireMethod(ex, "GET");
                ex.sendText(200, "Ollama is running");
                return;
            }
            authorize(ex);
            if (stopping) {
                throw HttpError.unavailable("the server is shutting down");
            }
            // a generation may be silent for long (prompt processing, a non-streamed answer)
            ex.request.addIdleTimeoutListener(t -> false);
            if (openAiShape) {
                openai.handle(ex);
            } else if (ex.path.startsWith("/api/")) {
                ollama.handle(ex);
            } else {
                throw HttpError.notFound("no such endpoint: " + ex.path + " (the APIs are under /v1/ and /api/)");
            }
        } catch (HttpError e) {
            fail(ex, e, openAiShape);
        } catch (IOException e) {
            ex.callback.failed(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ex.callback.failed(e);
        } catch (RuntimeException e) {
            fail(ex, Conversions.toHttp(e), openAiShape);
        }
    }

    private void fail(Exchange ex, HttpError e, boolean openAiShape) {
        if (ex.answered() || ex.response.isCommitted()) {
            ex.callback.failed(e);
            return;
        }
        if (e.status == 401) {
            ex.response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
        }
        if (openAiShape) {
            openai.sendError(ex, e);
        } else {
            ollama.sendError(ex, e);
        }
    }

    /** Host and Origin checks, and the CORS headers of an allowed origin. */
    private void guard(Exchange ex) {
        if (loopback) {
            String host = ex.request.getHeaders().get(HttpHeader.HOST);
            if (host != null && !allowedHosts.contains(hostName(host))) {
                throw HttpError.forbidden("Host '" + host + "' is not allowed: this server listens on loopback "
                        + "and answers loopback names only (configure allowed hosts to add one)");
            }
        }
        String origin = ex.request.getHeaders().get(HttpHeader.ORIGIN);
        if (origin != null) {
            if (!corsOrigins.contains("*") && !corsOrigins.contains(origin)) {
                throw HttpError.forbidden("cross-origin request from '" + origin + "' refused: CORS is off "
                        + "unless origins are configured");
            }
            ex.response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            ex.response.getHeaders().put(HttpHeader.VARY, "Origin");
            if (ex.method.equals("OPTIONS")) {
                ex.response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, HEAD, OPTIONS");
                ex.response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS,
                        "Authorization, Content-Type, X-Requested-With");
                ex.response.getHeaders().put(HttpHeader.ACCESS_CONTROL_MAX_AGE, "600");
            }
        } else if (ex.method.equals("OPTIONS")) {
            throw HttpError.methodNotAllowed("OPTIONS", ex.path);
        }
    }

    private static String hostName(String hostHeader) {
        String h = hostHeader.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(0, end + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    private void authorize(Exchange ex) {
        if (apiKey == null) {
            return;
        }
        String auth = ex.request.getHeaders().get(HttpHeader.AUTHORIZATION);
        byte[] given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                ? auth.substring(7).strip().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, apiKey)) {
            throw HttpError.unauthorized();
        }
    }

    /**
     * Stops the server gracefully: new requests get 503, running generations get the grace period, then
     * are cancelled (their streams end with a final chunk); then the HTTP server stops and the models the
     * server opened are closed. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stopping = true;
        long deadline = System.nanoTime() + shutdownGrace.toNanos();
        waitForRuns(deadline);
        for (Run r : List.copyOf(runs)) {
            r.cancel();
        }
        waitForRuns(System.nanoTime() + Duration.ofSeconds(10).toNanos());
        try {
            jetty.stop();
        } catch (Exception e) {
            // stopping is best effort; the models are closed below in any case
        }
        for (ModelSlot s : slots.values()) {
            if (s.owned) {
                s.llm.close();
            }
        }
    }

    private void waitForRuns(long deadlineNanos) {
        while (!runs.isEmpty() && System.nanoTime() < deadlineNanos) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Configures and starts an {@link LlmServer}. Defaults: host {@code 127.0.0.1}, port 11434, no API key,
     * body 8 MiB, prompt 1,000,000 characters, 4096 tokens per request, 256 embedding inputs, 1 generation
     * per model with 16 waiting at most 120 s, no CORS, 10 s shutdown grace. Not thread-safe.
     */
    public static final class Builder {
        private final Map<String, LocalLlm> models = new LinkedHashMap<>();
        private final Map<String, String> specs = new LinkedHashMap<>();
        private String host = "127.0.0.1";
        private int port = 11434;
        private String apiKey;
        private int maxBodyBytes = 8 * 1024 * 1024;
        private int maxPromptChars = 1_000_000;
        private int maxTokens = 4096;
        private int maxInputs = 256;
        private int concurrency = 1;
        private int queue = 16;
        private Duration queueTimeout = Duration.ofSeconds(120);
        private Duration idleTimeout = Duration.ofSeconds(120);
        private Duration shutdownGrace = Duration.ofSeconds(10);
        private int maxThreads = 64;
        private final Set<String> corsOrigins = new LinkedHashSet<>();
        private final Set<String> allowedHosts = new LinkedHashSet<>();

        private Builder() {
        }

        /**
         * Serves an open model under a name; the caller keeps ownership and closes it after the server.
         *
         * @param name the name clients use, such as {@code qwen2.5:0.5b}
         * @param llm the model
         * @return this builder
         */
        public Builder model(String name, LocalLlm llm) {
            checkName(name);
            models.put(name, Objects.requireNonNull(llm, "llm"));
            return this;
        }

        /**
         * Serves a model spec under a name; the server opens it at {@link #start()} and closes it.
         *
         * @param name the name clients use
         * @param spec a model spec such as {@code llamacpp:/models/m.gguf}
         * @return this builder
         */
        public Builder model(String name, String spec) {
            checkName(name);
            specs.put(name, Objects.requireNonNull(spec, "spec"));
            return this;
        }

        private void checkName(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank() || name.length() > 200 || name.chars().anyMatch(c -> c < 0x21 || c == '/')) {
                throw new IllegalArgumentException("model name must be 1 to 200 visible characters without '/': '"
                        + name + "'");
            }
            if (models.containsKey(name) || specs.containsKey(name)) {
                throw new IllegalArgumentException("duplicate model name: " + name);
            }
        }

        /** @param host the address to bind, {@code 127.0.0.1} unless set; {@code 0.0.0.0} for all @return this */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** @param port the port, 0 for any free one @return this */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in [0, 65535]: " + port);
            }
            this.port = port;
            return this;
        }

        /** @param apiKey the key clients must send as {@code Authorization: Bearer}, or null for none @return this */
        public Builder apiKey(String apiKey) {
            if (apiKey != null && apiKey.isBlank()) {
                throw new IllegalArgumentException("apiKey must not be blank");
            }
            this.apiKey = apiKey;
            return this;
        }

        /** @param bytes the largest request body accepted @return this */
        public Builder maxBodyBytes(int bytes) {
            this.maxBodyBytes = positive("maxBodyBytes", bytes);
            return this;
        }

        /** @param chars the longest prompt accepted (all messages together) @return this */
        public Builder maxPromptChars(int chars) {
            this.maxPromptChars = positive("maxPromptChars", chars);
            return this;
        }

        /** @param tokens the most tokens one request may generate; also the default @return this */
        public Builder maxTokens(int tokens) {
            this.maxTokens = positive("maxTokens", tokens);
            return this;
        }

        /** @param inputs the most texts one embedding request may hold @return this */
        public Builder maxEmbeddingInputs(int inputs) {
            this.maxInputs = positive("maxEmbeddingInputs", inputs);
            return this;
        }

        /** @param n generations one model runs at once @return this */
        public Builder concurrency(int n) {
            this.concurrency = positive("concurrency", n);
            return this;
        }

        /** @param n requests that may wait for a model past its concurrency; 0 refuses at once @return this */
        public Builder queue(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("queue must be >= 0: " + n);
            }
            this.queue = n;
            return this;
        }

        /** @param timeout how long a request waits in the queue before 503 @return this */
        public Builder queueTimeout(Duration timeout) {
            this.queueTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** @param timeout how long a connection may stay silent outside a generation @return this */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** @param grace how long {@link LlmServer#close()} lets running generations finish @return this */
        public Builder shutdownGrace(Duration grace) {
            this.shutdownGrace = Objects.requireNonNull(grace, "grace");
            return this;
        }

        /** @param n the most request threads @return this */
        public Builder maxThreads(int n) {
            if (n < 8) {
                throw new IllegalArgumentException("maxThreads must be >= 8: " + n);
            }
            this.maxThreads = n;
            return this;
        }

        /** @param origin a browser origin allowed by CORS, such as {@code http://localhost:3000}, or {@code *} @return this */
        public Builder corsOrigin(String origin) {
            corsOrigins.add(Objects.requireNonNull(origin, "origin"));
            return this;
        }

        /** @param host a further {@code Host} name accepted while bound to loopback @return this */
        public Builder allowedHost(String host) {
            allowedHosts.add(Objects.requireNonNull(host, "host").toLowerCase(Locale.ROOT));
            return this;
        }

        private static int positive(String what, int n) {
            if (n < 1) {
                throw new IllegalArgumentException(what + " must be >= 1: " + n);
            }
            return n;
        }

        /**
         * Opens the specs, binds and starts the server.
         *
         * @return the running server
         * @throws IllegalStateException when no model is configured
         * @throws java.io.UncheckedIOException when the address cannot be bound
         */
        public LlmServer start() {
            if (models.isEmpty() && specs.isEmpty()) {
                throw new IllegalStateException("no model configured: add at least one with model(name, spec)");
            }
            Map<String, ModelSlot> slots = new LinkedHashMap<>();
            List<LocalLlm> opened = new ArrayList<>();
            try {
                for (Map.Entry<String, LocalLlm> e : models.entrySet()) {
                    slots.put(e.getKey(), new ModelSlot(e.getKey(), e.getValue(), false, concurrency, queue, queueTimeout));
                }
                for (Map.Entry<String, String> e : specs.entrySet()) {
                    LocalLlm llm = LocalLlm.open(e.getValue());
                    opened.add(llm);
                    slots.put(e.getKey(), new ModelSlot(e.getKey(), llm, true, concurrency, queue, queueTimeout));
                }
                LlmServer s = new LlmServer(this, Collections.unmodifiableMap(slots));
                try {
                    s.jetty.start();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
                } catch (Exception e) {
                    throw new IllegalStateException("the HTTP server could not start on " + host + ":" + port + ": " + e, e);
                }
                return s;
            } catch (RuntimeException e) {
                opened.forEach(LocalLlm::close);
                throw e;
            }
        }
    }
}
