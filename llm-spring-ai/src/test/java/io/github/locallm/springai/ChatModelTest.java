package io.github.locallm.springai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.demo.DemoModel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.util.MimeTypeUtils;
import reactor.core.publisher.Flux;

/** The Spring AI chat model on the demo model, whose answers are known. */
class ChatModelTest {

    private final LocalLlmChatModel model = LocalLlmChatModel.builder(Demo.chat()).defaultOptions(Demo.GREEDY).build();

    @Test
    void callGivesTheTrainedAnswerWithUsageAndMetadata() {
        ChatResponse r = model.call(new Prompt(new UserMessage(Demo.QUESTION)));

        assertThat(r.getResult().getOutput().getText()).isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(r.getMetadata().getUsage().getPromptTokens()).isPositive();
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isPositive();
        assertThat(r.getMetadata().getModel()).isEqualTo(Demo.chat().info().model());
        assertThat((String) r.getMetadata().get("locallm.backend")).isEqualTo("llamacpp");
        assertThat(r.hasToolCalls()).isFalse();
    }

    @Test
    void systemMessagesAndPromptOptionsApply() {
        String question = "Qu'est-ce qu'une liste en Python ?";
        ChatResponse full = model.call(new Prompt(List.of(new SystemMessage(DemoModel.systemPrompt()),
                new UserMessage(question))));
        assertThat(full.getResult().getOutput().getText()).isEqualTo(Demo.TRAINED.get(question));

        ChatResponse cut = model.call(new Prompt(new UserMessage(question), ChatOptions.builder().maxTokens(2).build()));
        assertThat(cut.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat(cut.getMetadata().getUsage().getCompletionTokens()).isEqualTo(2);
    }

    @Test
    void streamingPiecesAddUpToTheBlockingAnswerAndEndWithUsage() {
        List<ChatResponse> chunks = model.stream(new Prompt(new UserMessage(Demo.QUESTION)))
                .collectList().block(Duration.ofSeconds(60));

        StringBuilder text = new StringBuilder();
        chunks.forEach(c -> text.append(c.getResult().getOutput().getText()));
        assertThat(text.toString()).isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(chunks.size()).isGreaterThan(3);
        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isPositive();
    }

    @Test
    void cancellingTheSubscriptionStopsTheGeneration() {
        AtomicInteger seen = new AtomicInteger();
        List<ChatResponse> got = model.stream(new Prompt(new UserMessage(Demo.QUESTION),
                        ChatOptions.builder().maxTokens(90).build()))
                .doOnNext(c -> seen.incrementAndGet()).take(3).collectList().block(Duration.ofSeconds(60));

        assertThat(got).hasSize(3);
        // the model is free at once for the next call
        assertThat(model.call(new Prompt(new UserMessage(Demo.QUESTION))).getResult().getOutput().getText())
                .isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(seen.get()).isEqualTo(3);
    }

    @Test
    void capabilityErrorsComeBeforeAnyWork() {
        UserMessage withImage = UserMessage.builder().text("What is this?")
                .media(new Media(MimeTypeUtils.IMAGE_PNG, new org.springframework.core.io.ByteArrayResource(
                        new byte[] {1, 2, 3}))).build();
        assertThatThrownBy(() -> model.call(new Prompt(withImage))).isInstanceOf(UnsupportedCapabilityException.class);
        Flux<ChatResponse> stream = model.stream(new Prompt(withImage));
        assertThatThrownBy(() -> stream.blockLast(Duration.ofSeconds(30)))
                .isInstanceOf(UnsupportedCapabilityException.class);
    }

    @Test
    void anotherModelNameIsRefused() {
        assertThatThrownBy(() -> model.call(new Prompt(new UserMessage("x"), ChatOptions.builder().model("gpt-5").build())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gpt-5");
    }

    @Test
    void defaultOptionsAreVisibleAsSpringAiOptions() {
        assertThat(model.getOptions().getTemperature()).isEqualTo(0.0);
        assertThat(model.getOptions().getMaxTokens()).isEqualTo(96);
        assertThat(model.getOptions().getModel()).isEqualTo(Demo.chat().info().model());
    }
}
