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
        try (LocalLlm llm = LocalLlm.open(file, OpenOptions.builder().contextLength(1024).threads(1).build())) {
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
    void loadSettingsReachLlamaCppAndKeepTheModelTheSame(@TempDir Path dir) {
        Path file = TestModels.write(dir, "settings", TinyModels.gqa(), GgufWriter.Quantization.F32);
        String prompt = "Local models run on your own machine: no server, no network";
        String reference;
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?kv_type=f32&threads=1")) {
            assertThat(llm.info().contextLength()).as("default: the model's trained length").isEqualTo(2048);
            reference = llm.generate(prompt, TestModels.greedy(24)).text();
        }
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file
                + "?kv_type=f32&mmap=false&mlock=true&batch=8&threads=1&ctx=300&gpu_layers=2")) {
            assertThat(llm.info().contextLength()).isEqualTo(300);
            assertThat(llm.info().details()).containsEntry("threads", "1").containsEntry("kv_type", "f32");
            assertThat(llm.generate(prompt, TestModels.greedy(24)).text()).isEqualTo(reference);
        }
        // heads of 16 cannot hold 32-value cache blocks: llama.cpp would abort, Java refuses first
        assertThatThrownBy(() -> LocalLlm.open("gguf:" + file + "?kv_type=q8_0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kv_type=q8_0")
                .hasMessageContaining("multiple of 32");
        io.github.locallm.modelkit.LlamaConfig wide = new io.github.locallm.modelkit.LlamaConfig("llama",
                TinyModels.tokenizer().size(), 64, 128, 1, 2, 1, 10000, 1e-5, 512, false, false,
                TinyModels.tokenizer().tokenId("<|endoftext|>"), TinyModels.tokenizer().tokenId("<|im_end|>"));
        Path wideFile = TestModels.write(dir, "wide", TinyModels.random(wide, TinyModels.tokenizer(), 5),
                GgufWriter.Quantization.Q8_0);
        try (LocalLlm llm = LocalLlm.open("gguf:" + wideFile + "?kv_type=q8_0&threads=1")) {
            assertThat(llm.generate(prompt, TestModels.greedy(24)).usage().completionTokens()).isEqualTo(24);
        }
    }

    @Test
    void threadsDefaultToOneForAModelOfAFewHundredKilobytesAndToThePhysicalCoresAboveTwoMebibytes(@TempDir Path dir) {
        Path small = TestModels.write(dir, "small", TinyModels.gqa(), GgufWriter.Quantization.F32);
        assertThat(small.toFile().length()).isLessThan(LoadSettings.ONE_THREAD_BELOW_BYTES);
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + small + "?ctx=256")) {
            assertThat(llm.info().details()).containsEntry("threads", "1");
        }
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + small + "?ctx=256&threads=2")) {
            assertThat(llm.info().details()).as("a given count is kept").containsEntry("threads", "2");
        }
        io.github.locallm.modelkit.LlamaConfig larger = new io.github.locallm.modelkit.LlamaConfig("llama",
                TinyModels.tokenizer().size(), 256, 704, 2, 8, 2, 10000, 1e-5, 512, false, false,
                TinyModels.tokenizer().tokenId("<|endoftext|>"), TinyModels.tokenizer().tokenId("<|im_end|>"));
        Path big = TestModels.write(dir, "larger", TinyModels.random(larger, TinyModels.tokenizer(), 5),
                GgufWriter.Quantization.F32);
        assertThat(big.toFile().length()).isGreaterThan(LoadSettings.ONE_THREAD_BELOW_BYTES);
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + big + "?ctx=256")) {
            assertThat(llm.info().details()).containsEntry("threads", Integer.toString(LoadSettings.physicalCores()));
        }
        assertThat(LoadSettings.defaultThreads(LoadSettings.ONE_THREAD_BELOW_BYTES - 1)).isEqualTo(1);
        assertThat(LoadSettings.defaultThreads(LoadSettings.ONE_THREAD_BELOW_BYTES))
                .isEqualTo(LoadSettings.physicalCores());
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
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?kv_type=f32&ctx=1024&threads=1");
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
        try (LocalLlm llm = LocalLlm.open(file, OpenOptions.builder().threads(1).build())) {
            assertThat(llm.info().details()).containsEntry("chat_template", "jinja (gguf)");
            assertThatThrownBy(() -> llm.chat(List.of(io.github.locallm.ChatMessage.system("x"),
                    io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)))
                    .isInstanceOf(io.github.locallm.LlmException.class).hasMessageContaining("no system messages");
            assertThat(llm.chat(List.of(io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)).usage()
                    .completionTokens()).isEqualTo(4);
        }
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?template=chatml&threads=1")) {
            assertThat(llm.info().details()).containsEntry("chat_template", "chatml (built in)");
            assertThat(llm.chat(List.of(io.github.locallm.ChatMessage.system("x"),
                    io.github.locallm.ChatMessage.user("y")), TestModels.greedy(4)).usage().completionTokens())
                    .isEqualTo(4);
        }
        assertThatThrownBy(() -> LocalLlm.open(file, OpenOptions.builder().parameter("template", "{% for %}").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("template");
    }
}
