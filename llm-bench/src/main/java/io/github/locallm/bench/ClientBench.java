package io.github.locallm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import io.github.ollama4j.Ollama;
import io.github.ollama4j.models.chat.OllamaChatMessageRole;
import io.github.ollama4j.models.chat.OllamaChatRequest;
import io.github.ollama4j.models.chat.OllamaChatStreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;

/**
 * One HTTP client in one process against {@link PacedServer}: what each streamed token costs the client (CPU
 * time and Java heap of the whole process), how long a token takes from the server's write to the client's
 * handler, requests per second on paced answers, and the per-request setup measured apart on answers the
 * server sends at once. Every client streams a chat answer to the same one-message conversation.
 *
 * <p>Clients ({@code variant=}): {@code locallm-ollama}, {@code okhttp-ollama} (raw OkHttp and Jackson: the
 * least a client must do), {@code ollama4j}, {@code langchain4j-ollama} on the Ollama wire format;
 * {@code locallm-openai}, {@code okhttp-openai}, {@code langchain4j-openai}, {@code openai-java} on the
 * OpenAI-compatible one.
 */
final class ClientBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The clients in the order the report shows them, with the wire format each speaks. */
    static final List<String[]> CLIENTS = List.of(
            new String[] {"locallm-ollama", "LocalLlm ollama backend", "Ollama"},
            new String[] {"okhttp-ollama", "raw OkHttp + Jackson", "Ollama"},
            new String[] {"ollama4j", "ollama4j", "Ollama"},
            new String[] {"langchain4j-ollama", "LangChain4j Ollama", "Ollama"},
            new String[] {"locallm-openai", "LocalLlm openai backend", "OpenAI"},
            new String[] {"okhttp-openai", "raw OkHttp + Jackson (SSE)", "OpenAI"},
            new String[] {"langchain4j-openai", "LangChain4j OpenAI", "OpenAI"},
            new String[] {"openai-java", "openai-java", "OpenAI"});

    private ClientBench() {
    }

    /** Receives the non-empty pieces of text of one answer. */
    interface Sink {
        void piece(String text);
    }

    /** A client that streams one chat answer of the named model into a sink. */
    interface Client extends AutoCloseable {
        void stream(String model, Sink sink) throws Exception;

        @Override
        void close();
    }

    /** Records when each piece arrived; nothing else, so that the handler itself costs next to nothing. */
    static final class Recorder implements Sink {
        final long[] at;
        final String[] texts;
        int n;

        Recorder(int capacity) {
            at = new long[capacity];
            texts = new String[capacity];
        }

        @Override
        public void piece(String text) {
            if (n < at.length) {
                at[n] = System.nanoTime();
                texts[n] = text;
            }
            n++;
        }

        void reset() {
            n = 0;
        }

        /** Adds, for every token of a paced answer, its receive time minus the server's write time, in µs. */
        void latencies(List<Double> out) {
            for (int i = 0; i < Math.min(n, at.length); i++) {
                // A piece may hold several tokens if a client joins them: each carries its own write time.
                for (String part : texts[i].trim().split(" +")) {
                    if (!part.isEmpty()) {
                        out.add((at[i] - Long.parseLong(part)) / 1e3);
                    }
                }
            }
        }

        /** Returns the number of tokens received (a piece of several joined tokens counts each). */
        int tokens(boolean paced) {
            if (!paced) {
                return n;
            }
            int t = 0;
            for (int i = 0; i < Math.min(n, at.length); i++) {
                for (String part : texts[i].trim().split(" +")) {
                    if (!part.isEmpty()) {
                        t++;
                    }
                }
            }
            return t;
        }
    }

    static Client client(String variant, String base) {
        switch (variant) {
            case "locallm-ollama": return new Sdk(m -> "ollama:" + base + "/" + m);
            case "locallm-openai": return new Sdk(m -> "openai:" + base + "/v1?model=" + m + "&server=vllm&ctx=4096");
            case "okhttp-ollama": return new RawOkHttp(base, false);
            case "okhttp-openai": return new RawOkHttp(base, true);
            case "ollama4j": return new Ollama4jClient(base);
            case "langchain4j-ollama": return new LangChain4jClient(m -> OllamaStreamingChatModel.builder().baseUrl(base)
                    .modelName(m).timeout(Duration.ofMinutes(1)).build());
            case "langchain4j-openai": return new LangChain4jClient(m -> OpenAiStreamingChatModel.builder()
                    .baseUrl(base + "/v1").apiKey("bench").modelName(m).timeout(Duration.ofMinutes(1)).build());
            case "openai-java": return new OpenAiJava(base);
            default: throw new IllegalArgumentException("unknown client " + variant);
        }
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        String variant = p.get("variant");
        String base = "http://127.0.0.1:" + p.get("port");
        int pacedTokens = Integer.parseInt(p.getOrDefault("pacedTokens", "400"));
        long intervalUs = Long.parseLong(p.getOrDefault("intervalUs", "5000"));
        int pacedReps = Integer.parseInt(p.getOrDefault("pacedReps", "3"));
        int shortTokens = Integer.parseInt(p.getOrDefault("shortTokens", "16"));
        int windows = Integer.parseInt(p.getOrDefault("windows", "3"));
        long windowMs = Long.parseLong(p.getOrDefault("windowMs", "1000"));
        long warmupMs = Long.parseLong(p.getOrDefault("warmupMs", "3000"));
        String instantLong = "bench:t2000";
        String instantShort = "bench:t" + shortTokens;
        String pacedLong = "bench:t" + pacedTokens + "i" + intervalUs;
        String pacedShort = "bench:t" + shortTokens + "i" + intervalUs;

        Map<String, Object> r = new LinkedHashMap<>();
        r.put("variant", variant);
        r.put("cpuMethod", Probe.cpuMethod());
        r.put("heapMethod", Probe.heapMethod());
        Recorder rec = new Recorder(Math.max(2000, pacedTokens) + 16);
        try (Client client = client(variant, base)) {
            // Warm-up: class loading, JIT compilation, connection pools; none of it is counted.
            long until = System.nanoTime() + warmupMs * 1_000_000;
            int i = 0;
            while (System.nanoTime() < until) {
                boolean longAnswer = i++ % 10 == 0;
                once(client, longAnswer ? instantLong : instantShort, rec, longAnswer ? 2000 : shortTokens, false,
                        variant);
            }
            once(client, pacedShort, rec, shortTokens, true, variant);

            // Paced long answers: cost per token, and each token's time from the server's write to the handler.
            // The recorders exist before and are read after the measured block, which only stores into them.
            Recorder[] recs = new Recorder[pacedReps];
            for (int rep = 0; rep < pacedReps; rep++) {
                recs[rep] = new Recorder(pacedTokens + 16);
            }
            long a0 = Probe.heapAllocatedBytes();
            long j0 = Probe.javaThreadsCpuNanos();
            long c0 = Probe.processCpuNanosPrecise();
            long t0 = System.nanoTime();
            for (int rep = 0; rep < pacedReps; rep++) {
                once(client, pacedLong, recs[rep], pacedTokens, true, variant);
            }
            long t1 = System.nanoTime();
            long c1 = Probe.processCpuNanosPrecise();
            long j1 = Probe.javaThreadsCpuNanos();
            long a1 = Probe.heapAllocatedBytes();
            List<Double> latency = new ArrayList<>();
            for (Recorder done : recs) {
                done.latencies(latency);
            }
            double longCpu = (c1 - c0) / 1e3 / pacedReps;
            double longJavaCpu = (j1 - j0) / 1e3 / pacedReps;
            double longHeap = (double) (a1 - a0) / pacedReps;

            // Paced short answers: requests/s as a user sees them, and what a short request costs in all.
            List<Double> pacedRps = new ArrayList<>();
            double shortCpu = 0;
            double shortJavaCpu = 0;
            double shortHeap = 0;
            int shortRequests = 0;
            for (int w = 0; w < windows; w++) {
                Window win = window(windowMs, () -> once(client, pacedShort, rec, shortTokens, true, variant));
                pacedRps.add(win.requests() / win.seconds());
                shortCpu += win.processCpuNanos() / 1e3;
                shortJavaCpu += win.javaCpuNanos() / 1e3;
                shortHeap += win.heapBytes();
                shortRequests += win.requests();
            }
            shortCpu /= shortRequests;
            shortJavaCpu /= shortRequests;
            shortHeap /= shortRequests;

            // Instant short answers: the per-request setup of the client, with no waiting for tokens.
            List<Double> instantRps = new ArrayList<>();
            List<Double> instantCpu = new ArrayList<>();
            List<Double> instantHeap = new ArrayList<>();
            for (int w = 0; w < windows; w++) {
                Window win = window(windowMs, () -> once(client, instantShort, rec, shortTokens, false, variant));
                instantRps.add(win.requests() / win.seconds());
                instantCpu.add(win.processCpuNanos() / 1e3 / win.requests());
                instantHeap.add((double) win.heapBytes() / win.requests());
            }

            // The same tokens sent at once: the parsing cost alone, without a thread waking up for each token.
            long ba0 = Probe.heapAllocatedBytes();
            long bc0 = Probe.processCpuNanosPrecise();
            for (int rep = 0; rep < 3; rep++) {
                once(client, instantLong, rec, 2000, false, variant);
            }
            long bc1 = Probe.processCpuNanosPrecise();
            long ba1 = Probe.heapAllocatedBytes();
            double bulkCpu = (bc1 - bc0) / 1e3 / 3;
            double bulkHeap = (double) (ba1 - ba0) / 3;
            r.put("bulkCpuUsPerToken", (bulkCpu - Stats.median(instantCpu)) / (2000 - shortTokens));
            r.put("bulkAllocPerToken", (bulkHeap - Stats.median(instantHeap)) / (2000 - shortTokens));

            // The marginal cost of a token: a long paced answer minus a short one, over the tokens between them.
            int extra = pacedTokens - shortTokens;
            r.put("cpuUsPerToken", (longCpu - shortCpu) / extra);
            r.put("allocPerToken", (longHeap - shortHeap) / extra);
            r.put("javaCpuUsPerToken", (longJavaCpu - shortJavaCpu) / extra);
            r.put("cpuUsPerTokenGross", longCpu / pacedTokens);
            r.put("allocPerTokenGross", longHeap / pacedTokens);
            r.put("wallUsPerToken", (t1 - t0) / 1e3 / pacedReps / pacedTokens);
            r.put("latencyUsMedian", Stats.median(latency));
            r.put("latencyUsP90", percentile(latency, 0.90));
            r.put("latencyUsP99", percentile(latency, 0.99));
            r.put("latencyUsMax", percentile(latency, 1.0));
            r.put("latencyTokens", (double) latency.size());
            r.put("pacedRequestsPerSecond", Stats.median(pacedRps));
            r.put("pacedCpuUsPerRequest", shortCpu);
            r.put("pacedAllocPerRequest", shortHeap);
            r.put("requestsPerSecond", Stats.median(instantRps));
            r.put("setupUsPerRequest", 1e6 / Stats.median(instantRps));
            r.put("setupCpuUsPerRequest", Stats.median(instantCpu));
            r.put("allocPerRequest", Stats.median(instantHeap));
            r.put("rpsAll", instantRps);
        }
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    /** One request of a measuring window. */
    @FunctionalInterface
    private interface Call {
        void run() throws Exception;
    }

    /** What one window of back-to-back requests cost: counts, wall time, CPU and heap. */
    private record Window(int requests, double seconds, long processCpuNanos, long javaCpuNanos, long heapBytes) {
    }

    /** Sends requests one after the other for {@code windowMs} (at least one) and measures them together. */
    private static Window window(long windowMs, Call request) throws Exception {
        long heap0 = Probe.heapAllocatedBytes();
        long java0 = Probe.javaThreadsCpuNanos();
        long cpu0 = Probe.processCpuNanosPrecise();
        long start = System.nanoTime();
        long end = start + windowMs * 1_000_000;
        int requests = 0;
        long now;
        do {
            request.run();
            requests++;
            now = System.nanoTime();
        } while (now < end);
        return new Window(requests, (now - start) / 1e9, Probe.processCpuNanosPrecise() - cpu0,
                Probe.javaThreadsCpuNanos() - java0, Probe.heapAllocatedBytes() - heap0);
    }

    private static void once(Client client, String model, Recorder rec, int expected, boolean paced, String variant)
            throws Exception {
        rec.reset();
        client.stream(model, rec);
        // Counting pieces costs nothing; only a client that joined tokens into one piece is parsed here.
        int got = rec.n == expected ? rec.n : rec.tokens(paced);
        if (got != expected) {
            throw new IllegalStateException(variant + " received " + got + " tokens of " + model + ", the server sent "
                    + expected);
        }
    }

    static double percentile(List<Double> values, double q) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int i = (int) Math.ceil(q * v.length) - 1;
        return v[Math.max(0, Math.min(v.length - 1, i))];
    }

    /** The SDK through {@link LocalLlm#streamChat}, one open model per server model name. */
    static final class Sdk implements Client {
        private final Function<String, String> spec;
        private final Map<String, LocalLlm> open = new HashMap<>();
        private final List<ChatMessage> messages = List.of(ChatMessage.user("Hello"));
        private final GenerationOptions options = GenerationOptions.defaults();

        Sdk(Function<String, String> spec) {
            this.spec = spec;
        }

        @Override
        public void stream(String model, Sink sink) throws Exception {
            LocalLlm llm = open.computeIfAbsent(model, m -> LocalLlm.open(spec.apply(m)));
            llm.streamChat(messages, options, new StreamHandler() {
                @Override
                public void onToken(String text) {
                    if (!text.isEmpty()) {
                        sink.piece(text);
                    }
                }

                @Override
                public void onComplete(Completion completion) {
                }

                @Override
                public void onError(Throwable error) {
                }
            }).completion().get(1, TimeUnit.MINUTES);
        }

        @Override
        public void close() {
            open.values().forEach(LocalLlm::close);
        }
    }

    /** The baseline: OkHttp reading the lines and Jackson parsing each, the least a client must do. */
    static final class RawOkHttp implements Client {
        private static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");
        private final OkHttpClient http = new OkHttpClient.Builder().readTimeout(Duration.ofMinutes(1)).build();
        private final String base;
        private final boolean openAi;
        private final Map<String, Request> requests = new HashMap<>();

        RawOkHttp(String base, boolean openAi) {
            this.base = base;
            this.openAi = openAi;
        }

        private Request request(String model) {
            String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                    + "\"stream\":true}";
            return new Request.Builder().url(base + (openAi ? "/v1/chat/completions" : "/api/chat"))
                    .post(RequestBody.create(body, JSON_TYPE)).build();
        }

        @Override
        public void stream(String model, Sink sink) throws Exception {
            try (Response response = http.newCall(requests.computeIfAbsent(model, this::request)).execute()) {
                BufferedSource source = response.body().source();
                String line;
                while ((line = source.readUtf8Line()) != null) {
                    if (openAi) {
                        if (!line.startsWith("data:")) {
                            continue;
                        }
                        String data = line.substring(5).trim();
                        if (data.equals("[DONE]")) {
                            break;
                        }
                        JsonNode choices = JSON.readTree(data).path("choices");
                        if (choices.size() > 0) {
                            String content = choices.get(0).path("delta").path("content").asText("");
                            if (!content.isEmpty()) {
                                sink.piece(content);
                            }
                        }
                    } else {
                        if (line.isEmpty()) {
                            continue;
                        }
                        JsonNode node = JSON.readTree(line);
                        String content = node.path("message").path("content").asText("");
                        if (!content.isEmpty()) {
                            sink.piece(content);
                        }
                        if (node.path("done").asBoolean(false)) {
                            break;
                        }
                    }
                }
            }
        }

        @Override
        public void close() {
            http.dispatcher().executorService().shutdown();
            http.connectionPool().evictAll();
        }
    }

    /** {@code io.github.ollama4j:ollama4j} with its chat stream observer. */
    static final class Ollama4jClient implements Client {
        private final Ollama ollama;

        Ollama4jClient(String base) {
            ollama = new Ollama(base);
            ollama.setRequestTimeoutSeconds(60);
        }

        @Override
        public void stream(String model, Sink sink) throws Exception {
            OllamaChatRequest request = OllamaChatRequest.builder().withModel(model)
                    .withMessage(OllamaChatMessageRole.USER, "Hello").build();
            ollama.chat(request, new OllamaChatStreamObserver(thinking -> { }, token -> {
                if (token != null && !token.isEmpty()) {
                    sink.piece(token);
                }
            }));
        }

        @Override
        public void close() {
        }
    }

    /** A LangChain4j streaming chat model (its Ollama or its OpenAI module), one per server model name. */
    static final class LangChain4jClient implements Client {
        private final Function<String, StreamingChatModel> factory;
        private final Map<String, StreamingChatModel> models = new HashMap<>();

        LangChain4jClient(Function<String, StreamingChatModel> factory) {
            this.factory = factory;
        }

        @Override
        public void stream(String model, Sink sink) throws Exception {
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            models.computeIfAbsent(model, factory).chat("Hello", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partialResponse) {
                    if (partialResponse != null && !partialResponse.isEmpty()) {
                        sink.piece(partialResponse);
                    }
                }

                @Override
                public void onCompleteResponse(ChatResponse completeResponse) {
                    done.complete(completeResponse);
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            done.get(1, TimeUnit.MINUTES);
        }

        @Override
        public void close() {
        }
    }

    /** OpenAI's own Java library ({@code com.openai:openai-java}) on its OkHttp transport. */
    static final class OpenAiJava implements Client {
        private final OpenAIClient client;

        OpenAiJava(String base) {
            client = OpenAIOkHttpClient.builder().baseUrl(base + "/v1").apiKey("bench").build();
        }

        @Override
        public void stream(String model, Sink sink) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(model)
                    .addUserMessage("Hello").build();
            try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
                s.stream().forEach(chunk -> {
                    for (ChatCompletionChunk.Choice c : chunk.choices()) {
                        c.delta().content().ifPresent(text -> {
                            if (!text.isEmpty()) {
                                sink.piece(text);
                            }
                        });
                    }
                });
            }
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
