package io.github.locallm.springai;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.springai.autoconfigure.LocalLlmAutoConfiguration;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** A Spring Boot context with the auto-configuration, driven through Spring AI's ChatClient. */
class AutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LocalLlmAutoConfiguration.class));

    @Test
    void chatClientAnswersBlockingAndStreamingFromProperties() {
        runner.withPropertyValues("locallm.chat.model=llamacpp:" + Demo.gguf(),
                        "locallm.chat.open.ctx=512", "locallm.chat.open.threads=1",
                        "locallm.chat.options.temperature=0", "locallm.chat.options.repeat-penalty=1",
                        "locallm.chat.options.max-tokens=96")
                .run(context -> {
                    assertThat(context).hasSingleBean(ChatModel.class).doesNotHaveBean(EmbeddingModel.class);
                    ChatClient chat = ChatClient.create(context.getBean(ChatModel.class));

                    String blocking = chat.prompt(Demo.QUESTION).call().content();
                    String streamed = chat.prompt(Demo.QUESTION).stream().content().collectList()
                            .block(Duration.ofSeconds(60)).stream().collect(Collectors.joining());

                    assertThat(blocking).isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
                    assertThat(streamed).isEqualTo(blocking);
                    assertThat(context.getBean(LocalLlmChatModel.class).localLlm().info().contextLength())
                            .isEqualTo(512);
                });
    }

    @Test
    void theContextClosesTheModelsItOpened() {
        LocalLlmChatModel[] chat = new LocalLlmChatModel[1];
        LocalLlmEmbeddingModel[] embedding = new LocalLlmEmbeddingModel[1];
        runner.withPropertyValues("locallm.chat.model=llamacpp:" + Demo.gguf(),
                        "locallm.embedding.model=llamacpp:" + Demo.gguf() + "?embedding=true")
                .run(context -> {
                    chat[0] = context.getBean(LocalLlmChatModel.class);
                    embedding[0] = context.getBean(LocalLlmEmbeddingModel.class);
                    float[] v = embedding[0].embed("les listes");
                    assertThat(v).containsExactly(Demo.embedder().embed("les listes"));
                    assertThat(embedding[0].embed(List.of("a", "b"))).hasSize(2);
                });
        assertThat(chat[0].localLlm().isClosed()).isTrue();
    }

    @Test
    void withoutPropertiesNothingIsCreated() {
        runner.run(context -> assertThat(context).doesNotHaveBean(ChatModel.class).doesNotHaveBean(EmbeddingModel.class));
    }

    @Test
    void aWrongSpecFailsTheContextWithTheSdksMessage() {
        runner.withPropertyValues("locallm.chat.model=llamcpp:/nowhere.gguf")
                .run(context -> assertThat(context).hasFailed().getFailure()
                        .rootCause().hasMessageContaining("llamcpp"));
    }
}
