package io.github.locallm.llamacpp;

import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The two engines give the same answers on the project's own models: greedy completions and chats (chat
 * template, KV reuse across turns), stop sequences and grammars, token for token, on one F32 file.
 */
class CrossEngineTest {

    @Test
    void bothEnginesAnswerAlike(@TempDir Path dir) {
        Path file = TestModels.write(dir, "cross", TinyModels.llama(), GgufWriter.Quantization.F32);
        List<List<String>> answers = new ArrayList<>();
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            LlmBackend m = TestModels.open(file, Map.of("kv_type", "f32", "engine", engine));
            try {
                assertThat(m.info().details()).containsEntry("engine", engine);
                List<String> out = new ArrayList<>();
                for (String prompt : List.of("The quick brown fox", "Hello, world! How are you", "1 2 3 4")) {
                    TestModels.Run r = TestModels.complete(m, prompt, TestModels.greedy(24));
                    assertThat(r.result().completionTokens()).isEqualTo(24);
                    out.add(r.text());
                }
                // a chat of two turns: the second resends the first, so the KV cache of its prefix is reused
                List<ChatMessage> history = new ArrayList<>(List.of(ChatMessage.user("Say something")));
                String first = TestModels.chat(m, history, TestModels.greedy(12)).text();
                history.add(ChatMessage.assistant(first));
                history.add(ChatMessage.user("And again"));
                out.add(first);
                out.add(TestModels.chat(m, history, TestModels.greedy(12)).text());
                // a stop sequence cut from the first answer
                String stop = out.get(0).substring(8, 11);
                TestModels.Run stopped = TestModels.complete(m, "The quick brown fox",
                        TestModels.greedy(24).toBuilder().stop(stop).build());
                assertThat(stopped.result().finishReason()).isEqualTo(FinishReason.STOP);
                out.add(stopped.text());
                // a grammar
                GenerationOptions g = TestModels.greedy(16).toBuilder()
                        .backendOption("llamacpp", "grammar", "root ::= [a-z]+ \" \" [0-9]+").build();
                out.add(TestModels.complete(m, "Answer:", g).text());
                answers.add(out);
            } finally {
                m.close();
            }
        }
        assertThat(answers.get(1)).as("jllama engine vs llamacpp engine").containsExactlyElementsOf(answers.get(0));
        assertThat(answers.get(0).get(0)).as("answers are not trivially empty").isNotBlank();
        assertThat(answers.get(0)).doesNotHaveDuplicates();
    }
}
