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
 * Time to first token of every turn of a {@link ChatSession} on the llama.cpp backend, as a user of the session
 * feels it (from {@link ChatSession#stream} to the first piece of text), with two references on the last turn's
 * prompt: the same prompt sent again at once (everything but its last token is in the KV cache: the fixed cost of
 * a request at that history length) and sent cold (after an unrelated request evicted the prefix: what turn 10
 * would cost if no prefix were reused).
 *
 * <p>Turn 1 of every measured session is cold: just before it, an unrelated plain prompt (no chat template,
 * its own first token) replaced the KV cache, so turn 1 reuses nothing but what every conversation shares (at
 * most the beginning-of-text token) and evaluates its whole prompt, as the first turn of a new conversation
 * does. The process itself is warm: one unmeasured session ran first. Each measured session's turn-10 / turn-1
 * ratio pairs two turns of the same conversation, seconds apart.
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
        int child = Integer.parseInt(p.getOrDefault("round", "0"));
        long budgetNs = Long.parseLong(p.getOrDefault("budgetMs", "600000")) * 1_000_000L;
        GenerationOptions options = GenerationOptions.builder().maxTokens(reply).temperature(0).build();

        long t0 = System.nanoTime();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("settings", "LocalLlm llamacpp (default engine): ctx " + ctx + ", threads " + threads
                + "; one unmeasured warm-up session, then up to " + sessions + " measured sessions of " + turns + " turns of " + reply
                + " greedy tokens, each after an unrelated plain prompt that evicts the KV cache (turn 1 cold)");
        try (LocalLlm llm = LocalLlm.open(model, OpenOptions.builder().backend("llamacpp").contextLength(ctx)
                .threads(threads).build())) {
            r.put("loadMs", (System.nanoTime() - t0) / 1e6);
            try (ChatSession warm = llm.newChatSession(SYSTEM, options)) {
                for (int t = 0; t < Math.min(3, turns); t++) {
                    turn(warm, "Warm-up: " + Workload.chatMessage(t));
                }
            }
            List<List<Double>> ttft = new ArrayList<>();
            List<List<Double>> promptTokens = new ArrayList<>();
            List<List<Double>> newTokens = new ArrayList<>();
            for (int t = 0; t < turns; t++) {
                ttft.add(new ArrayList<>());
                promptTokens.add(new ArrayList<>());
                newTokens.add(new ArrayList<>());
            }
            List<Double> ratios = new ArrayList<>();
            List<Double> cold = new ArrayList<>();
            List<Double> again = new ArrayList<>();
            List<Double> counting = new ArrayList<>();
            long measureStart = System.nanoTime();
            int done = 0;
            for (int s = 0; s < sessions && (s == 0 || System.nanoTime() - measureStart < budgetNs); s++) {
                done++;
                int seed = 900 + child * 100 + s * 2;
                evict(llm, seed);
                List<ChatMessage> lastPrompt = null;
                double before = 0;
                try (ChatSession chat = llm.newChatSession(SYSTEM + " Session " + child + "." + s + ".", options)) {
                    for (int t = 0; t < turns; t++) {
                        String message = Workload.chatMessage(t + 1);
                        if (t == turns - 1) {
                            lastPrompt = new ArrayList<>(chat.history());
                            lastPrompt.add(ChatMessage.user(message));
                        }
                        double[] m = turn(chat, message);
                        ttft.get(t).add(m[0]);
                        promptTokens.get(t).add(m[1]);
                        // The tokens a perfect prefix reuse leaves to evaluate: this prompt minus the last one and
                        // its reply (the reply's tokens were decoded while it was generated).
                        newTokens.get(t).add(t == 0 ? m[1] : m[1] - before);
                        before = m[1] + m[2];
                    }
                    long c0 = System.nanoTime();
                    chat.countTokens(lastPrompt);
                    counting.add((System.nanoTime() - c0) / 1e6);
                }
                int last = ttft.get(0).size() - 1;
                ratios.add(ttft.get(turns - 1).get(last) / ttft.get(0).get(last));
                // The same last prompt at once: the cache holds it, so only its last token is evaluated again.
                again.add(send(llm, lastPrompt, options));
                // Evict the session's prefix, then send its last prompt cold.
                evict(llm, seed + 1);
                cold.add(send(llm, lastPrompt, options));
            }
            for (int t = 0; t < turns; t++) {
                r.put("ttftTurn" + (t + 1), Stats.median(ttft.get(t)));
                r.put("promptTokensTurn" + (t + 1), Stats.median(promptTokens.get(t)));
                r.put("newTokensTurn" + (t + 1), Stats.median(newTokens.get(t)));
            }
            r.put("lastOverFirst", Stats.median(ratios));
            r.put("lastOverFirstAll", ratios);
            r.put("ttftTurn1All", ttft.get(0));
            r.put("ttftLastAll", ttft.get(turns - 1));
            r.put("ttftLastAgain", Stats.median(again));
            r.put("ttftLastCold", Stats.median(cold));
            r.put("countTokensLastMs", Stats.median(counting));
            r.put("sessions", (double) done);
            r.put("reps", (double) done);
        }
        r.put("peakRss", (double) Probe.peakRssBytes());
        return r;
    }

    /** Replaces the KV cache with an unrelated plain prompt whose first token no chat prompt starts with. */
    private static void evict(LocalLlm llm, int seed) {
        llm.generate(Workload.prompt(64, seed), GenerationOptions.builder().maxTokens(1).build());
    }

    /** Sends a whole conversation through {@link LocalLlm#streamChat} and returns its time to first token in ms. */
    private static double send(LocalLlm llm, List<ChatMessage> prompt, GenerationOptions options) throws Exception {
        GenerationBench.TokenClock clock = new GenerationBench.TokenClock();
        long start = System.nanoTime();
        GenerationHandle h = llm.streamChat(prompt, options, clock);
        h.completion().get(10, TimeUnit.MINUTES);
        long first = clock.first == 0 ? System.nanoTime() : clock.first;
        return (first - start) / 1e6;
    }

    /** Sends one turn and returns its time to first token in ms, its prompt tokens and its reply tokens. */
    private static double[] turn(ChatSession chat, String message) throws Exception {
        GenerationBench.TokenClock clock = new GenerationBench.TokenClock();
        long start = System.nanoTime();
        GenerationHandle h = chat.stream(message, clock);
        Completion c = h.completion().get(10, TimeUnit.MINUTES);
        long first = clock.first == 0 ? System.nanoTime() : clock.first;
        return new double[] {(first - start) / 1e6, c.usage().promptTokens(), c.usage().completionTokens()};
    }
}
