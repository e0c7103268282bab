package io.github.locallm.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.Timings;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.http.MalformedResponseException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OptionValues;
import io.github.locallm.spi.TokenSink;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One Ollama model: generation over {@code /api/generate} and {@code /api/chat}, embeddings over
 * {@code /api/embed}. Holds no connection of its own; calls share the client's pool.
 *
 * <p>Thread-safe: each call is an independent HTTP request.
 */
final class OllamaBackend implements LlmBackend {
    private final OllamaHttp http;
    private final WireFormat.ModelSettings settings;
    private final ModelInfo info;
    private volatile boolean closed;

    /**
     * Per-call options ({@code GenerationOptions.backendOption("ollama", key, value)}): the request fields
     * this backend sets, then Ollama's model options that {@code GenerationOptions} has no field for.
     */
    static final Set<String> CALL_OPTIONS = Set.of(WireFormat.KEEP_ALIVE, WireFormat.THINK, WireFormat.RAW,
            WireFormat.SYSTEM, WireFormat.SUFFIX, WireFormat.TEMPLATE, WireFormat.STREAM, WireFormat.OPTIONS,
            "num_keep", "typical_p", "repeat_last_n", "presence_penalty", "frequency_penalty", "penalize_newline",
            "mirostat", "mirostat_tau", "mirostat_eta", "tfs_z", "numa", "num_ctx", "num_batch", "num_gpu",
            "main_gpu", "use_mmap", "use_mlock", "num_thread", "low_vram", "vocab_only");

    OllamaBackend(OllamaHttp http, WireFormat.ModelSettings settings, ModelInfo info) {
        this.http = http;
        this.settings = settings;
        this.info = info;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        ensureOpen();
        GenerationOptions o = request.options();
        OptionValues b = OptionValues.backendOptions(o, "ollama", "Ollama model " + settings.model(), CALL_OPTIONS);
        boolean stream = b.bool(WireFormat.STREAM).orElse(true);
        b.bool(WireFormat.RAW);
        ObjectNode body;
        String path;
        OllamaHttp.Op op;
        if (o.toolChoice().map(ToolChoice::forcesCall).orElse(false) && !o.tools().isEmpty()) {
            throw new UnsupportedCapabilityException("Ollama's chat API has no tool choice: model " + settings.model()
                    + " cannot be made to call a tool (toolChoice " + o.toolChoice().get() + "). Use ToolChoice.AUTO,"
                    + " or an in-process backend (llamacpp, djl), which forces a call with a grammar.",
                    Capability.TOOL_CHOICE);
        }
        if (request.isChat()) {
            body = WireFormat.chatBody(settings, request.messages(), o, stream);
            path = "api/chat";
            op = new OllamaHttp.Op("a chat", settings.model());
        } else {
            if (!o.tools().isEmpty()) {
                throw new UnsupportedCapabilityException("Ollama takes tools only in a chat; model " + settings.model()
                        + " was asked for a completion with tools. Use chat(...) with the same options.");
            }
            body = WireFormat.generateBody(settings, request.prompt(), o, stream);
            path = "api/generate";
            op = new OllamaHttp.Op("a completion", settings.model());
        }
        Reader reader = new Reader(request.isChat(), sink, o, http.server());
        boolean done = http.stream(path, body, op, reader, cancel, stream);
        if (!done) {
            return new BackendResult(FinishReason.CANCELLED, 0, reader.pieces, reader.toolCalls, null);
        }
        return reader.result();
    }

    @Override
    public List<float[]> embed(List<String> texts) {
        ensureOpen();
        return embed(http, settings, texts);
    }

    static List<float[]> embed(OllamaHttp http, WireFormat.ModelSettings settings, List<String> texts) {
        if (texts.isEmpty()) {
            return List.of();
        }
        JsonNode root = http.call("POST", "api/embed", WireFormat.embedBody(settings, texts, settings.embedTruncate(),
                settings.embedDimensions()), new OllamaHttp.Op("embeddings", settings.model()));
        JsonNode vectors = root.path("embeddings");
        if (!vectors.isArray() || vectors.size() != texts.size()) {
            throw new LlmException("The Ollama server at " + http.server() + " returned "
                    + (vectors.isArray() ? vectors.size() : "no") + " embeddings for " + texts.size()
                    + " input(s) with model " + settings.model() + "; is it an embedding model?");
        }
        List<float[]> out = new ArrayList<>(texts.size());
        Integer dims = settings.embedDimensions();
        for (JsonNode v : vectors) {
            if (!v.isArray() || v.isEmpty()) {
                throw new MalformedResponseException("The Ollama server at " + http.server() + " returned an embedding"
                        + " that is not a non-empty array for model " + settings.model(), null);
            }
            if (dims != null && v.size() != dims) {
                throw new LlmException("The Ollama server at " + http.server() + " returned embeddings of " + v.size()
                        + " dimensions for model " + settings.model() + " where " + dims + " were asked for; the server"
                        + " or the model does not support the dimensions setting; update the server or leave the setting out.");
            }
            if (!out.isEmpty() && out.get(0).length != v.size()) {
                throw new MalformedResponseException("The Ollama server at " + http.server() + " returned embeddings"
                        + " of different lengths (" + out.get(0).length + " and " + v.size() + ") for model "
                        + settings.model(), null);
            }
            float[] f = new float[v.size()];
            for (int i = 0; i < f.length; i++) {
                JsonNode x = v.get(i);
                if (!x.isNumber()) {
                    throw new LlmException("The Ollama server at " + http.server() + " returned a non-numeric "
                            + "embedding value for model " + settings.model() + ": " + x);
                }
                f[i] = x.floatValue();
            }
            out.add(f);
        }
        return List.copyOf(out);
    }

    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("Ollama model " + settings.model() + " is closed");
        }
    }

    /** Turns the lines of a generate or chat answer into sink calls and a result. */
    static final class Reader implements OllamaHttp.LineHandler {
        private final boolean chat;
        private final TokenSink sink;
        private final int maxPieces;
        private final boolean wantLogprobs;
        private final String server;
        final List<ToolCall> toolCalls = new ArrayList<>();
        int pieces;
        private int thoughts;
        private boolean cut;
        private JsonNode last;

        /**
         * @param chat whether the lines are of {@code /api/chat}
         * @param sink receives the pieces
         * @param options the call's options: the token limit is enforced here whatever the server does (at
         *                most that many pieces of answer, and of reasoning), and logprobs are read when asked for
         * @param server the server, for messages
         */
        Reader(boolean chat, TokenSink sink, GenerationOptions options, String server) {
            this.chat = chat;
            this.sink = sink;
            this.maxPieces = options.maxTokens().orElse(0);
            this.wantLogprobs = options.logprobs().orElse(false);
            this.server = server;
        }

        @Override
        public OllamaHttp.Next onLine(JsonNode line) {
            JsonNode part = chat ? line.path("message") : line;
            String thinking = text(part, "thinking");
            String content = text(part, chat ? "content" : "response");
            if (!thinking.isEmpty()) {
                if (maxPieces > 0 && thoughts >= maxPieces) {
                    return enough();
                }
                sink.thinking(thinking);
                thoughts++;
            }
            if (!content.isEmpty()) {
                if (maxPieces > 0 && pieces >= maxPieces) {
                    // the server did not stop at num_predict: the piece is dropped and the call closed
                    return enough();
                }
                sink.token(content);
                pieces++;
                if (wantLogprobs) {
                    List<TokenLogprob> lp = logprobs(line.path("logprobs"), server);
                    if (!lp.isEmpty()) {
                        sink.logprobs(lp);
                    }
                }
            }
            for (JsonNode call : part.path("tool_calls")) {
                JsonNode fn = call.path("function");
                JsonNode args = fn.path("arguments");
                String json;
                if (args.isObject()) {
                    json = args.toString();
                } else if (args.isTextual() && args.asText().strip().startsWith("{")) {
                    json = WireFormat.parseObject(args.asText(), "tool call arguments").toString();
                } else {
                    json = "{}";
                }
                toolCalls.add(new ToolCall(text(call, "id"), text(fn, "name"), json));
            }
            if (line.path("done").asBoolean(false)) {
                last = line;
                return OllamaHttp.Next.DONE;
            }
            return OllamaHttp.Next.MORE;
        }

        private OllamaHttp.Next enough() {
            cut = true;
            return OllamaHttp.Next.ENOUGH;
        }

        private static String text(JsonNode n, String field) {
            JsonNode v = n.path(field);
            return v.isTextual() ? v.asText() : "";
        }

        BackendResult result() {
            if (cut) {
                return new BackendResult(toolCalls.isEmpty() ? FinishReason.LENGTH : FinishReason.TOOL_CALLS, 0,
                        pieces + thoughts, toolCalls, null, "");
            }
            String raw = text(last, "done_reason");
            if (raw.length() > MAX_REASON) {
                raw = raw.substring(0, MAX_REASON);
            }
            FinishReason finish = !toolCalls.isEmpty() ? FinishReason.TOOL_CALLS : finishReason(raw, server);
            int prompt = last.path("prompt_eval_count").asInt(0);
            int completion = last.has("eval_count") ? last.path("eval_count").asInt(0) : pieces + thoughts;
            if (maxPieces > 0 && completion > maxPieces && finish == FinishReason.STOP) {
                // one answer object (stream false) from a server that ignored num_predict
                finish = FinishReason.LENGTH;
            }
            return new BackendResult(finish, Math.max(0, prompt), Math.max(0, completion), toolCalls, timings(last), raw);
        }

        /** @return the server's timings from the final line (nanoseconds), or null to let core measure */
        private static Timings timings(JsonNode last) {
            long total = last.path("total_duration").asLong(0);
            if (total <= 0) {
                return null;
            }
            long beforeFirst = last.path("load_duration").asLong(0) + last.path("prompt_eval_duration").asLong(0);
            long evalCount = last.path("eval_count").asLong(0);
            long evalNanos = last.path("eval_duration").asLong(0);
            double tps = evalCount >= 2 && evalNanos > 0 ? evalCount * 1e9 / evalNanos : 0;
            return new Timings(Duration.ofNanos(Math.max(0, Math.min(beforeFirst, total))), Duration.ofNanos(total), tps);
        }
    }

    private static final int MAX_REASON = 64;
    private static final int MAX_REASONS_LOGGED = 32;
    private static final Set<String> LOGGED_REASONS = ConcurrentHashMap.newKeySet();
    private static final System.Logger LOG = System.getLogger(OllamaBackend.class.getName());

    /**
     * Maps Ollama's {@code done_reason}: {@code stop} (and the empty reason of older servers, and {@code load}
     * and {@code unload} of requests that only load or unload a model) end normally, {@code length} is LENGTH.
     * Any other reason is kept raw in the completion, reported as STOP, and logged once per reason.
     *
     * @param raw the reason as sent
     * @param server the server, for the log
     * @return the finish reason
     */
    static FinishReason finishReason(String raw, String server) {
        switch (raw) {
            case "length":
                return FinishReason.LENGTH;
            case "stop", "", "load", "unload":
                return FinishReason.STOP;
            default:
                if (LOGGED_REASONS.size() < MAX_REASONS_LOGGED && LOGGED_REASONS.add(raw)) {
                    LOG.log(System.Logger.Level.WARNING, "The Ollama server at " + server + " ended a generation with"
                            + " done_reason '" + raw + "', which this client does not know; reported as STOP, the raw"
                            + " reason is in Completion.rawFinishReason(). (Logged once per reason.)");
                }
                return FinishReason.STOP;
        }
    }

    /**
     * Reads the {@code logprobs} array of a line: {@code [{token, logprob, bytes, top_logprobs: [...]}]}.
     *
     * @param n the array (missing or null when none)
     * @param server the server, for messages
     * @return the entries
     */
    static List<TokenLogprob> logprobs(JsonNode n, String server) {
        if (n.isMissingNode() || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new MalformedResponseException("The Ollama server at " + server + " sent logprobs that are not an "
                    + "array: " + OllamaHttp.snippet(n.toString()), null);
        }
        List<TokenLogprob> out = new ArrayList<>(n.size());
        for (JsonNode e : n) {
            out.add(logprob(e, server, true));
        }
        return out;
    }

    private static TokenLogprob logprob(JsonNode e, String server, boolean withTop) {
        JsonNode lp = e.path("logprob");
        if (!e.isObject() || !e.path("token").isTextual() || !lp.isNumber() || !Double.isFinite(lp.doubleValue())) {
            throw new MalformedResponseException("The Ollama server at " + server + " sent a logprobs entry without a"
                    + " token text and a finite logprob: " + OllamaHttp.snippet(e.toString()), null);
        }
        List<Integer> bytes = new ArrayList<>();
        for (JsonNode b : e.path("bytes")) {
            if (!b.canConvertToInt() || b.asInt() < 0 || b.asInt() > 255) {
                throw new MalformedResponseException("The Ollama server at " + server + " sent a logprobs entry whose"
                        + " bytes are not in [0, 255]: " + OllamaHttp.snippet(e.toString()), null);
            }
            bytes.add(b.asInt());
        }
        List<TokenLogprob> top = new ArrayList<>();
        if (withTop) {
            for (JsonNode t : e.path("top_logprobs")) {
                top.add(logprob(t, server, false));
            }
        }
        return new TokenLogprob(e.path("token").asText(), lp.doubleValue(), bytes, top);
    }
}
