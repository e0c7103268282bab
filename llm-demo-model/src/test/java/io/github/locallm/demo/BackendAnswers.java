package io.github.locallm.demo;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;

import java.util.ArrayList;
import java.util.List;

/** Asks a backend the corpus questions with greedy decoding and lists the answers that differ. */
final class BackendAnswers {

    /** Greedy: temperature 0, no repetition penalty (it would change the argmax), enough room to finish. */
    static final GenerationOptions GREEDY = GenerationOptions.builder()
            .temperature(0)
            .repeatPenalty(1.0)
            .maxTokens(TrainDemoModel.MAX_ANSWER_TOKENS)
            .build();

    private BackendAnswers() {
    }

    static List<String> mismatches(LocalLlm llm, List<DemoModel.Exchange> exchanges, boolean withSystemPrompt) {
        List<String> failures = new ArrayList<>();
        for (DemoModel.Exchange e : exchanges) {
            List<ChatMessage> messages = withSystemPrompt
                    ? List.of(ChatMessage.system(DemoModel.systemPrompt()), ChatMessage.user(e.question()))
                    : List.of(ChatMessage.user(e.question()));
            Completion c = llm.chat(messages, GREEDY);
            if (!c.text().equals(e.answer())) {
                failures.add((withSystemPrompt ? "" : "[no system prompt] ") + e.question() + " -> " + c.text()
                        + " (" + c.finishReason() + ")");
            }
        }
        return failures;
    }

    /** Every {@code stride}-th exchange plus the two questions of the issue. */
    static List<DemoModel.Exchange> sample(int stride) {
        List<DemoModel.Exchange> corpus = DemoModel.corpus();
        List<DemoModel.Exchange> out = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            DemoModel.Exchange e = corpus.get(i);
            if (i % stride == 0 || e.question().equals("Explique-moi Python en une phrase")
                    || e.question().equals("Qu'est-ce qu'une fonction lambda ?")) {
                out.add(e);
            }
        }
        return out;
    }
}
