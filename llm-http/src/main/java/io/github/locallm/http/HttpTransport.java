package io.github.locallm.http;

import java.time.Duration;
import java.util.Objects;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;

/**
 * The HTTP side of one backend configuration (a provider's open call, or a management client): an OkHttp
 * client derived for it, its {@link HttpLimits}, and the name of the server for messages.
 *
 * <p>The derived client keeps the connection pool, dispatcher, proxy, TLS setup and interceptors of the
 * client it is made from, and replaces the rest: the OkHttp timeouts (the limits are enforced per call by a
 * {@link Deadline} instead, since a read timeout cannot tell a loading model from a stalled one) and
 * redirects (followed only within the origin, see {@link #open}). Nothing of it is process-wide: each
 * open call may give its own base client; without one, an immutable default client (one connection pool
 * for the process) is used.
 *
 * <pre>{@code
 * HttpTransport http = HttpTransport.create(null, HttpLimits.defaults(), "the server at http://gpu-box:11434");
 * try (HttpExchange x = http.open(new Request.Builder().url(url).post(body), "chat with model m", true)) {
 *     Response r = x.execute();
 *     for (String line; (line = x.readLine()) != null; ) { ... }
 * } catch (IOException e) {
 *     throw x.failure(e); // typed: a limit, a refused redirect, or the I/O failure itself
 * }
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class HttpTransport {
    private final OkHttpClient client;
    private final HttpLimits limits;
    private final String server;

    private HttpTransport(OkHttpClient client, HttpLimits limits, String server) {
        this.client = client;
        this.limits = limits;
        this.server = server;
    }

    /** Holds the default client; created on first use, never replaced. */
    private static final class DefaultClient {
        static final OkHttpClient INSTANCE = new OkHttpClient.Builder().retryOnConnectionFailure(true).build();
    }

    /** @return the immutable client used when an open call gives none; its pool is shared by those calls */
    public static OkHttpClient defaultClient() {
        return DefaultClient.INSTANCE;
    }

    /**
     * Creates a transport.
     *
     * @param base the client to derive from (proxy, TLS trust, interceptors), or {@code null} for
     *             {@link #defaultClient()}
     * @param limits the limits of every call
     * @param server the server as messages name it, such as {@code "the Ollama server at http://h:11434"}
     * @return the transport
     */
    public static HttpTransport create(OkHttpClient base, HttpLimits limits, String server) {
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(server, "server");
        OkHttpClient from = base != null ? base : defaultClient();
        OkHttpClient client = from.newBuilder()
                .connectTimeout(limits.connect())
                .readTimeout(Duration.ZERO)
                .writeTimeout(Duration.ZERO)
                .callTimeout(Duration.ZERO)
                .followRedirects(false)
                .followSslRedirects(false)
                .addInterceptor(new SameOriginRedirects())
                .addNetworkInterceptor(chain -> {
                    Deadline.Tag tag = chain.request().tag(Deadline.Tag.class);
                    if (tag != null) {
                        tag.connected();
                    }
                    return chain.proceed(chain.request());
                })
                .build();
        return new HttpTransport(client, limits, server);
    }

    /** @return the limits of every call */
    public HttpLimits limits() {
        return limits;
    }

    /** @return the server as messages name it */
    public String server() {
        return server;
    }

    /**
     * @param other other limits
     * @return a transport on the same client with other limits
     */
    public HttpTransport withLimits(HttpLimits other) {
        Objects.requireNonNull(other, "other");
        OkHttpClient c = other.connect().equals(limits.connect()) ? client
                : client.newBuilder().connectTimeout(other.connect()).build();
        return new HttpTransport(c, other, server);
    }

    /**
     * Starts a call: its deadline runs from now. Read the answer with the exchange, then close it.
     *
     * @param request the request (URL, method, body, headers)
     * @param op what the call is, for messages, such as {@code "chat with model llama3.2"}
     * @param streamed true for an answer read line by line as it is produced (the first-byte and idle
     *                 limits apply); false for one computed as a whole, where only the whole-request limit
     *                 and the minimum rate apply
     * @return the exchange
     */
    public HttpExchange open(Request.Builder request, String op, boolean streamed) {
        return open(request, op, streamed, streamed);
    }

    /**
     * Starts a call choosing which waits are limited.
     *
     * @param request the request
     * @param op what the call is, for messages
     * @param firstByte whether the first-byte limit applies
     * @param idle whether the idle limit applies between lines or reads
     * @return the exchange
     */
    public HttpExchange open(Request.Builder request, String op, boolean firstByte, boolean idle) {
        Call call = client.newCall(request.tag(Deadline.Tag.class, new Deadline.Tag()).build());
        return new HttpExchange(this, call, Deadline.start(call, limits, firstByte, idle), op);
    }
}
