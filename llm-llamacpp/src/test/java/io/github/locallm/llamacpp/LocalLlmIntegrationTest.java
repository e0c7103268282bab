package io.github.locallm.llamacpp;

import io.github.locallm.ChatSession;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.TokenStream;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The backend through the user API: open by path, blocking vs streaming, chat sessions with and without reuse. */
class LocalLlmIntegrationTest {

    @Test
    void openByPathPicksThisBackendAndStreamingEqualsBlocking(@TempDir Path dir) {
        Path file = TestModels.write(dir, "api", TinyModels.qwen2Bias(), GgufWriter.Quantization.Q8_0);
        try (LocalLlm llm = LocalLlm.open(file, OpenOptions.builder().contextLength(1024).threads(2).build())) {
            assertThat(llm.info().backend()).isEqualTo("llamacpp");
            assertThat(llm.info().contextLength()).isEqualTo(1024);
            GenerationOptions o = TestModels.greedy(40);
            Completion blocking = llm.generate("Hello, world!", o);
            List<String> pieces = new ArrayList<>();
            try (TokenStream tokens = llm.tokens("Hello, world!", o)) {
                tokens.forEachRemaining(pieces::add);
            }
            assertThat(String.join("", pieces)).isEqualTo(blocking.text());
            assertThat(llm.generate("Hello, world!", o).text()).isEqualTo(blocking.text());
        }
    }

    @Test
    void chatSessionWithKvReuseMatchesSessionWithout(@TempDir Path dir) {
        Path file = TestModels.write(dir, "session", TinyModels.tied(), GgufWriter.Quantization.F32);
        List<String> turns = List.of("Hi there.", "What is the weather like?", "Is the sea calm tonight?",
                "Tell me about Java.", "Thank you!");
        List<String> reused = converse(file, TestModels.greedy(20));
        List<String> fresh = converse(file, TestModels.greedy(20).toBuilder()
                .backendOption("llamacpp", "cache_prompt", "false").build());
        assertThat(reused).hasSize(turns.size()).isEqualTo(fresh);
    }

    private static List<String> converse(Path file, GenerationOptions o) {
        List<String> answers = new ArrayList<>();
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?kv_type=f32&ctx=1024");
             ChatSession chat = llm.newChatSession("You are a tiny model.", o)) {
            for (String user : List.of("Hi there.", "What is the weather like?", "Is the sea calm tonight?",
                    "Tell me about Java.", "Thank you!")) {
                // another request in between evicts nothing when reuse is off, and is a different prefix when on
                llm.generate("Numbers: 1 2 3", TestModels.greedy(2));
                answers.add(chat.send(user).text());
            }
        }
        return answers;
    }

    @Test
    void chatTemplateOverrideAndTemplateErrorsAreJavaErrors(@TempDir Path dir) throws Exception {
        CheckpointModel strict = TinyModels.llama().withChatTemplate(
                "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system messages') }}"
                + "{% endif %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}[assistant]");
        Path file = dir.resolve("strict.gguf");
        GgufWriter.write(strict, file, GgufWriter.Quantization.F32);
        try (LocalLlm llm = LocalLlm.open(file)) {
            assertThat(llm.info().details()).containsEntry("chat_template", "jinja (gguf)");
            assertThatThrownBy(() -> llm.chat(List.of(io.github.locallm.ChatMessage.system("x"),
                    io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)))
                    .isInstanceOf(io.github.locallm.LlmException.class).hasMessageContaining("no system messages");
            assertThat(llm.chat(List.of(io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)).usage()
                    .completionTokens()).isEqualTo(4);
        }
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?template=chatml")) {
            assertThat(llm.info().details()).containsEntry("chat_template", "chatml (built in)");
            assertThat(llm.chat(List.of(io.github.locallm.ChatMessage.system("x"),
                    io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)).usage().completionTokens())
                    .isEqualTo(4);
        }
        assertThatThrownBy(() -> LocalLlm.open(file, OpenOptions.builder().parameter("template", "{% for %}").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("template");
    }
}
