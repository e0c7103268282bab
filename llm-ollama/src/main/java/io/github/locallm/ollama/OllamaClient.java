package io.github.locallm.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ModelNotFoundException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import io.github.locallm.http.HttpLimits;
import okhttp3.OkHttpClient;

/**
 * Manages the models of an Ollama server: list, describe, pull (with progress), delete, copy, list the
 * running ones, read the server version, and pull a model only when it is missing.
 *
 * <p>Generation goes through {@code LocalLlm.open("ollama:MODEL")}; this class is for what happens
 * around it. The server comes from {@code OLLAMA_HOST} (Ollama's own forms: {@code host:port},
 * {@code http://host:port}, {@code https://host}) or the builder, else {@code http://127.0.0.1:11434}.
 *
 * <pre>{@code
 * OllamaClient ollama = OllamaClient.fromEnvironment();
 * ollama.ensureModel("llama3.2", p -> System.out.printf("%s %.0f%%%n", p.status(), 100 * p.fraction()));
 * for (OllamaClient.LocalModel m : ollama.list()) {
 *     System.out.println(m.name() + " " + m.size());
 * }
 * try (LocalLlm llm = LocalLlm.open("ollama:llama3.2")) {
 *     System.out.println(llm.generate("Why is the sky blue?").text());
 * }
 * }</pre>
 *
 * <p>A remote or proxied server takes the builder's URL, headers and time limits:
 *
 * <pre>{@code
 * OllamaClient remote = OllamaClient.builder()
 *         .baseUrl("https://gpu-box.example.com")
 *         .bearerToken(System.getenv("OLLAMA_TOKEN"))
 *         .build();
 * }</pre>
 *
 * <p>All clients and all models opened through {@code LocalLlm} share one {@link OkHttpClient} and so one
 * connection pool; {@link #setSharedHttpClient(OkHttpClient)} replaces it (for a proxy, TLS setup or
 * interceptors), and {@link Builder#httpClient(OkHttpClient)} gives one client its own. The time limits
 * of this backend replace the OkHttp client's own timeouts; everything else of it is kept.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class OllamaClient {
    private static final Object LOCK = new Object();
    private static OkHttpClient shared;

    private final OllamaHttp http;

    private OllamaClient(OllamaHttp http) {
        this.http = http;
    }

    /**
     * Replaces the OkHttp client that every Ollama model and client uses unless given its own; models
     * already open keep the one they have.
     *
     * @param client the client, or {@code null} to go back to the built-in one
     */
    public static void setSharedHttpClient(OkHttpClient client) {
        synchronized (LOCK) {
            shared = client;
        }
    }

    /** @return the OkHttp client that Ollama models and clients share */
    public static OkHttpClient sharedHttpClient() {
        synchronized (LOCK) {
            if (shared == null) {
                shared = new OkHttpClient.Builder().retryOnConnectionFailure(true).build();
            }
            return shared;
        }
    }

    /** @return a client of the server named by {@code OLLAMA_HOST}, else {@code http://127.0.0.1:11434} */
    public static OllamaClient fromEnvironment() {
        return builder().build();
    }

    /** @return a builder starting from {@code OLLAMA_HOST} and the default time limits */
    public static Builder builder() {
        return new Builder();
    }

    static OllamaClient of(OllamaHttp http) {
        return new OllamaClient(http);
    }

    OllamaHttp http() {
        return http;
    }

    /** @return the server's base URL, such as {@code http://127.0.0.1:11434} */
    public String baseUrl() {
        return http.server();
    }

    /**
     * @return the server's version ({@code GET /api/version})
     * @throws io.github.locallm.BackendUnavailableException when the server cannot be reached
     */
    public String version() {
        return http.call("GET", "api/version", null, new OllamaHttp.Op("reading the version", null))
                .path("version").asText("");
    }

    /** @return the models the server has ({@code GET /api/tags}), in the server's order */
    public List<LocalModel> list() {
        JsonNode root = http.call("GET", "api/tags", null, new OllamaHttp.Op("listing models", null));
        List<LocalModel> out = new ArrayList<>();
        for (JsonNode m : root.path("models")) {
            String name = m.path("name").asText(m.path("model").asText(""));
            out.add(new LocalModel(name, m.path("model").asText(name), m.path("size").asLong(0),
                    m.path("digest").asText(""), instant(m.path("modified_at")), details(m.path("details"))));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * Describes a model ({@code POST /api/show}).
     *
     * @param model the model name, such as {@code llama3.2} or {@code qwen2.5:7b}
     * @return what the server knows of it
     * @throws ModelNotFoundException when the server does not have it
     */
    public ModelDescription show(String model) {
        requireName(model, "model");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("model", model);
        return ModelDescription.from(model, http.call("POST", "api/show", body, new OllamaHttp.Op("show", model)));
    }

    /**
     * @param model the model name
     * @return whether the server has the model
     */
    public boolean exists(String model) {
        try {
            show(model);
            return true;
        } catch (ModelNotFoundException e) {
            return false;
        }
    }

    /**
     * Downloads a model into the server ({@code POST /api/pull}), reporting each progress line. A
     * progress callback that throws stops the pull (the server keeps what it downloaded and resumes
     * later) and the exception reaches the caller. The idle limit (default 2 min) applies between progress
     * lines; verifying a very large model may need a larger one ({@link Builder#idleTimeout}).
     *
     * @param model the model name
     * @param progress receives the progress lines in order, on the calling thread
     * @throws ModelNotFoundException when the registry has no such model
     */
    public void pull(String model, Consumer<PullProgress> progress) {
        requireName(model, "model");
        Objects.requireNonNull(progress, "progress");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("model", model).put("stream", true);
        OllamaHttp.Op op = new OllamaHttp.Op("pull", model);
        http.forTransfers().stream("api/pull", body, op, line -> {
            PullProgress p = new PullProgress(line.path("status").asText(""), line.path("digest").asText(""),
                    line.path("total").asLong(0), line.path("completed").asLong(0));
            progress.accept(p);
            return p.isSuccess();
        }, null, true);
    }

    /**
     * Pulls a model only when the server does not have it yet.
     *
     * @param model the model name
     * @param progress receives progress lines if a pull happens
     * @return true when the model was pulled, false when it was already there
     */
    public boolean ensureModel(String model, Consumer<PullProgress> progress) {
        if (exists(model)) {
            return false;
        }
        pull(model, progress);
        return true;
    }

    /**
     * Deletes a model and its data ({@code DELETE /api/delete}).
     *
     * @param model the model name
     * @throws ModelNotFoundException when the server does not have it
     */
    public void delete(String model) {
        requireName(model, "model");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("model", model);
        http.call("DELETE", "api/delete", body, new OllamaHttp.Op("delete", model));
    }

    /**
     * Copies a model under another name ({@code POST /api/copy}).
     *
     * @param source the existing model
     * @param destination the new name
     * @throws ModelNotFoundException when the source does not exist
     */
    public void copy(String source, String destination) {
        requireName(source, "source");
        requireName(destination, "destination");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("source", source).put("destination", destination);
        http.call("POST", "api/copy", body, new OllamaHttp.Op("copy to " + destination, source));
    }

    /** @return the models loaded in memory now ({@code GET /api/ps}) */
    public List<RunningModel> running() {
        JsonNode root = http.call("GET", "api/ps", null, new OllamaHttp.Op("listing running models", null));
        List<RunningModel> out = new ArrayList<>();
        for (JsonNode m : root.path("models")) {
            String name = m.path("name").asText(m.path("model").asText(""));
            out.add(new RunningModel(name, m.path("model").asText(name), m.path("size").asLong(0),
                    m.path("size_vram").asLong(0), instant(m.path("expires_at")),
                    m.path("context_length").asInt(0), details(m.path("details"))));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * Computes embeddings ({@code POST /api/embed}).
     *
     * @param model an embedding model
     * @param texts the texts
     * @return one vector per text, in order
     */
    public List<float[]> embed(String model, List<String> texts) {
        requireName(model, "model");
        return OllamaBackend.embed(http, new WireFormat.ModelSettings(model, null, null, null, null), texts);
    }

    @Override
    public String toString() {
        return "OllamaClient[" + baseUrl() + "]";
    }

    private static void requireName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (name.isBlank()) {
            throw new IllegalArgumentException(what + " name must not be blank");
        }
    }

    static Instant instant(JsonNode n) {
        if (!n.isTextual() || n.asText().isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(n.asText()).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    static Map<String, String> details(JsonNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (v.isValueNode() && !v.isNull()) {
                if (!v.asText().isEmpty()) {
                    out.put(e.getKey(), v.asText());
                }
            } else if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                out.put(e.getKey(), String.join(",", parts));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * A model the server has, as {@code /api/tags} lists it.
     *
     * @param name the model name with its tag ({@code llama3.2:latest})
     * @param model the model reference the server reports, usually the same as the name
     * @param size bytes on disk
     * @param digest the content digest
     * @param modifiedAt when it was last changed, or {@code null} if the server did not say
     * @param details facts such as {@code family}, {@code parameter_size}, {@code quantization_level}
     */
    public record LocalModel(String name, String model, long size, String digest, Instant modifiedAt,
                             Map<String, String> details) {
        /**
         * Checks and copies the values.
         *
         * @param name see the record description
         * @param model see the record description
         * @param size see the record description
         * @param digest see the record description
         * @param modifiedAt see the record description
         * @param details see the record description
         */
        public LocalModel {
            Objects.requireNonNull(name, "name");
            details = Map.copyOf(details);
        }
    }

    /**
     * A model loaded in the server's memory, as {@code /api/ps} lists it.
     *
     * @param name the model name with its tag
     * @param model the model reference the server reports
     * @param size bytes in memory
     * @param sizeVram of which in GPU memory
     * @param expiresAt when the server unloads it, or {@code null}
     * @param contextLength the context window it was loaded with, or 0 if the server did not say
     * @param details facts such as {@code family} and {@code parameter_size}
     */
    public record RunningModel(String name, String model, long size, long sizeVram, Instant expiresAt,
                               int contextLength, Map<String, String> details) {
        /**
         * Checks and copies the values.
         *
         * @param name see the record description
         * @param model see the record description
         * @param size see the record description
         * @param sizeVram see the record description
         * @param expiresAt see the record description
         * @param contextLength see the record description
         * @param details see the record description
         */
        public RunningModel {
            Objects.requireNonNull(name, "name");
            details = Map.copyOf(details);
        }
    }

    /**
     * One progress line of a pull.
     *
     * @param status what happens, such as {@code "pulling manifest"}, {@code "pulling <digest>"} or
     *               {@code "success"}
     * @param digest the layer being downloaded, or an empty string
     * @param total bytes of that layer, or 0 when unknown
     * @param completed bytes of it downloaded so far
     */
    public record PullProgress(String status, String digest, long total, long completed) {
        /**
         * Checks the values.
         *
         * @param status see the record description
         * @param digest see the record description
         * @param total see the record description
         * @param completed see the record description
         */
        public PullProgress {
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(digest, "digest");
        }

        /** @return the downloaded part of the current layer in [0, 1], or 0 when nothing is being downloaded */
        public double fraction() {
            return total <= 0 ? 0 : Math.min(1.0, (double) completed / total);
        }

        /** @return true for the last line of a successful pull */
        public boolean isSuccess() {
            return status.equals("success");
        }
    }

    /**
     * What {@code /api/show} tells of a model.
     *
     * @param name the model name as asked
     * @param capabilities what the model can do, in the SDK's terms
     * @param serverCapabilities the capability names the server reported ({@code completion}, {@code tools},
     *                           {@code vision}, {@code embedding}, {@code thinking}, {@code insert}...)
     * @param contextLength the context length the model was trained for, or 0 if unknown
     * @param numCtx the context window its Modelfile sets ({@code PARAMETER num_ctx}), or 0 if none
     * @param details facts such as {@code family}, {@code parameter_size}, {@code quantization_level},
     *                {@code architecture}
     * @param template the prompt template, or an empty string
     * @param parameters the Modelfile parameters as text, or an empty string
     */
    public record ModelDescription(String name, Set<Capability> capabilities, Set<String> serverCapabilities,
                                   int contextLength, int numCtx, Map<String, String> details, String template,
                                   String parameters) {
        /**
         * Checks and copies the values.
         *
         * @param name see the record description
         * @param capabilities see the record description
         * @param serverCapabilities see the record description
         * @param contextLength see the record description
         * @param numCtx see the record description
         * @param details see the record description
         * @param template see the record description
         * @param parameters see the record description
         */
        public ModelDescription {
            Objects.requireNonNull(name, "name");
            capabilities = Collections.unmodifiableSet(capabilities.isEmpty()
                    ? EnumSet.noneOf(Capability.class) : EnumSet.copyOf(capabilities));
            serverCapabilities = Collections.unmodifiableSet(new LinkedHashSet<>(serverCapabilities));
            details = Map.copyOf(details);
            Objects.requireNonNull(template, "template");
            Objects.requireNonNull(parameters, "parameters");
        }

        static ModelDescription from(String name, JsonNode show) {
            Set<String> server = new LinkedHashSet<>();
            show.path("capabilities").forEach(c -> server.add(c.asText().toLowerCase(Locale.ROOT)));
            EnumSet<Capability> caps = EnumSet.noneOf(Capability.class);
            // Servers before capabilities existed only served completion models.
            boolean completion = server.isEmpty() || server.contains("completion");
            if (completion) {
                caps.addAll(List.of(Capability.COMPLETION, Capability.CHAT, Capability.JSON_MODE,
                        Capability.JSON_SCHEMA, Capability.SEED));
            }
            if (server.contains("tools")) {
                caps.add(Capability.TOOLS);
            }
            if (server.contains("vision")) {
                caps.add(Capability.VISION);
            }
            if (server.contains("embedding")) {
                caps.add(Capability.EMBEDDINGS);
            }
            if (server.contains("thinking")) {
                caps.add(Capability.THINKING);
            }
            Map<String, String> details = new LinkedHashMap<>(OllamaClient.details(show.path("details")));
            JsonNode info = show.path("model_info");
            String arch = info.path("general.architecture").asText("");
            if (!arch.isEmpty()) {
                details.put("architecture", arch);
            }
            int ctx = info.path(arch + ".context_length").asInt(0);
            if (ctx <= 0) {
                Iterator<Map.Entry<String, JsonNode>> it = info.properties().iterator();
                while (it.hasNext() && ctx <= 0) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getKey().endsWith(".context_length")) {
                        ctx = e.getValue().asInt(0);
                    }
                }
            }
            long params = info.path("general.parameter_count").asLong(0);
            if (params > 0) {
                details.put("parameter_count", Long.toString(params));
            }
            String parameters = show.path("parameters").asText("");
            int numCtx = 0;
            for (String line : parameters.split("\n")) {
                String[] parts = line.strip().split("\\s+");
                if (parts.length == 2 && parts[0].equals("num_ctx")) {
                    try {
                        numCtx = Integer.parseInt(parts[1]);
                    } catch (NumberFormatException e) {
                        // ignore a malformed parameter
                    }
                }
            }
            return new ModelDescription(name, caps, server, Math.max(0, ctx), Math.max(0, numCtx), details,
                    show.path("template").asText(""), parameters);
        }
    }

    /**
     * Builds an {@link OllamaClient}.
     *
     * <p>A builder is not thread-safe.
     */
    public static final class Builder {
        private HttpUrl baseUrl;
        private final Headers.Builder headers = new Headers.Builder();
        private OkHttpClient httpClient;
        private HttpLimits.Builder limits = HttpLimits.builder();

        private Builder() {
        }

        /**
         * @param url the server: {@code host}, {@code host:port}, {@code http://host:port} or
         *            {@code https://host[/prefix]}, as {@code OLLAMA_HOST} takes it
         * @return this builder
         */
        public Builder baseUrl(String url) {
            Objects.requireNonNull(url, "url");
            this.baseUrl = ServerAddress.parseHost(url, "baseUrl");
            return this;
        }

        /**
         * @param name a header sent with every request, such as {@code X-Api-Key}
         * @param value its value
         * @return this builder
         */
        public Builder header(String name, String value) {
            headers.set(name, value);
            return this;
        }

        /**
         * @param token sent as {@code Authorization: Bearer <token>}
         * @return this builder
         */
        public Builder bearerToken(String token) {
            Objects.requireNonNull(token, "token");
            headers.set("Authorization", "Bearer " + token);
            return this;
        }

        /**
         * @param client the OkHttp client to use instead of the shared one
         * @return this builder
         */
        public Builder httpClient(OkHttpClient client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * @param limit time to open a connection; zero for none; default 10 s
         * @return this builder
         */
        public Builder connectTimeout(Duration limit) {
            limits.connect(limit);
            return this;
        }

        /**
         * @param limit time from sending a request to the first line of the answer (model load and prompt
         *              reading included); zero for none; default 5 min
         * @return this builder
         */
        public Builder firstTokenTimeout(Duration limit) {
            limits.firstByte(limit);
            return this;
        }

        /**
         * @param limit longest gap between two streamed lines; zero for none; default 2 min
         * @return this builder
         */
        public Builder idleTimeout(Duration limit) {
            limits.idle(limit);
            return this;
        }

        /**
         * @param limit longest whole call; zero for none (the default)
         * @return this builder
         */
        public Builder requestTimeout(Duration limit) {
            limits.request(limit);
            return this;
        }

        /** @return the client */
        public OllamaClient build() {
            HttpUrl url = baseUrl != null ? baseUrl : ServerAddress.parseHost(System.getenv("OLLAMA_HOST"), "OLLAMA_HOST");
            OkHttpClient client = httpClient != null ? httpClient : sharedHttpClient();
            return new OllamaClient(new OllamaHttp(url, headers.build(), client, limits.build()));
        }
    }
}
