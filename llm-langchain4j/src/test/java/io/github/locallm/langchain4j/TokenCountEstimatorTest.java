package io.github.locallm.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.chat.TokenWindowChatMemory;
import io.github.locallm.ChatMessage;
import io.github.locallm.ChatSession;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Counts come from the model's own tokenizer and chat template, the numbers ChatSession trims by. */
class TokenCountEstimatorTest {

    private final LocalLlmTokenCountEstimator estimator = LocalLlmTokenCountEstimator.of(Demo.chat());

    @Test
    void textIsCountedByTheModelsTokenizer() {
        assertThat(estimator.estimateTokenCountInText(Demo.QUESTION))
                .isEqualTo(Demo.chat().tokenize(Demo.QUESTION).length).isPositive();
    }

    @Test
    void conversationsAreCountedThroughTheChatTemplate() {
        int count = estimator.estimateTokenCountInMessages(List.of(SystemMessage.from("Tu es utile."),
                UserMessage.from(Demo.QUESTION), AiMessage.from("Python est un langage.")));
        int expected;
        try (ChatSession s = Demo.chat().newChatSession()) {
            expected = s.countTokens(List.of(ChatMessage.system("Tu es utile."), ChatMessage.user(Demo.QUESTION),
                    ChatMessage.assistant("Python est un langage.")));
        }
        assertThat(count).isEqualTo(expected)
                .isGreaterThan(estimator.estimateTokenCountInText(Demo.QUESTION)
                        + estimator.estimateTokenCountInText("Python est un langage."));
        assertThat(estimator.estimateTokenCountInMessage(UserMessage.from(Demo.QUESTION)))
                .isLessThan(count);
    }

    @Test
    void langChain4jsTokenWindowMemoryEvictsByThoseCounts() {
        int oneTurn = estimator.estimateTokenCountInMessages(List.of(UserMessage.from(Demo.QUESTION)));
        TokenWindowChatMemory memory = TokenWindowChatMemory.builder().maxTokens(oneTurn * 2 + 1, estimator).build();
        memory.add(UserMessage.from(Demo.QUESTION));
        memory.add(UserMessage.from(Demo.QUESTION));
        memory.add(UserMessage.from(Demo.QUESTION));
        memory.add(UserMessage.from(Demo.QUESTION));

        assertThat(memory.messages()).hasSizeLessThan(4).isNotEmpty();
        assertThat(estimator.estimateTokenCountInMessages(memory.messages())).isLessThanOrEqualTo(oneTurn * 2 + 1);
    }
}
