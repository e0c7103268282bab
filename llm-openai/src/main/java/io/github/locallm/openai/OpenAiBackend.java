package io.github.locallm.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.Timings;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.StopSequenceFilter;
import io.github.locallm.spi.TokenSink;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One model of an OpenAI-compatible server: generation over {@code /v1/chat/completions} and
 * {@code /v1/completions} (streamed or not), embeddings over {@code /v1/embeddings}, tokenization over the
 * server's own {@code /tokenize} and {@code /detokenize} where it has them.
 *
 * <p>Thread-safe: each call is an independent HTTP request.
 */
final class OpenAiBackend implements LlmBackend {
    private final OpenAiHttp http;
    private final WireFormat.Target target;
    private final ModelInfo info;
    private volatile boolean completions;
    private volatile boolean closed;

    OpenAiBackend(OpenAiHttp http, WireFormat.Target target, ModelInfo info, boolean completions) {
        this.http = http;
        this.target = target;
        this.info = info;
        this.completions = completions;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    private String model() {
        return target.model();
    }

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        ensureOpen();
        GenerationOptions o = request.options();
        Map<String, String> extra = o.backendOptions(WireFormat.NAMESPACE);
        boolean stream = !extra.containsKey(WireFormat.STREAM) || !extra.get(WireFormat.STREAM).strip().equals("false");
        if (!request.isChat() && !o.tools().isEmpty()) {
            throw new UnsupportedCapabilityException("The OpenAI API takes tools only in a chat; openai model "
                    + model() + " was asked for a completion with tools. Use chat(...) with the same options.",
                    Capability.TOOLS);
        }
        // a server that ignores max_tokens must not run on forever: the context length bounds any answer
        int cap = o.maxTokens().orElse(info.contextLength());
        if (request.isChat()) {
            ObjectNode body = WireFormat.chatBody(target, request.messages(), o, stream);
            return run("chat/completions", body, stream, true, new OpenAiHttp.Op("chat", model()), o, cap, sink, cancel);
        }
        if (completions) {
            ObjectNode body = WireFormat.completionBody(target, request.prompt(), o, stream);
            try {
                return run("completions", body, stream, false, new OpenAiHttp.Op("completion", model()), o, cap, sink,
                        cancel);
            } catch (BackendUnavailableException | UnsupportedCapabilityException e) {
                if (!(String.valueOf(e.getMessage()).contains("404") || e instanceof UnsupportedCapabilityException)) {
                    throw e;
                }
                // the server lost /v1/completions (a gateway in front changed): from now on a prompt goes as one
                // user message
                useChatForPrompts();
            }
        }
        ObjectNode body = WireFormat.chatBody(target, List.of(ChatMessage.user(request.prompt())), o, stream);
        return run("chat/completions", body, stream, true, new OpenAiHttp.Op("completion (as chat)", model()), o, cap,
                sink, cancel);
    }

    private void useChatForPrompts() {
        completions = false;
    }

    private BackendResult run(String path, ObjectNode body, boolean stream, boolean chat, OpenAiHttp.Op op,
                              GenerationOptions o, int cap, TokenSink sink, CancelSignal cancel) {
        Reader reader = new Reader(chat, sink, o.stop(), cap, http.settings().limits().maxLineBytes());
        OpenAiHttp.Outcome outcome = http.stream(path, body, stream, op, reader, cancel);
        if (outcome == OpenAiHttp.Outcome.CANCELLED) {
            reader.flushText();
            return new BackendResult(FinishReason.CANCELLED, reader.promptTokens(), reader.pieces, List.of(), null);
        }
        return reader.result(outcome == OpenAiHttp.Outcome.STOPPED, "call_" + Long.toHexString(System.nanoTime()) + "_");
    }

    @Override
    public List<float[]> embed(List<String> texts) {
        ensureOpen();
        if (!info.supports(Capability.EMBEDDINGS)) {
            throw new UnsupportedCapabilityException("openai model " + model() + " at " + http.servers()
                    + " is not set up for embeddings (setting embeddings=false); open an embedding model.",
                    Capability.EMBEDDINGS);
        }
        if (texts.isEmpty()) {
            return List.of();
        }
        JsonNode root = http.call("POST", "embeddings", WireFormat.embeddingsBody(model(), texts),
                new OpenAiHttp.Op("embeddings", model()));
        JsonNode data = root.path("data");
        if (!data.isArray() || data.size() != texts.size()) {
            throw new LlmException("The server at " + http.servers() + " returned "
                    + (data.isArray() ? data.size() : "no") + " embeddings for " + texts.size() + " input(s) with model "
                    + model() + "; is it an embedding model?");
        }
        float[][] out = new float[texts.size()][];
        for (int i = 0; i < data.size(); i++) {
            JsonNode item = data.get(i);
            int index = item.has("index") ? item.path("index").asInt(-1) : i;
            JsonNode v = item.path("embedding");
            if (index < 0 || index >= out.length || out[index] != null || !v.isArray() || v.isEmpty()) {
                throw new LlmException("The server at " + http.servers() + " returned a malformed embedding (index "
                        + index + ") for model " + model() + ".");
            }
            float[] f = new float[v.size()];
            for (int k = 0; k < f.length; k++) {
                JsonNode x = v.get(k);
                if (!x.isNumber()) {
                    throw new LlmException("The server at " + http.servers() + " returned a non-numeric embedding "
                            + "value for model " + model() + ": " + x);
                }
                f[k] = x.floatValue();
            }
            out[index] = f;
        }
        return List.of(out);
    }

    @Override
    public int[] tokenize(String text) {
        ensureOpen();
        requireTokenizer("tokenize");
        ObjectNode body = WireFormat.JSON.createObjectNode();
        if (target.server() == ServerKind.VLLM) {
            body.put("model", model()).put("prompt", text).put("add_special_tokens", false);
        } else {
            body.put("content", text).put("add_special", false);
        }
        JsonNode tokens = http.call("POST", "/tokenize", body, new OpenAiHttp.Op("tokenize", model())).path("tokens");
        if (!tokens.isArray()) {
            throw new LlmException("The server at " + http.servers() + " answered /tokenize without a tokens list.");
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            // llama-server answers {"id", "piece"} objects when asked for pieces
            JsonNode id = t.isObject() ? t.path("id") : t;
            if (!id.canConvertToInt()) {
                throw new LlmException("The server at " + http.servers() + " sent a token id that is not an integer: " + t);
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    @Override
    public String detokenize(int[] tokens) {
        ensureOpen();
        requireTokenizer("detokenize");
        ObjectNode body = WireFormat.JSON.createObjectNode();
        if (target.server() == ServerKind.VLLM) {
            body.put("model", model());
        }
        ArrayNode list = body.putArray("tokens");
        for (int t : tokens) {
            list.add(t);
        }
        JsonNode answer = http.call("POST", "/detokenize", body, new OpenAiHttp.Op("detokenize", model()));
        JsonNode text = target.server() == ServerKind.VLLM ? answer.path("prompt") : answer.path("content");
        if (!text.isTextual()) {
            throw new LlmException("The server at " + http.servers() + " answered /detokenize without text.");
        }
        return text.asText();
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        ensureOpen();
        requireTokenizer("count chat tokens");
        ObjectNode request = WireFormat.chatBody(target, messages, GenerationOptions.defaults(), false);
        JsonNode list = request.get("messages");
        OpenAiHttp.Op op = new OpenAiHttp.Op("count chat tokens", model());
        if (target.server() == ServerKind.VLLM) {
            ObjectNode body = WireFormat.JSON.createObjectNode().put("model", model());
            body.set("messages", list);
            body.put("add_generation_prompt", true);
            JsonNode count = http.call("POST", "/tokenize", body, op).path("count");
            if (!count.canConvertToInt()) {
                throw new LlmException("The server at " + http.servers() + " answered /tokenize without a count.");
            }
            return count.intValue();
        }
        // llama-server: the model's chat template, then its tokenizer
        ObjectNode body = WireFormat.JSON.createObjectNode();
        body.set("messages", list);
        JsonNode prompt = http.call("POST", "/apply-template", body, op).path("prompt");
        if (!prompt.isTextual()) {
            throw new UnsupportedCapabilityException("openai model " + model() + " at " + http.servers()
                    + " cannot count chat tokens: the server has no /apply-template.");
        }
        ObjectNode tokenize = WireFormat.JSON.createObjectNode().put("content", prompt.asText())
                .put("add_special", true).put("parse_special", true);
        JsonNode tokens = http.call("POST", "/tokenize", tokenize, op).path("tokens");
        if (!tokens.isArray()) {
            throw new LlmException("The server at " + http.servers() + " answered /tokenize without a tokens list.");
        }
        return tokens.size();
    }

    private void requireTokenizer(String what) {
        if (!info.supports(Capability.TOKENIZE)) {
            throw new UnsupportedCapabilityException("openai model " + model() + " at " + http.servers()
                    + " cannot " + what + ": the server (" + target.server().id() + ") has no tokenization endpoint.",
                    Capability.TOKENIZE);
        }
    }

    @Override
    public void close() {
        closed = true;
        http.close();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("openai model " + model() + " is closed");
        }
    }

    /**
     * Turns chunks (or a whole answer) into sink calls and a result: content through the stop-sequence
     * filter, reasoning text to {@link TokenSink#thinking}, tool-call deltas assembled, usage and timings
     * kept; stops reading once the client-side token cap is reached.
     */
    private static final class Reader implements OpenAiHttp.Answer {
        /** Log probabilities waiting for their text to be forwarded. */
        private record Pending(long end, List<TokenLogprob> entries) {
        }


        private final boolean chat;
        private final TokenSink sink;
        private final StopSequenceFilter filter;
        private final int cap;
        private final WireFormat.ToolCalls toolCalls;
        int pieces;
        private long received;
        private long forwarded;
        private final ArrayDeque<Pending> pendingLogprobs = new ArrayDeque<>();
        private String finish;
        private boolean stoppedBySequence;
        private boolean capped;
        private JsonNode usage;
        private JsonNode timings;

        Reader(boolean chat, TokenSink sink, List<String> stops, int cap, long maxToolChars) {
            this.chat = chat;
            this.sink = sink;
            // log probabilities follow the token call that forwarded their text, even when the stop filter
            // held that text back for a while; those of text the filter cut off are dropped with it
            this.filter = new StopSequenceFilter(stops, new TokenSink() {
                @Override
                public void token(String text) {
                    sink.token(text);
                    forwarded += text.length();
                    while (!pendingLogprobs.isEmpty() && pendingLogprobs.peekFirst().end() <= forwarded) {
                        sink.logprobs(pendingLogprobs.pollFirst().entries());
                    }
                }
            });
            this.cap = cap;
            this.toolCalls = new WireFormat.ToolCalls(maxToolChars);
        }

        @Override
        public boolean onChunk(JsonNode chunk) {
            keep(chunk);
            JsonNode choices = chunk.path("choices");
            for (JsonNode choice : choices) {
                if (choice.path("index").asInt(0) != 0) {
                    continue;
                }
                JsonNode delta = chat ? choice.path("delta") : choice;
                if (chat && delta.isMissingNode()) {
                    // some servers put a whole message in a chunk
                    delta = choice.path("message");
                }
                if (part(delta, chat ? "content" : "text", choice.get("logprobs"))) {
                    return true;
                }
                String reason = choice.path("finish_reason").asText("");
                if (!reason.isEmpty() && !reason.equals("null")) {
                    finish = reason;
                }
            }
            return false;
        }

        @Override
        public void onWhole(JsonNode body) {
            keep(body);
            for (JsonNode choice : body.path("choices")) {
                if (choice.path("index").asInt(0) != 0) {
                    continue;
                }
                JsonNode message = chat ? choice.path("message") : choice;
                if (chat && message.isMissingNode()) {
                    message = choice.path("delta");
                }
                part(message, chat ? "content" : "text", choice.get("logprobs"));
                String reason = choice.path("finish_reason").asText("");
                if (!reason.isEmpty() && !reason.equals("null")) {
                    finish = reason;
                }
            }
        }

        @Override
        public boolean finished() {
            return finish != null;
        }

        private void keep(JsonNode node) {
            if (node.path("usage").isObject()) {
                usage = node.get("usage");
            }
            if (node.path("timings").isObject()) {
                timings = node.get("timings");
            }
        }

        /** @return true when reading should stop */
        private boolean part(JsonNode part, String field, JsonNode logprobs) {
            if (stoppedBySequence || capped) {
                return true;
            }
            String reasoning = text(part, "reasoning_content");
            if (reasoning.isEmpty()) {
                reasoning = text(part, "reasoning");
            }
            if (!reasoning.isEmpty()) {
                sink.thinking(reasoning);
            }
            if (part.path("tool_calls").isArray()) {
                toolCalls.add(part.get("tool_calls"));
            }
            String content = text(part, field);
            if (!content.isEmpty()) {
                if (pieces >= cap) {
                    // the server sends more than was asked: the piece is dropped and the call closed
                    capped = true;
                    return true;
                }
                pieces++;
                received += content.length();
                List<TokenLogprob> entries = WireFormat.logprobs(logprobs);
                if (!entries.isEmpty()) {
                    pendingLogprobs.addLast(new Pending(received, entries));
                }
                if (filter.accept(content)) {
                    stoppedBySequence = true;
                    return true;
                }
            }
            return false;
        }

        private static String text(JsonNode node, String field) {
            JsonNode v = node.path(field);
            return v.isTextual() ? v.asText() : "";
        }

        void flushText() {
            if (!stoppedBySequence) {
                filter.flush();
            }
        }

        int promptTokens() {
            if (usage != null) {
                return Math.max(0, usage.path("prompt_tokens").asInt(0));
            }
            return timings == null ? 0 : Math.max(0, timings.path("prompt_n").asInt(0));
        }

        BackendResult result(boolean stoppedEarly, String idPrefix) {
            flushText();
            List<ToolCall> calls = toolCalls.isEmpty() ? List.of() : toolCalls.build(idPrefix);
            FinishReason reason;
            if (stoppedBySequence) {
                reason = FinishReason.STOP;
            } else if (capped) {
                reason = FinishReason.LENGTH;
            } else {
                reason = WireFormat.finish(finish, !calls.isEmpty());
            }
            int completion = pieces;
            if (!stoppedEarly && usage != null && usage.path("completion_tokens").canConvertToInt()) {
                completion = Math.max(0, usage.path("completion_tokens").asInt());
            } else if (!stoppedEarly && timings != null && timings.path("predicted_n").canConvertToInt()) {
                completion = Math.max(0, timings.path("predicted_n").asInt());
            }
            return new BackendResult(reason, promptTokens(), completion, new ArrayList<>(calls), serverTimings(),
                    finish == null ? "" : finish);
        }

        /** @return llama-server's timings (milliseconds), or null to let core measure */
        private Timings serverTimings() {
            if (timings == null || !timings.path("predicted_ms").isNumber()) {
                return null;
            }
            double promptMs = Math.max(0, timings.path("prompt_ms").asDouble(0));
            double predictedMs = Math.max(0, timings.path("predicted_ms").asDouble(0));
            double tps = Math.max(0, timings.path("predicted_per_second").asDouble(0));
            if (Double.isNaN(tps) || Double.isInfinite(tps)) {
                tps = 0;
            }
            return new Timings(Duration.ofNanos(Math.round(promptMs * 1e6)),
                    Duration.ofNanos(Math.round((promptMs + predictedMs) * 1e6)), tps);
        }
    }
}
