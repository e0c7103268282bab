package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.demo.DemoModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.context.ConfigurableApplicationContext;

/** The Spring Boot example: properties alone give a ChatClient over the demo model, which answers twice. */
class SpringChatAppTest {
    @TempDir
    static Path dir;

    @Test
    void theApplicationAnswersBlockingThenStreaming() {
        Path gguf = DemoModel.extractGguf(dir);
        String answer = DemoModel.corpus().stream().filter(e -> e.question().equals(SpringChatApp.QUESTION))
                .findFirst().orElseThrow().answer();
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try (ConfigurableApplicationContext context = SpringChatApp.start("--locallm.chat.model=llamacpp:" + gguf)) {
            assertThat(context.getBean(ChatModel.class).toString()).contains("llamacpp");
        } finally {
            System.setOut(saved);
        }
        assertThat(out.toString(StandardCharsets.UTF_8).lines()).containsExactly(answer, answer);
    }
}
