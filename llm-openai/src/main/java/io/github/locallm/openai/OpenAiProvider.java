package io.github.locallm.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.OpenOptions;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import io.github.locallm.http.HttpTransport;

/**
 * The OpenAI-compatible backend: opens a model served over the OpenAI HTTP API by llama.cpp's
 * {@code llama-server}, vLLM, LM Studio, LocalAI, Ollama's {@code /v1} or a gateway, for the spec scheme
 * {@code openai}.
 *
 * <p>Specs:
 * <ul>
 *   <li>{@code openai:http://host:8000/v1?model=NAME}: that server (a URL without a path gets {@code /v1});
 *       the model name may hold {@code /} and {@code :}; without {@code model} the server's only model
 *       is taken;</li>
 *   <li>{@code openai:NAME}: the server comes from the {@code base_url} setting, else
 *       {@code OPENAI_BASE_URL}.</li>
 * </ul>
 *
 * <p>Settings (in the spec's query or {@link OpenOptions}): {@code base_url} (several, comma-separated,
 * serve one model from replicas), {@code model}, {@code api_key} (else {@code OPENAI_API_KEY}; sent as a
 * bearer token, never shown), {@code header.NAME}, {@code ctx} (the context length when the server does
 * not say it), {@code server} ({@code auto}, {@code llama-server}, {@code vllm}, {@code ollama},
 * {@code lmstudio}, {@code generic}), {@code completions} ({@code auto}, {@code true}: raw prompts go to
 * {@code /v1/completions}; {@code false}: as one user message to the chat endpoint), {@code embeddings},
 * {@code vision}, {@code thinking} (capability overrides), the time limits {@code connect_timeout}
 * (default 10s), {@code first_token_timeout} (5m), {@code idle_timeout} (2m between events) and
 * {@code request_timeout} (none), the size limits {@code max_line_bytes} (1m) and {@code max_body_bytes}
 * (32m, decompressed), and for a cluster {@code max_concurrency} (32 calls of this model at once; more
 * wait), {@code max_retries} (2: a call refused with 429 or 503, or whose connection failed, is retried
 * before any token arrived, after the server's {@code Retry-After}), {@code retry_max_wait} (30s: a longer
 * {@code Retry-After} fails at once) and {@code health_interval} (10s: how often several servers are
 * checked).
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("openai:http://gpu-box:8000/v1?model=Qwen/Qwen2.5-7B-Instruct")) {
 *     System.out.println(llm.generate("Why is the sky blue?").text());
 * }
 * }</pre>
 *
 * <p>Per call, {@code GenerationOptions.backendOption("openai", key, value)} puts any field in the request
 * body (a value that parses as JSON is sent as JSON: {@code cache_prompt=true}, {@code n_probs=5},
 * {@code guided_choice=["a","b"]}); {@code stream=false} asks for one JSON answer instead of a stream.
 *
 * <p>Opening reads {@code /v1/models} and detects the server ({@code /props} and {@code /health} of
 * llama-server, {@code /version} of vLLM, {@code /api/version} of Ollama, {@code /api/v0/models} of LM
 * Studio) to fill {@link ModelInfo#details()}, the context length and the capabilities.
 *
 * <p>Thread-safe; instances hold no state.
 */
public final class OpenAiProvider implements LlmProvider {
    static final int FALLBACK_CONTEXT = io.github.locallm.spi.OptionValues.DEFAULT_CONTEXT_CAP;

    private final UnaryOperator<String> environment;

    /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
    public OpenAiProvider() {
        this(System::getenv);
    }

    OpenAiProvider(UnaryOperator<String> environment) {
        this.environment = environment;
    }

    @Override
    public String name() {
        return "openai";
    }

    @Override
    public Set<String> schemes() {
        return Set.of("openai");
    }

    @Override
    public Optional<String> artifact() {
        return Optional.of("io.github.locallm:llm-openai");
    }

    @Override
    public LlmBackend open(OpenRequest request) {
        Settings settings = Settings.read(request, environment);
        // the process's default client: one connection pool (idle connections bounded) for every model;
        // the calls in flight are bounded per model by max_concurrency
        OpenAiHttp http = new OpenAiHttp(settings, HttpTransport.defaultClient());
        try {
            return open(http, settings);
        } catch (RuntimeException e) {
            http.close();
            throw e;
        }
    }

    private LlmBackend open(OpenAiHttp http, Settings settings) {
        Duration probeLimit = settings.limits().firstByte().isZero()
                || settings.limits().firstByte().compareTo(Duration.ofSeconds(30)) > 0
                ? Duration.ofSeconds(30) : settings.limits().firstByte();
        Endpoints.Endpoint first = null;
        OpenAiHttp.Probe models = null;
        List<String> unreachable = new ArrayList<>();
        for (Endpoints.Endpoint ep : http.endpoints().all()) {
            OpenAiHttp.Probe p = http.probe(ep, "GET", "models", null, probeLimit);
            if (p.status() == 0) {
                http.endpoints().markDown(ep, p.failure().getMessage());
                unreachable.add(p.failure().getMessage());
                continue;
            }
            if (first == null) {
                first = ep;
                models = p;
            }
        }
        if (first == null) {
            throw new BackendUnavailableException(unreachable.size() == 1 ? unreachable.get(0)
                    : "None of the servers " + http.servers() + " could be reached: " + unreachable);
        }
        if (models.status() == 401 || models.status() == 403) {
            throw new LlmException("The server at " + first + " refused to list its models (HTTP " + models.status()
                    + "). Check the api_key setting or OPENAI_API_KEY.");
        }

        Map<String, String> details = new LinkedHashMap<>();
        List<JsonNode> served = new ArrayList<>();
        if (models.ok()) {
            for (JsonNode m : models.json().path("data")) {
                served.add(m);
            }
        }
        ServerKind kind = settings.server() != null ? settings.server() : detect(http, first, served, probeLimit, details);
        details.put("server", kind.id());
        details.put("base_url", http.servers());

        String model = settings.model();
        JsonNode entry = null;
        if (model == null) {
            if (served.size() != 1) {
                throw new IllegalArgumentException("Name a model with ?model=NAME: the server at " + first + " serves "
                        + (served.isEmpty() ? "no listed model" : served.size() + " models " + ids(served)) + ".");
            }
            entry = served.get(0);
            model = entry.path("id").asText();
        } else {
            entry = find(served, model);
            if (entry == null && !served.isEmpty() && !(kind == ServerKind.LLAMA_SERVER && served.size() == 1)) {
                // llama-server serves its one model under any name; others route by name
                throw new ModelNotFoundException("Model '" + model + "' is not served by " + first + "; it serves "
                        + ids(served) + ". Open one of those, or load the model on the server.");
            }
        }
        details.put("models", ids(served).toString());

        int ctx;
        String source;
        Integer fromServer = contextFromServer(kind, entry, details);
        if (settings.contextLength() != null) {
            ctx = settings.contextLength();
            source = "setting";
        } else if (fromServer != null && fromServer > 0) {
            ctx = fromServer;
            source = "server";
        } else {
            ctx = FALLBACK_CONTEXT;
            source = "default (the server does not say; set ctx)";
        }
        details.put("context_length_source", source);

        // llama-server, vLLM, Ollama and LM Studio have /v1/completions; another server is asked once
        boolean completions;
        String why;
        if (settings.completions() != null) {
            completions = settings.completions();
            why = "setting completions=false";
        } else if (kind != ServerKind.GENERIC) {
            completions = true;
            why = "";
        } else {
            ObjectNode ask = WireFormat.JSON.createObjectNode().put("model", model).put("prompt", "")
                    .put("max_tokens", 1).put("stream", false);
            OpenAiHttp.Probe p = http.probe(first, "POST", "completions", ask, probeLimit);
            completions = p.status() != 404 && p.status() != 405 && p.status() != 501;
            why = "the server answered HTTP " + p.status() + " to POST /v1/completions";
        }
        details.put("completions", completions ? "/v1/completions" : "chat fallback (" + why + "): a raw prompt is "
                + "sent as one user message");

        Set<Capability> caps = EnumSet.of(Capability.COMPLETION, Capability.CHAT, Capability.TOOLS,
                Capability.JSON_MODE, Capability.JSON_SCHEMA, Capability.SEED);
        if (kind != ServerKind.OLLAMA) {
            // Ollama's OpenAI-compatible endpoint takes tools but not tool_choice
            caps.add(Capability.TOOL_CHOICE);
        }
        if (settings.embeddings() == null || settings.embeddings()) {
            caps.add(Capability.EMBEDDINGS);
        }
        if (kind == ServerKind.LLAMA_SERVER || kind == ServerKind.VLLM) {
            caps.add(Capability.TOKENIZE);
        }
        boolean thinking = settings.thinking() != null ? settings.thinking()
                : kind == ServerKind.LLAMA_SERVER || kind == ServerKind.VLLM;
        if (thinking) {
            caps.add(Capability.THINKING);
        }
        boolean vision = settings.vision() != null ? settings.vision() : "true".equals(details.get("vision"));
        if (vision) {
            caps.add(Capability.VISION);
        }
        details.remove("vision");

        ModelInfo info = new ModelInfo(name(), model, ctx, caps, details);
        WireFormat.Target target = new WireFormat.Target(model, kind, settings.streamUsage());
        http.endpoints().startChecks(settings.healthInterval(), ep -> healthy(http, ep, kind, probeLimit));
        return new OpenAiBackend(http, target, info, completions);
    }

    private static boolean healthy(OpenAiHttp http, Endpoints.Endpoint ep, ServerKind kind, Duration limit) {
        OpenAiHttp.Probe p = kind == ServerKind.LLAMA_SERVER || kind == ServerKind.VLLM
                ? http.probe(ep, "GET", "/health", null, limit)
                : http.probe(ep, "GET", "models", null, limit);
        return p.status() >= 200 && p.status() < 300;
    }

    /** Asks the server's own endpoints what it is; fills the details it learns. */
    private static ServerKind detect(OpenAiHttp http, Endpoints.Endpoint ep, List<JsonNode> served, Duration limit,
                                     Map<String, String> details) {
        String owner = served.isEmpty() ? "" : served.get(0).path("owned_by").asText("");
        OpenAiHttp.Probe props = http.probe(ep, "GET", "/props", null, limit);
        if (props.ok() && (props.json().has("default_generation_settings") || props.json().has("total_slots"))) {
            JsonNode p = props.json();
            putIfText(details, "build_info", p.path("build_info"));
            putIfText(details, "model_path", p.path("model_path"));
            if (p.path("total_slots").canConvertToInt()) {
                details.put("total_slots", Integer.toString(p.path("total_slots").asInt()));
            }
            int nCtx = p.path("default_generation_settings").path("n_ctx").asInt(0);
            if (nCtx > 0) {
                details.put("n_ctx", Integer.toString(nCtx));
            }
            if (p.path("modalities").path("vision").asBoolean(false)) {
                details.put("vision", "true");
            }
            return ServerKind.LLAMA_SERVER;
        }
        OpenAiHttp.Probe version = http.probe(ep, "GET", "/version", null, limit);
        if (version.ok() && version.json().path("version").isTextual()) {
            details.put("server_version", version.json().path("version").asText());
            return ServerKind.VLLM;
        }
        OpenAiHttp.Probe ollama = http.probe(ep, "GET", "/api/version", null, limit);
        if (ollama.ok() && ollama.json().path("version").isTextual()) {
            details.put("server_version", ollama.json().path("version").asText());
            return ServerKind.OLLAMA;
        }
        if (owner.equals("organization_owner") || owner.equals("lmstudio")) {
            return ServerKind.LM_STUDIO;
        }
        OpenAiHttp.Probe lmstudio = http.probe(ep, "GET", "/api/v0/models", null, limit);
        if (lmstudio.ok() && lmstudio.json().path("data").isArray()) {
            for (JsonNode m : lmstudio.json().path("data")) {
                if (m.path("max_context_length").canConvertToInt()) {
                    details.put("lmstudio_context." + m.path("id").asText(), m.path("max_context_length").asText());
                }
            }
            return ServerKind.LM_STUDIO;
        }
        return ServerKind.GENERIC;
    }

    private static Integer contextFromServer(ServerKind kind, JsonNode entry, Map<String, String> details) {
        if (entry != null && entry.path("meta").path("n_ctx_train").canConvertToInt()) {
            // llama-server's trained length: a detail, not the window the server runs with
            details.put("n_ctx_train", entry.path("meta").path("n_ctx_train").asText());
        }
        if (details.containsKey("n_ctx")) {
            return Integer.parseInt(details.get("n_ctx"));
        }
        if (entry != null && entry.path("max_model_len").canConvertToInt()) {
            details.put("max_model_len", entry.path("max_model_len").asText());
            return entry.path("max_model_len").asInt();
        }
        if (entry != null) {
            String lm = details.get("lmstudio_context." + entry.path("id").asText());
            details.keySet().removeIf(k -> k.startsWith("lmstudio_context."));
            if (lm != null) {
                return Integer.parseInt(lm);
            }
        }
        details.keySet().removeIf(k -> k.startsWith("lmstudio_context."));
        return null;
    }

    private static void putIfText(Map<String, String> details, String key, JsonNode value) {
        if (value.isTextual() && !value.asText().isBlank()) {
            details.put(key, value.asText());
        }
    }

    private static JsonNode find(List<JsonNode> served, String model) {
        for (JsonNode m : served) {
            String id = m.path("id").asText();
            if (id.equals(model) || id.equals(model + ":latest") || (id + ":latest").equals(model)) {
                return m;
            }
        }
        return null;
    }

    private static List<String> ids(List<JsonNode> served) {
        List<String> ids = new ArrayList<>();
        for (JsonNode m : served) {
            ids.add(m.path("id").asText());
        }
        return ids;
    }

    @Override
    public String toString() {
        return "OpenAiProvider[openai]";
    }
}
