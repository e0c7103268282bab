package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyArchitectures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The families' own chat templates (as their checkpoints ship them, from the shared template collection) on
 * tiny checkpoints of those families: the template writes the begin token itself where the family has one,
 * so a chat prompt starts with exactly one, and chat generates.
 */
class FamilyChatTest {
    private static final List<ChatMessage> CONVERSATION = List.of(ChatMessage.user("Hello, how are you?"),
            ChatMessage.assistant("Fine."), ChatMessage.user("And you?"));

    private static String template(String file) throws IOException {
        return Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates", file));
    }

    private static void check(TinyArchitectures.Model m, String templateFile, String expectedStart,
                              String expectedEnd, boolean startsWithBos) throws IOException {
        Map<String, Object> tc = new LinkedHashMap<>(m.tokenizerConfig());
        tc.put("chat_template", template(templateFile));
        TinyArchitectures.Model withTemplate = new TinyArchitectures.Model(m.name(), m.config(), m.tensors(),
                m.tokenizer(), tc);
        Path dir = Files.createTempDirectory("djl-chat-" + m.name());
        try {
            withTemplate.write(dir, HfCheckpointWriter.DType.F32);
            int bos = m.tokenizer().tokenId(BpeTokenizer.END_OF_TEXT);
            try (Backends.Parts b = Backends.parts(dir)) {
                String text = b.renderChat(CONVERSATION);
                assertThat(text).startsWith(expectedStart).endsWith(expectedEnd);
                int[] ids = b.chatTokens(CONVERSATION);
                assertThat(ids[0] == bos).as("%s chat prompt starts with the begin token", m.name())
                        .isEqualTo(startsWithBos);
                assertThat(ids[1]).as("no second begin token").isNotEqualTo(bos);
            }
            try (LocalLlm llm = LocalLlm.open("djl:" + dir)) {
                Completion c = llm.chat(CONVERSATION, GenerationOptions.builder().maxTokens(8).temperature(0).build());
                assertThat(c.usage().completionTokens()).isEqualTo(8);
            }
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void gemma2() throws IOException {
        check(TinyArchitectures.gemma2(), "google-gemma-2-2b-it.jinja",
                "<|endoftext|><start_of_turn>user\nHello, how are you?<end_of_turn>\n<start_of_turn>model\nFine.",
                "<start_of_turn>model\n", true);
    }

    @Test
    void phi3() throws IOException {
        check(TinyArchitectures.phi3().withConfig(Map.of("max_position_embeddings", 256)),
                "microsoft-Phi-3.5-mini-instruct.jinja",
                "<|user|>\nHello, how are you?<|end|>\n<|assistant|>\nFine.<|end|>\n", "<|assistant|>\n", false);
    }

    private static TinyArchitectures.Model llama() {
        Map<String, Object> noWindow = new LinkedHashMap<>();
        noWindow.put("sliding_window", null);
        return TinyArchitectures.mistral().withConfig(Map.of("architectures", List.of("LlamaForCausalLM"),
                "model_type", "llama")).withConfig(noWindow);
    }

    private static final String LLAMA3_SYSTEM = "<|endoftext|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: ";
    private static final String LLAMA3_TURNS = "<|start_header_id|>user<|end_header_id|>\n\nHello, how are you?"
            + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nFine.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nAnd you?<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n";

    @Test
    void llama31() throws IOException {
        check(llama(), "meta-llama-Llama-3.1-8B-Instruct.jinja", LLAMA3_SYSTEM + "26 Jul 2024\n\n<|eot_id|>"
                + LLAMA3_TURNS, LLAMA3_TURNS, true);
    }

    @Test
    void llama32() throws IOException {
        check(llama(), "meta-llama-Llama-3.2-3B-Instruct.jinja", LLAMA3_SYSTEM, LLAMA3_TURNS, true);
    }

    @Test
    void llama33() throws IOException {
        check(llama(), "meta-llama-Llama-3.3-70B-Instruct.jinja", LLAMA3_SYSTEM + "26 Jul 2024\n\n<|eot_id|>"
                + LLAMA3_TURNS, LLAMA3_TURNS, true);
    }

    @Test
    void mistral() throws IOException {
        check(TinyArchitectures.mistral(), "mistralai-Mistral-Nemo-Instruct-2407.jinja",
                "<|endoftext|>[INST]Hello, how are you?[/INST]Fine.<|im_end|>[INST]And you?[/INST]", "[/INST]", true);
    }

    @Test
    void qwen3() throws IOException {
        check(TinyArchitectures.qwen3(), "Qwen-Qwen3-0.6B.jinja", "<|im_start|>user\nHello, how are you?<|im_end|>\n",
                "<|im_start|>assistant\n", false);
    }
}
