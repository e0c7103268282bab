package io.github.locallm.ollama;

import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.OpenOptions;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.http.ClientSettings;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.OptionValues;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import okhttp3.Headers;
import okhttp3.OkHttpClient;
import okhttp3.HttpUrl;

/**
 * The Ollama backend: opens models served by an Ollama server, for the spec scheme {@code ollama}.
 *
 * <p>Specs:
 * <ul>
 *   <li>{@code ollama:MODEL}, such as {@code ollama:llama3.2} or {@code ollama:qwen2.5:7b}: the server
 *       comes from the {@code host} setting, else {@code OLLAMA_HOST} (Ollama's forms {@code host},
 *       {@code host:port}, {@code http://host:port}, {@code https://host[/prefix]}), else
 *       {@code http://127.0.0.1:11434};</li>
 *   <li>{@code ollama://host:port/MODEL}: plain HTTP to that server (port 11434 when left out), or HTTPS
 *       with the setting {@code tls=true};</li>
 *   <li>{@code ollama:https://host/MODEL} and {@code ollama:http://host:port/MODEL}: that URL (ports 443 and
 *       80 when left out). The whole path after the host is the model name; a proxy's path prefix goes in
 *       the {@code host} setting instead.</li>
 * </ul>
 *
 * <p>Settings (in the spec's query or {@link OpenOptions}):
 * {@code ctx} (sent as {@code num_ctx}), {@code threads} ({@code num_thread}), {@code gpu_layers}
 * ({@code num_gpu}), {@code keep_alive} (such as {@code 10m}, {@code -1}, {@code 0}), {@code host},
 * {@code tls}, {@code bearer_token} (sent as {@code Authorization: Bearer ...}), {@code header.NAME}
 * (any header), {@code proxy} ({@code http://[user:password@]host:port}, {@code socks5://host:port} or
 * {@code direct}), {@code ca_file} (a PEM file of certificates to trust beside the system's), {@code pull}
 * ({@code true}: pull the model when the server lacks it), {@code embed_truncate} and {@code embed_dimensions}
 * (Ollama's {@code truncate} and {@code dimensions} of {@code /api/embed}), and the bounds of every call
 * ({@link io.github.locallm.http.HttpLimits}): {@code connect_timeout} (default 10s),
 * {@code first_token_timeout} (10m: covers loading the model and reading the prompt, slow on a CPU),
 * {@code idle_timeout} (2m between streamed lines), {@code request_timeout} (60m; none for pull, push and
 * create), each like {@code 500ms}, {@code 30s}, {@code 5m} or {@code 0} for none; {@code min_bytes_per_second}
 * (1) over {@code min_rate_window} (2m); {@code max_line_bytes} (8m), {@code max_body_bytes} (32m) and
 * {@code max_stream_bytes} (256m), like {@code 65536}, {@code 512k} or {@code 16m}.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("ollama:llama3.2?ctx=8192&keep_alive=10m")) {
 *     System.out.println(llm.generate("Why is the sky blue?").text());
 * }
 * try (LocalLlm remote = LocalLlm.open("ollama:https://ollama.example.com/qwen2.5:7b",
 *         OpenOptions.builder().parameter("bearer_token", token).build())) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Per call, {@code GenerationOptions.backendOption("ollama", key, value)} takes {@code keep_alive},
 * {@code think} ({@code true}, {@code false} or a level such as {@code high}), {@code raw}, {@code system},
 * {@code suffix} (as {@code GenerationOptions.suffix}, which is checked against the model's {@code insert}
 * capability first), {@code template} (completions), {@code stream} ({@code false} asks for one answer object),
 * {@code options} (a JSON object merged into Ollama's {@code options}), and Ollama's model options that
 * {@code GenerationOptions} has no field for, such as {@code num_batch} or {@code presence_penalty}; any other
 * key is refused with the list of known ones, and so is a key such as {@code temperature} that would
 * override a {@code GenerationOptions} value. A completion uses the model's prompt
 * template, as Ollama's {@code /api/generate} does, unless {@code raw} is true.
 *
 * <p>Opening asks the server about the model ({@code /api/show}): its capabilities and context length
 * feed {@link ModelInfo}. The context length is the {@code ctx} setting, else the window of the model if
 * the server has it loaded, else its Modelfile's {@code num_ctx}, else the smaller of its trained length
 * and 4096 (Ollama's smallest default). Models opened without {@code proxy} or {@code ca_file} share one
 * connection pool. A provider made with {@link #OllamaProvider(OkHttpClient)} gives its models that client
 * instead (any other OkHttp setup, such as interceptors), through {@code LocalLlm.open(provider, spec, options)}:
 *
 * <pre>{@code
 * OllamaProvider ollama = new OllamaProvider(new OkHttpClient.Builder().addInterceptor(audit).build());
 * try (LocalLlm llm = LocalLlm.open(ollama, "ollama:llama3.2", OpenOptions.defaults())) { ... }
 * }</pre>
 *
 * <p>Exact tokenization is not offered.
 *
 * <p>Thread-safe and immutable.
 */
public final class OllamaProvider implements LlmProvider {
    static final String HOST = "host";
    static final String TLS = "tls";
    static final String BEARER_TOKEN = "bearer_token";
    static final String HEADER_PREFIX = "header.";
    static final String KEEP_ALIVE = "keep_alive";
    static final String PULL = "pull";
    static final String CONNECT_TIMEOUT = "connect_timeout";
    static final String FIRST_TOKEN_TIMEOUT = "first_token_timeout";
    static final String IDLE_TIMEOUT = "idle_timeout";
    static final String REQUEST_TIMEOUT = "request_timeout";
    static final String MIN_RATE = "min_bytes_per_second";
    static final String MAX_LINE = "max_line_bytes";
    static final String MAX_BODY = "max_body_bytes";
    static final String MAX_STREAM = "max_stream_bytes";
    static final String RATE_WINDOW = "min_rate_window";
    static final String PROXY = "proxy";
    static final String CA_FILE = "ca_file";
    static final String EMBED_TRUNCATE = "embed_truncate";
    static final String EMBED_DIMENSIONS = "embed_dimensions";
    /** Most {@code header.*} settings. */
    static final int MAX_HEADERS = 32;
    /** Longest header value, in chars. */
    static final int MAX_HEADER_VALUE = 8192;
    /** Headers that frame the message or the connection: set by the HTTP client, never by a setting. */
    private static final Set<String> FRAMING_HEADERS = Set.of("host", "content-length", "transfer-encoding",
            "connection", "keep-alive", "upgrade", "te", "trailer", "accept-encoding", "content-encoding",
            "proxy-authorization", "proxy-connection");
    static final int FALLBACK_CONTEXT = OptionValues.DEFAULT_CONTEXT_CAP;
    private static final List<String> KNOWN = List.of(OpenOptions.CONTEXT_LENGTH, OpenOptions.THREADS,
            OpenOptions.GPU_LAYERS, HOST, TLS, BEARER_TOKEN, KEEP_ALIVE, PULL, CONNECT_TIMEOUT, FIRST_TOKEN_TIMEOUT,
            IDLE_TIMEOUT, REQUEST_TIMEOUT, MIN_RATE, RATE_WINDOW, MAX_LINE, MAX_BODY, MAX_STREAM, PROXY, CA_FILE, EMBED_TRUNCATE, EMBED_DIMENSIONS);

    private final java.util.function.UnaryOperator<String> environment;
    private final OkHttpClient httpClient;

    /** Creates the provider with the default HTTP client; {@link java.util.ServiceLoader} calls this. */
    public OllamaProvider() {
        this(System::getenv, null);
    }

    /**
     * Creates a provider whose models use this HTTP client (its connection pool, proxy, TLS setup and
     * interceptors; this backend's time limits replace its timeouts).
     *
     * @param httpClient the client
     */
    public OllamaProvider(OkHttpClient httpClient) {
        this(System::getenv, java.util.Objects.requireNonNull(httpClient, "httpClient"));
    }

    OllamaProvider(java.util.function.UnaryOperator<String> environment) {
        this(environment, null);
    }

    private OllamaProvider(java.util.function.UnaryOperator<String> environment, OkHttpClient httpClient) {
        this.environment = environment;
        this.httpClient = httpClient;
    }

    @Override
    public String name() {
        return "ollama";
    }

    @Override
    public Set<String> schemes() {
        return Set.of("ollama");
    }

    @Override
    public Optional<String> artifact() {
        return Optional.of("io.github.locallm:llm-ollama");
    }

    @Override
    public LlmBackend open(OpenRequest request) {
        Map<String, String> params = request.parameters();
        List<String> keys = new ArrayList<>(KNOWN);
        Headers.Builder headers = new Headers.Builder();
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (e.getKey().startsWith(HEADER_PREFIX)) {
                String name = e.getKey().substring(HEADER_PREFIX.length());
                if (keys.size() - KNOWN.size() >= MAX_HEADERS) {
                    throw new IllegalArgumentException("at most " + MAX_HEADERS + " header.* settings (model "
                            + request.spec() + ")");
                }
                if (FRAMING_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                    throw new IllegalArgumentException("setting " + e.getKey() + " names a header the HTTP client"
                            + " sets itself (message framing, compression, connection, proxy); leave it out (model "
                            + request.spec() + ")");
                }
                if (e.getValue().length() > MAX_HEADER_VALUE) {
                    throw new IllegalArgumentException("setting " + e.getKey() + " must be at most " + MAX_HEADER_VALUE
                            + " chars: " + e.getValue().length() + " (model " + request.spec() + ")");
                }
                try {
                    headers.set(name, e.getValue());
                } catch (IllegalArgumentException ex) {
                    // OkHttp's message may quote the value, which may be a credential: never repeat it
                    throw new IllegalArgumentException("invalid header setting '" + e.getKey() + "' for model "
                            + request.spec() + ": a header name is letters, digits and !#$%&'*+-.^_`|~, a value is"
                            + " printable text without line breaks");
                }
                keys.add(e.getKey());
            }
        }
        request.requireKnown(keys);
        request.string(BEARER_TOKEN).ifPresent(t -> {
            if (t.isBlank() || t.length() > MAX_HEADER_VALUE) {
                throw new IllegalArgumentException("bearer_token must be non-blank and at most " + MAX_HEADER_VALUE
                        + " chars (model " + request.spec() + ")");
            }
            try {
                headers.set("Authorization", "Bearer " + t.strip());
            } catch (IllegalArgumentException ex) {
                // the message of OkHttp quotes the value: never put a credential in a message
                throw new IllegalArgumentException("bearer_token holds a character a header cannot carry (model "
                        + request.spec() + ")");
            }
        });

        ServerAddress.Target target = ServerAddress.parseLocation(request.spec().location(), request.spec().toString());
        HttpUrl base = target.baseUrl();
        if (request.string(HOST).isPresent()) {
            if (base != null) {
                throw new IllegalArgumentException("model spec " + request.spec()
                        + " names a server and a host setting; give only one");
            }
            base = ServerAddress.parseHost(request.string(HOST).get(), "host setting");
        }
        if (base == null) {
            base = ServerAddress.parseHost(environment.apply("OLLAMA_HOST"), "OLLAMA_HOST");
        }
        if (request.bool(TLS).orElse(false)) {
            base = ServerAddress.withTls(base);
        }

        HttpLimits limits = limits(request);

        Integer numCtx = boxed(request.integer(OpenOptions.CONTEXT_LENGTH, 1));
        Integer numThread = boxed(request.integer(OpenOptions.THREADS, 1));
        Integer numGpu = boxed(request.integer(OpenOptions.GPU_LAYERS, 0));
        String keepAlive = request.string(KEEP_ALIVE).map(String::strip).orElse(null);
        if (keepAlive != null && (keepAlive.isEmpty() || keepAlive.length() > 32
                || !keepAlive.chars().allMatch(c -> c == '-' || c == '.' || Character.isLetterOrDigit(c)))) {
            throw new IllegalArgumentException("keep_alive must be a duration such as 10m, 3600, -1 or 0: '"
                    + (keepAlive.length() > 40 ? keepAlive.substring(0, 40) + "..." : keepAlive) + "' (model "
                    + request.spec() + ")");
        }
        Boolean embedTruncate = request.bool(EMBED_TRUNCATE).orElse(null);
        Integer embedDimensions = boxed(request.integer(EMBED_DIMENSIONS, 1));

        okhttp3.OkHttpClient okhttp = ClientSettings.configure(httpClient, request.string(PROXY).orElse(null),
                request.string(CA_FILE).map(java.nio.file.Path::of).orElse(null), "setting of model " + request.spec());
        OllamaHttp http = new OllamaHttp(base, headers.build(), okhttp, limits);
        OllamaClient client = OllamaClient.of(http);
        String model = target.model();
        OllamaClient.ModelDescription description;
        try {
            description = client.show(model);
        } catch (ModelNotFoundException e) {
            if (!request.bool(PULL).orElse(false)) {
                throw e;
            }
            client.pull(model, p -> { });
            description = client.show(model);
        }

        Map<String, String> details = new LinkedHashMap<>(description.details());
        details.put("server", http.server());
        details.put("capabilities", String.join(",", description.serverCapabilities()));
        if (description.contextLength() > 0) {
            details.put("trained_context_length", Integer.toString(description.contextLength()));
        }
        int ctx;
        String source;
        if (numCtx != null) {
            ctx = numCtx;
            source = "setting";
        } else {
            int running = runningContext(client, model);
            if (running > 0) {
                ctx = running;
                source = "running";
            } else if (description.numCtx() > 0) {
                ctx = description.numCtx();
                source = "modelfile";
            } else {
                ctx = description.contextLength() > 0 ? Math.min(description.contextLength(), FALLBACK_CONTEXT)
                        : FALLBACK_CONTEXT;
                source = "default";
            }
        }
        details.put("context_length_source", source);
        if (!description.template().isEmpty()) {
            details.put("chat_template_text", description.template());
        }
        if (!description.parameters().isEmpty()) {
            details.put("modelfile_parameters", description.parameters());
        }
        ModelInfo info = new ModelInfo(name(), model, ctx, description.capabilities(), details);
        WireFormat.ModelSettings settings = new WireFormat.ModelSettings(model, numCtx, numGpu, numThread, keepAlive,
                embedTruncate, embedDimensions);
        return new OllamaBackend(http, settings, info);
    }

    static HttpLimits limits(OpenRequest request) {
        return HttpLimits.fromSettings(request);
    }

    private static int runningContext(OllamaClient client, String model) {
        try {
            String tagged = model.contains(":") ? model : model + ":latest";
            for (OllamaClient.RunningModel m : client.running()) {
                if (m.name().equals(model) || m.name().equals(tagged) || m.model().equals(tagged)) {
                    return m.contextLength();
                }
            }
        } catch (LlmException e) {
            // the window is only a hint; older servers lack /api/ps
        }
        return 0;
    }

    private static Integer boxed(java.util.OptionalInt v) {
        return v.isPresent() ? v.getAsInt() : null;
    }

    @Override
    public String toString() {
        return "OllamaProvider[ollama]";
    }
}
