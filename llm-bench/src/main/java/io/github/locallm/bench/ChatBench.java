package io.github.locallm.bench;

import io.github.locallm.ChatMessage;
import io.github.locallm.ChatSession;
import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Time to first token of every turn of a {@link ChatSession} on the llama.cpp backend, and, as the reference
 * that shows what prefix reuse saves, the same last-turn prompt sent cold after an unrelated request.
 */
final class ChatBench {
    private static final String SYSTEM = "You are a helpful assistant. Answer briefly and politely.";

    private ChatBench() {
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        Path model = Path.of(p.get("model"));
        int ctx = Integer.parseInt(p.getOrDefault("ctx", "2048"));
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        int turns = Integer.parseInt(p.getOrDefault("turns", "10"));
        int sessions = Integer.parseInt(p.getOrDefault("sessions", "2"));
        int reply = Integer.parseInt(p.getOrDefault("replyTokens", "16"));
        long budgetNs = Long.parseLong(p.getOrDefault("budgetMs", "600000")) * 1_000_000L;
        GenerationOptions options = GenerationOptions.builder().maxTokens(reply).temperature(0).build();

        long t0 = System.nanoTime();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("settings", "LocalLlm llamacpp (default engine): ctx " + ctx + ", threads " + threads + "; one unmeasured "
                + "warm-up session; " + turns + " turns of " + reply + " greedy tokens per session");
        try (LocalLlm llm = LocalLlm.open(model, OpenOptions.builder().backend("llamacpp").contextLength(ctx)
                .threads(threads).build())) {
            r.put("loadMs", (System.nanoTime() - t0) / 1e6);
            try (ChatSession warm = llm.newChatSession(SYSTEM, options)) {
                turn(warm, "Warm-up: " + Workload.chatMessage(0));
            }
            List<List<Double>> ttft = new ArrayList<>();
            List<List<Double>> promptTokens = new ArrayList<>();
            for (int t = 0; t < turns; t++) {
                ttft.add(new ArrayList<>());
                promptTokens.add(new ArrayList<>());
            }
            List<Double> cold = new ArrayList<>();
            long measureStart = System.nanoTime();
            int done = 0;
            for (int s = 0; s < sessions && (s == 0 || System.nanoTime() - measureStart < budgetNs); s++) {
                done++;
                List<ChatMessage> lastPrompt = null;
                try (ChatSession chat = llm.newChatSession(SYSTEM + " Session " + s + ".", options)) {
                    for (int t = 0; t < turns; t++) {
                        String message = Workload.chatMessage(t + 1);
                        if (t == turns - 1) {
                            lastPrompt = new ArrayList<>(chat.history());
                            lastPrompt.add(ChatMessage.user(message));
                        }
                        double[] m = turn(chat, message);
                        ttft.get(t).add(m[0]);
                        promptTokens.get(t).add(m[1]);
                    }
                }
                // Evict the session's prefix, then send its last prompt cold.
                llm.generate(Workload.prompt(64, 900 + s), GenerationOptions.builder().maxTokens(1).build());
                GenerationBench.TokenClock clock = new GenerationBench.TokenClock();
                long start = System.nanoTime();
                GenerationHandle h = llm.streamChat(lastPrompt, options, clock);
                h.completion().get(10, TimeUnit.MINUTES);
                long first = clock.first == 0 ? System.nanoTime() : clock.first;
                cold.add((first - start) / 1e6);
            }
            for (int t = 0; t < turns; t++) {
                r.put("ttftTurn" + (t + 1), Stats.median(ttft.get(t)));
                r.put("promptTokensTurn" + (t + 1), Stats.median(promptTokens.get(t)));
            }
            r.put("ttftLastCold", Stats.median(cold));
            r.put("sessions", (double) done);
        }
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    /** Sends one turn and returns its time to first token in ms and its prompt tokens. */
    private static double[] turn(ChatSession chat, String message) throws Exception {
        GenerationBench.TokenClock clock = new GenerationBench.TokenClock();
        long start = System.nanoTime();
        GenerationHandle h = chat.stream(message, clock);
        Completion c = h.completion().get(10, TimeUnit.MINUTES);
        long first = clock.first == 0 ? System.nanoTime() : clock.first;
        return new double[] {(first - start) / 1e6, c.usage().promptTokens()};
    }
}
