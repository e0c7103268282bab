package io.github.locallm.openai;

import io.github.locallm.OpenOptions;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.spi.OpenRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import okhttp3.Headers;
import okhttp3.HttpUrl;

/**
 * The settings of one {@code openai:} model, read once from the spec's query and {@link OpenOptions}:
 * where the servers are, how to authenticate, time and size limits, concurrency and retries, and the
 * capability overrides. All parsing of settings lives here.
 *
 * @param baseUrls the servers' API roots, each ending in {@code /} (such as {@code http://h:8000/v1/})
 * @param model the model name, or {@code null} to take the servers' only model
 * @param apiKey the bearer token, or {@code null}
 * @param headers extra headers (the {@code Authorization} header included when a key is set)
 * @param contextLength the {@code ctx} setting, or {@code null}
 * @param server the forced server kind, or {@code null} to detect it
 * @param limits time and size limits (the settings of {@link HttpLimits#fromSettings})
 * @param maxConcurrency most calls of this model in flight at once
 * @param maxRetries retries of a call refused with 429 or 503, or whose connection failed
 * @param retryMaxWait longest wait before one retry; a longer {@code Retry-After} fails at once
 * @param healthInterval how often servers marked down are checked again
 * @param streamUsage whether {@code stream_options.include_usage} is sent
 * @param completions whether raw prompts go to {@code /v1/completions}: {@code null} to decide by server
 * @param embeddings capability override, or {@code null}
 * @param vision capability override, or {@code null}
 * @param thinking capability override, or {@code null}
 */
record Settings(List<HttpUrl> baseUrls, String model, String apiKey, Headers headers, Integer contextLength,
                ServerKind server, HttpLimits limits, int maxConcurrency,
                int maxRetries, Duration retryMaxWait, Duration healthInterval, boolean streamUsage,
                Boolean completions, Boolean embeddings, Boolean vision, Boolean thinking) {

    static final String BASE_URL = "base_url";
    static final String MODEL = "model";
    static final String API_KEY = "api_key";
    static final String HEADER_PREFIX = "header.";
    static final String SERVER = "server";
    static final String MAX_CONCURRENCY = "max_concurrency";
    static final String MAX_RETRIES = "max_retries";
    static final String RETRY_MAX_WAIT = "retry_max_wait";
    static final String HEALTH_INTERVAL = "health_interval";
    static final String STREAM_USAGE = "stream_usage";
    static final String COMPLETIONS = "completions";
    static final String EMBEDDINGS = "embeddings";
    static final String VISION = "vision";
    static final String THINKING = "thinking";
    static final List<String> OWN = List.of(BASE_URL, MODEL, API_KEY, OpenOptions.CONTEXT_LENGTH, SERVER,
            MAX_CONCURRENCY, MAX_RETRIES, RETRY_MAX_WAIT, HEALTH_INTERVAL, STREAM_USAGE, COMPLETIONS, EMBEDDINGS,
            VISION, THINKING);
    static final int DEFAULT_MAX_CONCURRENCY = 32;

    /** Keeps the key out of logs and messages. */
    @Override
    public String toString() {
        return "Settings[" + baseUrls + ", model=" + model + ", api_key=" + (apiKey == null ? "none" : "***")
                + ", server=" + server + ", " + limits + "]";
    }

    /**
     * Reads the settings.
     *
     * @param request the open request
     * @param environment reads {@code OPENAI_BASE_URL} and {@code OPENAI_API_KEY}
     * @return the settings
     * @throws IllegalArgumentException naming the bad or unknown setting
     */
    static Settings read(OpenRequest request, UnaryOperator<String> environment) {
        Map<String, String> params = request.parameters();
        List<String> known = new ArrayList<>(OWN);
        known.addAll(HttpLimits.SETTINGS);
        Headers.Builder headers = new Headers.Builder();
        for (Map.Entry<String, String> e : params.entrySet()) {
            if (e.getKey().startsWith(HEADER_PREFIX)) {
                try {
                    headers.set(e.getKey().substring(HEADER_PREFIX.length()), e.getValue());
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException("invalid header setting '" + e.getKey() + "' for model "
                            + Redaction.spec(request) + ": " + ex.getMessage(), ex);
                }
                known.add(e.getKey());
            }
        }
        request.requireKnown(known);

        String location = request.spec().location().strip();
        boolean locationIsUrl = location.regionMatches(true, 0, "http://", 0, 7)
                || location.regionMatches(true, 0, "https://", 0, 8);
        String model = request.string(MODEL).map(String::strip).filter(s -> !s.isEmpty()).orElse(null);
        String urls;
        if (locationIsUrl) {
            if (request.string(BASE_URL).isPresent()) {
                throw new IllegalArgumentException("model spec " + Redaction.spec(request)
                        + " names a server and a base_url setting; give only one");
            }
            urls = location;
        } else {
            if (model != null && !model.equals(location)) {
                throw new IllegalArgumentException("model spec " + Redaction.spec(request) + " names model '"
                        + location + "' and a model setting '" + model + "'; give only one");
            }
            model = location;
            urls = request.string(BASE_URL).orElseGet(() -> environment.apply("OPENAI_BASE_URL"));
            if (urls == null || urls.isBlank()) {
                throw new IllegalArgumentException("no server for model " + Redaction.spec(request)
                        + ": give the base_url setting (such as http://127.0.0.1:8080/v1), set OPENAI_BASE_URL, "
                        + "or use the form openai:http://host:port/v1?model=NAME");
            }
        }
        List<HttpUrl> bases = new ArrayList<>();
        for (String u : urls.split(",")) {
            if (!u.isBlank()) {
                HttpUrl b = parseBase(u.strip());
                if (!bases.contains(b)) {
                    bases.add(b);
                }
            }
        }
        if (bases.isEmpty()) {
            throw new IllegalArgumentException("base_url names no server: '" + urls + "'");
        }

        String key = request.string(API_KEY).orElseGet(() -> environment.apply("OPENAI_API_KEY"));
        if (key != null && key.isBlank()) {
            key = null;
        }
        if (key != null) {
            try {
                headers.set("Authorization", "Bearer " + key.strip());
            } catch (IllegalArgumentException ex) {
                // the message of OkHttp would quote the key
                throw new IllegalArgumentException("api_key holds characters that cannot go in an HTTP header");
            }
        }

        HttpLimits limits = HttpLimits.fromSettings(request);

        ServerKind server = request.string(SERVER).map(String::strip)
                .filter(s -> !s.equalsIgnoreCase("auto")).map(ServerKind::parse).orElse(null);
        Boolean completions = request.string(COMPLETIONS).map(String::strip)
                .filter(s -> !s.equalsIgnoreCase("auto")).map(s -> request.bool(COMPLETIONS).orElseThrow())
                .orElse(null);
        return new Settings(List.copyOf(bases), model, key, headers.build(),
                boxed(request.integer(OpenOptions.CONTEXT_LENGTH, 1)), server, limits,
                request.integer(MAX_CONCURRENCY, 1).orElse(DEFAULT_MAX_CONCURRENCY),
                request.integer(MAX_RETRIES, 0).orElse(2),
                duration(request, RETRY_MAX_WAIT, Duration.ofSeconds(30)),
                duration(request, HEALTH_INTERVAL, Duration.ofSeconds(10)),
                request.bool(STREAM_USAGE).orElse(true), completions,
                request.bool(EMBEDDINGS).orElse(null), request.bool(VISION).orElse(null),
                request.bool(THINKING).orElse(null));
    }

    /**
     * @param text a base URL such as {@code http://host:8000/v1}; a URL without a path gets {@code /v1}
     * @return the URL, ending in {@code /}
     */
    static HttpUrl parseBase(String text) {
        HttpUrl url = HttpUrl.parse(text);
        if (url == null) {
            throw new IllegalArgumentException("not an http or https URL: '" + Redaction.url(text) + "'");
        }
        if (!url.username().isEmpty() || !url.password().isEmpty()) {
            throw new IllegalArgumentException("a base URL must not hold credentials; use the api_key setting: '"
                    + Redaction.url(text) + "'");
        }
        if (url.query() != null || url.fragment() != null) {
            throw new IllegalArgumentException("a base URL takes no query or fragment: '" + Redaction.url(text) + "'");
        }
        String path = url.encodedPath();
        if (path.equals("/")) {
            path = "/v1/";
        } else if (!path.endsWith("/")) {
            path = path + "/";
        }
        return url.newBuilder().encodedPath(path).build();
    }

    private static Duration duration(OpenRequest request, String key, Duration fallback) {
        return request.string(key).map(v -> HttpLimits.parseDuration(key, v)).orElse(fallback);
    }

    private static Integer boxed(java.util.OptionalInt v) {
        return v.isPresent() ? v.getAsInt() : null;
    }
}
