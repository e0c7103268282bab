package io.github.locallm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSource;

/**
 * One Ollama client in one process against {@link FastOllamaServer}: the cost of every streamed token (process
 * CPU time, wall time, Java heap allocated) on long answers, and requests per second on short ones. Every
 * client streams {@code /api/chat} with the same one-message conversation.
 */
final class OllamaClientBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OllamaClientBench() {
    }

    /** A client that streams one chat answer and returns the number of non-empty pieces it received. */
    interface Client extends AutoCloseable {
        int stream(boolean longAnswer) throws Exception;

        @Override
        void close();
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        String variant = p.get("variant");
        String base = "http://127.0.0.1:" + p.get("port");
        int longTokens = Integer.parseInt(p.getOrDefault("longTokens", "20000"));
        int shortTokens = Integer.parseInt(p.getOrDefault("shortTokens", "16"));
        int longReps = Integer.parseInt(p.getOrDefault("longReps", "5"));
        int windows = Integer.parseInt(p.getOrDefault("windows", "3"));
        long windowMs = Long.parseLong(p.getOrDefault("windowMs", "1000"));
        long warmupMs = Long.parseLong(p.getOrDefault("warmupMs", "3000"));
        String longModel = "bench:t" + longTokens;
        String shortModel = "bench:t" + shortTokens;

        Client client;
        switch (variant) {
            case "locallm": client = new SdkClient(base, longModel, shortModel); break;
            case "okhttp": client = new RawOkHttp(base, longModel, shortModel); break;
            case "ollama4j": client = new Ollama4jClient(base, longModel, shortModel); break;
            case "langchain4j": client = new LangChain4jClient(base, longModel, shortModel); break;
            default: throw new IllegalArgumentException("unknown variant " + variant);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("variant", variant);
        try (client) {
            long until = System.nanoTime() + warmupMs * 1_000_000;
            int i = 0;
            while (System.nanoTime() < until) {
                check(client.stream(i++ % 20 == 0), i % 20 == 1 ? longTokens : shortTokens, variant);
            }
            // Process CPU time ticks coarsely (10 ms), so the long answers are measured as one block.
            long a0 = Probe.allocatedBytes();
            long c0 = Probe.processCpuNanos();
            long t0 = System.nanoTime();
            long tokens = 0;
            for (int rep = 0; rep < longReps; rep++) {
                int n = client.stream(true);
                check(n, longTokens, variant);
                tokens += n;
            }
            long t1 = System.nanoTime();
            long c1 = Probe.processCpuNanos();
            long a1 = Probe.allocatedBytes();
            List<Double> rps = new ArrayList<>();
            List<Double> allocPerRequest = new ArrayList<>();
            for (int w = 0; w < windows; w++) {
                long wa0 = Probe.allocatedBytes();
                long start = System.nanoTime();
                long end = start + windowMs * 1_000_000;
                int requests = 0;
                long now;
                do {
                    check(client.stream(false), shortTokens, variant);
                    requests++;
                    now = System.nanoTime();
                } while (now < end);
                rps.add(requests / ((now - start) / 1e9));
                allocPerRequest.add((double) (Probe.allocatedBytes() - wa0) / requests);
            }
            r.put("cpuUsPerToken", (c1 - c0) / 1e3 / tokens);
            r.put("wallUsPerToken", (t1 - t0) / 1e3 / tokens);
            r.put("allocPerToken", (double) (a1 - a0) / tokens);
            r.put("requestsPerSecond", Stats.median(rps));
            r.put("allocPerRequest", Stats.median(allocPerRequest));
            r.put("rpsAll", rps);
        }
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    private static void check(int got, int expected, String variant) {
        if (got != expected) {
            throw new IllegalStateException(variant + " received " + got + " tokens, the server sent " + expected);
        }
    }

    /** The SDK's Ollama backend through {@link LocalLlm#streamChat}. */
    static final class SdkClient implements Client {
        private final LocalLlm longLlm;
        private final LocalLlm shortLlm;
        private final List<ChatMessage> messages = List.of(ChatMessage.user("Hello"));
        private final GenerationOptions options = GenerationOptions.defaults();

        SdkClient(String base, String longModel, String shortModel) {
            String spec = "ollama:" + base + "/";
            longLlm = LocalLlm.open(spec + longModel);
            shortLlm = LocalLlm.open(spec + shortModel);
        }

        @Override
        public int stream(boolean longAnswer) throws Exception {
            int[] count = new int[1];
            (longAnswer ? longLlm : shortLlm).streamChat(messages, options, new StreamHandler() {
                @Override
                public void onToken(String text) {
                    if (!text.isEmpty()) {
                        count[0]++;
                    }
                }

                @Override
                public void onComplete(Completion completion) {
                }

                @Override
                public void onError(Throwable error) {
                }
            }).completion().get(1, TimeUnit.MINUTES);
            return count[0];
        }

        @Override
        public void close() {
            longLlm.close();
            shortLlm.close();
        }
    }

    /** The baseline: OkHttp reading the NDJSON lines and Jackson parsing each, the least a client must do. */
    static final class RawOkHttp implements Client {
        private static final MediaType JSON_TYPE = MediaType.get("application/json; charset=utf-8");
        private final OkHttpClient http = new OkHttpClient.Builder().readTimeout(Duration.ofMinutes(1)).build();
        private final Request longRequest;
        private final Request shortRequest;

        RawOkHttp(String base, String longModel, String shortModel) {
            longRequest = request(base, longModel);
            shortRequest = request(base, shortModel);
        }

        private static Request request(String base, String model) {
            String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                    + "\"stream\":true}";
            return new Request.Builder().url(base + "/api/chat").post(RequestBody.create(body, JSON_TYPE)).build();
        }

        @Override
        public int stream(boolean longAnswer) throws Exception {
            int n = 0;
            StringBuilder text = new StringBuilder();
            try (Response response = http.newCall(longAnswer ? longRequest : shortRequest).execute()) {
                BufferedSource source = response.body().source();
                String line;
                while ((line = source.readUtf8Line()) != null) {
                    if (line.isEmpty()) {
                        continue;
                    }
                    JsonNode node = JSON.readTree(line);
                    String content = node.path("message").path("content").asText("");
                    if (!content.isEmpty()) {
                        text.append(content);
                        n++;
                    }
                    if (node.path("done").asBoolean(false)) {
                        break;
                    }
                }
            }
            return n;
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
        private final String longModel;
        private final String shortModel;

        Ollama4jClient(String base, String longModel, String shortModel) {
            ollama = new Ollama(base);
            ollama.setRequestTimeoutSeconds(60);
            this.longModel = longModel;
            this.shortModel = shortModel;
        }

        @Override
        public int stream(boolean longAnswer) throws Exception {
            int[] count = new int[1];
            OllamaChatRequest request = OllamaChatRequest.builder().withModel(longAnswer ? longModel : shortModel)
                    .withMessage(OllamaChatMessageRole.USER, "Hello").build();
            ollama.chat(request, new OllamaChatStreamObserver(thinking -> { }, token -> {
                if (token != null && !token.isEmpty()) {
                    count[0]++;
                }
            }));
            return count[0];
        }

        @Override
        public void close() {
        }
    }

    /** {@code dev.langchain4j:langchain4j-ollama}'s streaming chat model. */
    static final class LangChain4jClient implements Client {
        private final OllamaStreamingChatModel longModel;
        private final OllamaStreamingChatModel shortModel;

        LangChain4jClient(String base, String longModel, String shortModel) {
            this.longModel = OllamaStreamingChatModel.builder().baseUrl(base).modelName(longModel)
                    .timeout(Duration.ofMinutes(1)).build();
            this.shortModel = OllamaStreamingChatModel.builder().baseUrl(base).modelName(shortModel)
                    .timeout(Duration.ofMinutes(1)).build();
        }

        @Override
        public int stream(boolean longAnswer) throws Exception {
            int[] count = new int[1];
            CompletableFuture<ChatResponse> done = new CompletableFuture<>();
            (longAnswer ? longModel : shortModel).chat("Hello", new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String partialResponse) {
                    if (partialResponse != null && !partialResponse.isEmpty()) {
                        count[0]++;
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
            return count[0];
        }

        @Override
        public void close() {
        }
    }
}
