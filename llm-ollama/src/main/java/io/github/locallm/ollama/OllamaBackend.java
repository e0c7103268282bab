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
import io.github.locallm.ToolCall;
import io.github.locallm.UnsupportedCapabilityException;
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
        if (request.isChat()) {
            body = WireFormat.chatBody(settings, request.messages(), o, stream);
            path = "api/chat";
            op = new OllamaHttp.Op("chat", settings.model());
        } else {
            if (!o.tools().isEmpty()) {
                throw new UnsupportedCapabilityException("Ollama takes tools only in a chat; model " + settings.model()
                        + " was asked for a completion with tools. Use chat(...) with the same options.");
            }
            body = WireFormat.generateBody(settings, request.prompt(), o, stream);
            path = "api/generate";
            op = new OllamaHttp.Op("generate", settings.model());
        }
        Reader reader = new Reader(request.isChat(), sink);
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
        JsonNode root = http.call("POST", "api/embed", WireFormat.embedBody(settings, texts),
                new OllamaHttp.Op("embed", settings.model()));
        JsonNode vectors = root.path("embeddings");
        if (!vectors.isArray() || vectors.size() != texts.size()) {
            throw new LlmException("The Ollama server at " + http.server() + " returned "
                    + (vectors.isArray() ? vectors.size() : "no") + " embeddings for " + texts.size()
                    + " input(s) with model " + settings.model() + "; is it an embedding model?");
        }
        List<float[]> out = new ArrayList<>(texts.size());
        for (JsonNode v : vectors) {
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
    private static final class Reader implements OllamaHttp.LineHandler {
        private final boolean chat;
        private final TokenSink sink;
        final List<ToolCall> toolCalls = new ArrayList<>();
        int pieces;
        private JsonNode last;

        Reader(boolean chat, TokenSink sink) {
            this.chat = chat;
            this.sink = sink;
        }

        @Override
        public boolean onLine(JsonNode line) {
            JsonNode part = chat ? line.path("message") : line;
            String thinking = part.path("thinking").asText("");
            String content = part.path(chat ? "content" : "response").asText("");
            if (!thinking.isEmpty()) {
                sink.thinking(thinking);
            }
            if (!content.isEmpty()) {
                sink.token(content);
                pieces++;
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
                toolCalls.add(new ToolCall(call.path("id").asText(""), fn.path("name").asText(""), json));
            }
            if (line.path("done").asBoolean(false)) {
                last = line;
                return true;
            }
            return false;
        }

        BackendResult result() {
            String reason = last.path("done_reason").asText("");
            FinishReason finish = !toolCalls.isEmpty() ? FinishReason.TOOL_CALLS
                    : reason.equals("length") ? FinishReason.LENGTH : FinishReason.STOP;
            int prompt = last.path("prompt_eval_count").asInt(0);
            int completion = last.has("eval_count") ? last.path("eval_count").asInt(0) : pieces;
            return new BackendResult(finish, Math.max(0, prompt), Math.max(0, completion), toolCalls, timings(last));
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
}
