package io.github.locallm.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.Timings;
import io.github.locallm.TokenLogprob;
import io.github.locallm.Usage;
import io.github.locallm.http.ClientSettings;
import io.github.locallm.http.Deadline;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.TokenSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import okhttp3.MediaType;
import okhttp3.RequestBody;
import okio.Buffer;
import okio.BufferedSink;
import okio.HashingSink;
import okio.Okio;
import okio.Source;
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
 * <p>Clients and models share one immutable default {@link OkHttpClient} (one connection pool) unless
 * configured otherwise, per client or per open call, never process-wide: {@link Builder#proxy},
 * {@link Builder#caFile} (the settings {@code proxy} and {@code ca_file} of an open call), or
 * {@link Builder#httpClient(OkHttpClient)} for any other OkHttp setup ({@link OllamaProvider#OllamaProvider(OkHttpClient)}
 * for the models a provider opens). The limits of this backend
 * ({@link HttpLimits}) replace the OkHttp client's own timeouts and redirect policy; everything else of
 * it is kept. Redirects are followed only within the server's origin, so neither a prompt nor a
 * credential header ever goes to another host. Every answer is bounded: token limit enforced by the
 * client, line, body and stream sizes, first-token, idle and whole-request time, minimum transfer rate;
 * passing one ends the call with a {@link io.github.locallm.http.LimitExceededException} naming it. Text
 * that is not UTF-8 is an error ({@link io.github.locallm.http.MalformedResponseException}), never
 * replaced.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class OllamaClient {
    private final OllamaHttp http;

    private OllamaClient(OllamaHttp http) {
        this.http = http;
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
        return ModelDescription.from(model, http.call("POST", "api/show", body, new OllamaHttp.Op("reading the details", model)));
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
     * later) and the exception reaches the caller. There is no whole-request limit; the idle limit between
     * progress lines is at least the first-token limit (default 10 min), for the minutes a server may spend
     * verifying a large model ({@link HttpLimits#forTransfers()}).
     *
     * @param model the model name
     * @param progress receives the progress lines in order, on the calling thread
     * @throws ModelNotFoundException when the registry has no such model
     */
    public void pull(String model, Consumer<PullProgress> progress) {
        requireName(model, "model");
        Objects.requireNonNull(progress, "progress");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("model", model).put("stream", true);
        OllamaHttp.Op op = new OllamaHttp.Op("downloading", model);
        http.forTransfers().stream("api/pull", body, op, progressLines(progress), null, true);
    }

    private static OllamaHttp.LineHandler progressLines(Consumer<PullProgress> progress) {
        return line -> {
            PullProgress p = new PullProgress(line.path("status").asText(""), line.path("digest").asText(""),
                    Math.max(0, line.path("total").asLong(0)), Math.max(0, line.path("completed").asLong(0)));
            progress.accept(p);
            return p.isSuccess() ? OllamaHttp.Next.DONE : OllamaHttp.Next.MORE;
        };
    }

    /**
     * Uploads a model to a registry ({@code POST /api/push}), reporting each progress line; the model name
     * carries the namespace, such as {@code myname/mymodel:latest}, and the server needs a key registered with
     * the registry. A progress callback that throws stops the push.
     *
     * @param model the model name, with its namespace
     * @param insecure whether the server may use an insecure connection to the registry (development only)
     * @param progress receives the progress lines ({@code retrieving manifest}, {@code starting upload},
     *                 {@code pushing manifest}, {@code success}) in order, on the calling thread
     * @throws ModelNotFoundException when the server does not have the model
     */
    public void push(String model, boolean insecure, Consumer<PullProgress> progress) {
        requireName(model, "model");
        Objects.requireNonNull(progress, "progress");
        ObjectNode body = OllamaHttp.JSON.createObjectNode().put("model", model).put("stream", true);
        if (insecure) {
            body.put("insecure", true);
        }
        http.forTransfers().stream("api/push", body, new OllamaHttp.Op("uploading", model), progressLines(progress), null, true);
    }

    /**
     * @param digest a blob digest, {@code sha256:} and 64 hex digits
     * @return whether the server has the blob ({@code HEAD /api/blobs/:digest})
     */
    public boolean blobExists(String digest) {
        checkDigest(digest);
        int code = http.status(http.request("HEAD", "api/blobs/" + digest, null),
                new OllamaHttp.Op("checking blob " + digest, null), true);
        return code / 100 == 2;
    }

    /**
     * Uploads a file as a blob ({@code POST /api/blobs/:digest}), so that {@link #create} can name it. The file
     * is streamed, never held in memory; its digest is computed first (one read of the file).
     *
     * @param file the file, such as a GGUF model or adapter
     * @return the blob's digest, {@code sha256:...}
     * @throws java.io.UncheckedIOException when the file cannot be read
     * @throws io.github.locallm.LlmException when the server refuses it (a digest mismatch means the file changed
     *                                        while it was read)
     */
    public String pushBlob(Path file) {
        String digest = digest(file);
        pushBlob(file, digest);
        return digest;
    }

    private void pushBlob(Path file, String digest) {
        AtomicReference<Deadline> deadline = new AtomicReference<>();
        RequestBody body = new RequestBody() {
            @Override
            public MediaType contentType() {
                return MediaType.get("application/octet-stream");
            }

            @Override
            public long contentLength() throws IOException {
                return Files.size(file);
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                try (Source in = Okio.source(file)) {
                    Buffer chunk = new Buffer();
                    for (long n; (n = in.read(chunk, 64 * 1024)) > 0; ) {
                        sink.write(chunk, n);
                        Deadline d = deadline.get();
                        if (d != null) {
                            // an upload in progress is activity: the idle limit ends only a stalled one
                            d.bytes(n);
                            d.activity();
                        }
                    }
                }
            }
        };
        http.forTransfers().upload(http.request("POST", "api/blobs/" + digest, body),
                new OllamaHttp.Op("uploading " + file.getFileName() + " as blob " + digest, null), deadline::set);
    }

    /**
     * Creates a model from a GGUF file ({@code POST /api/create}): uploads the file as a blob unless the server
     * has it already, then creates the model from it, with the other fields of the definition (system prompt,
     * template, parameters) if given.
     *
     * @param model the new model's name
     * @param gguf the GGUF file
     * @param definition other fields, or {@code null}; its {@code from} and files are ignored
     * @param progress receives the status lines of the creation, in order
     */
    public void createFromGguf(String model, Path gguf, ModelDefinition definition, Consumer<PullProgress> progress) {
        requireName(model, "model");
        Objects.requireNonNull(gguf, "gguf");
        String name = gguf.getFileName().toString();
        String digest = digest(gguf);
        if (!blobExists(digest)) {
            pushBlob(gguf, digest);
        }
        ModelDefinition.Builder b = definition == null ? ModelDefinition.builder() : definition.toBuilder();
        create(model, b.from(null).clearFiles().file(name, digest).build(), progress);
    }

    /**
     * Creates a model ({@code POST /api/create}) from another model or from uploaded blobs, as the definition
     * says, reporting the server's status lines.
     *
     * <pre>{@code
     * ollama.create("pirate", ModelDefinition.builder().from("llama3.2")
     *         .system("You are a pirate.").parameter("temperature", 0.9).build(), p -> {});
     * }</pre>
     *
     * @param model the new model's name
     * @param definition what it is made of
     * @param progress receives the status lines in order, on the calling thread
     * @throws ModelNotFoundException when the base model does not exist
     */
    public void create(String model, ModelDefinition definition, Consumer<PullProgress> progress) {
        requireName(model, "model");
        Objects.requireNonNull(definition, "definition");
        Objects.requireNonNull(progress, "progress");
        ObjectNode body = definition.toJson(model);
        body.put("stream", true);
        http.forTransfers().stream("api/create", body, new OllamaHttp.Op("creating a model", definition.from().orElse(model)),
                progressLines(progress), null, true);
    }

    static void checkDigest(String digest) {
        Objects.requireNonNull(digest, "digest");
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new IllegalArgumentException("blob digest must be 'sha256:' and 64 lowercase hex digits: '"
                    + ServerAddress.shorten(digest) + "'");
        }
    }

    static String digest(Path file) {
        Objects.requireNonNull(file, "file");
        try (Source in = Okio.source(file); HashingSink hash = HashingSink.sha256(Okio.blackhole());
             BufferedSink sink = Okio.buffer(hash)) {
            sink.writeAll(in);
            sink.flush();
            return "sha256:" + hash.hash().hex();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " to upload it: " + e.getMessage(), e);
        }
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
        http.call("DELETE", "api/delete", body, new OllamaHttp.Op("deleting", model));
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
        http.call("POST", "api/copy", body, new OllamaHttp.Op("copying to " + destination, source));
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
        return embed(model, texts, null, null);
    }

    /**
     * Computes embeddings ({@code POST /api/embed}) with Ollama's {@code truncate} and {@code dimensions}.
     *
     * @param model an embedding model
     * @param texts the texts
     * @param truncate false to get an error instead of a silently cut input when a text is longer than the
     *                 model's context ({@link io.github.locallm.ContextOverflowException}); {@code null} for the
     *                 server's default (true)
     * @param dimensions the length of the vectors, for models trained to be cut (Matryoshka); {@code null} for
     *                   the model's full length
     * @return one vector per text, in order
     */
    public List<float[]> embed(String model, List<String> texts, Boolean truncate, Integer dimensions) {
        requireName(model, "model");
        Objects.requireNonNull(texts, "texts");
        if (dimensions != null && dimensions < 1) {
            throw new IllegalArgumentException("dimensions must be >= 1: " + dimensions);
        }
        return OllamaBackend.embed(http, new WireFormat.ModelSettings(model, null, null, null, null, truncate, dimensions),
                texts);
    }

    /**
     * Generates from a prompt and images with a vision model ({@code POST /api/generate} with {@code images}),
     * applying the model's prompt template unless the backend option {@code ollama.raw} is true. The same
     * options apply as for {@code LocalLlm.generate}, including the client-side token limit.
     *
     * @param model a vision model, such as {@code llava} or {@code gemma3}
     * @param prompt the prompt
     * @param imagesBase64 the images, base64-encoded (PNG or JPEG)
     * @param options generation options
     * @return the completion
     */
    public Completion generate(String model, String prompt, List<String> imagesBase64, GenerationOptions options) {
        requireName(model, "model");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        List<String> images = List.copyOf(imagesBase64);
        for (String image : images) {
            if (image.isEmpty() || !image.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128
                    || c == '+' || c == '/' || c == '=')) {
                throw new IllegalArgumentException("images must be base64 text (A-Z, a-z, 0-9, +, /, =)");
            }
        }
        long started = System.nanoTime();
        StringBuilder text = new StringBuilder();
        StringBuilder thinking = new StringBuilder();
        List<TokenLogprob> logprobs = new ArrayList<>();
        OllamaBackend.Reader reader = new OllamaBackend.Reader(false, new TokenSink() {
            @Override
            public void token(String t) {
                text.append(t);
            }

            @Override
            public void thinking(String t) {
                thinking.append(t);
            }

            @Override
            public void logprobs(List<TokenLogprob> entries) {
                logprobs.addAll(entries);
            }
        }, options, http.server());
        ObjectNode body = WireFormat.generateBody(WireFormat.ModelSettings.of(model), prompt, options, true);
        if (!images.isEmpty()) {
            ArrayNode a = body.putArray("images");
            images.forEach(a::add);
        }
        http.stream("api/generate", body, new OllamaHttp.Op("a completion", model), reader, null, true);
        BackendResult r = reader.result();
        Duration total = Duration.ofNanos(System.nanoTime() - started);
        Timings timings = r.backendTimings().orElse(new Timings(total, total, 0));
        return new Completion(text.toString(), thinking.toString(), r.finishReason(),
                new Usage(r.promptTokens(), r.completionTokens()), timings, r.toolCalls(), logprobs, r.rawFinishReason());
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
        ServerAddress.checkModelName(name, what + " name");
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
            if (completion && server.contains("insert")) {
                // the server's word for fill-in-the-middle: /api/generate takes a suffix
                caps.add(Capability.FILL_IN_MIDDLE);
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
        private String proxy;
        private Path caFile;
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
         * @param url the proxy: {@code http://[user:password@]host:port} or {@code socks5://host:port};
         *            {@code direct} for none (by default the JVM's proxy selector decides)
         * @return this builder
         */
        public Builder proxy(String url) {
            this.proxy = Objects.requireNonNull(url, "url");
            return this;
        }

        /**
         * @param pem a PEM file of certificates to trust beside the system's (a company CA, a self-signed server)
         * @return this builder
         */
        public Builder caFile(Path pem) {
            this.caFile = Objects.requireNonNull(pem, "pem");
            return this;
        }

        /**
         * @param all every limit at once (sizes and rate included)
         * @return this builder
         */
        public Builder limits(HttpLimits all) {
            this.limits = Objects.requireNonNull(all, "all").toBuilder();
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
         *              reading included); zero for none; default 10 min
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
         * @param limit longest whole call; zero for none; default 60 min (pull, push, create and uploads have none)
         * @return this builder
         */
        public Builder requestTimeout(Duration limit) {
            limits.request(limit);
            return this;
        }

        /** @return the client */
        public OllamaClient build() {
            HttpUrl url = baseUrl != null ? baseUrl : ServerAddress.parseHost(System.getenv("OLLAMA_HOST"), "OLLAMA_HOST");
            OkHttpClient client = ClientSettings.configure(httpClient, proxy, caFile, "OllamaClient");
            return new OllamaClient(new OllamaHttp(url, headers.build(), client, limits.build()));
        }
    }
}
