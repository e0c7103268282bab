package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.GenerationRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Chat through the checkpoint's own template from tokenizer_config.json. */
class ChatTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<ChatMessage> CONVERSATION = List.of(ChatMessage.system("Be brief."),
            ChatMessage.user("Hello, how are you?"), ChatMessage.assistant("Fine."), ChatMessage.user("And you?"));

    @Test
    void rendersTheTemplateAndTokenizesItsSpecialTokens() {
        Backends.Parts p = Backends.sharedParts(TinyCheckpoints.Variant.QWEN2_F32);
        DjlBackend b = p.backend();
        String expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello, how are you?<|im_end|>\n"
                + "<|im_start|>assistant\nFine.<|im_end|>\n<|im_start|>user\nAnd you?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertThat(p.renderChat(CONVERSATION)).isEqualTo(expected);
        int[] ids = TinyModels.tokenizer().encodeWithSpecials(expected);
        assertThat(b.countTokens(CONVERSATION)).isEqualTo(ids.length);
        assertThat(b.info().supports(Capability.CHAT)).isTrue();
    }

    @Test
    void chatGeneratesTheGreedyContinuationOfTheRenderedPrompt() {
        Backends.Parts p = Backends.sharedParts(TinyCheckpoints.Variant.QWEN2_F32);
        DjlBackend b = p.backend();
        GenerationOptions o = GenerationOptions.builder().temperature(0).maxTokens(12).build();
        List<String> pieces = new ArrayList<>();
        var r = b.generate(GenerationRequest.chat(CONVERSATION, o), pieces::add, GenerationTest.neverCancelled());
        int[] prompt = TinyModels.tokenizer().encodeWithSpecials(p.renderChat(CONVERSATION));
        assertThat(r.promptTokens()).isEqualTo(prompt.length);
        int[] ids = DecoderRuns.greedy(p.decoder(), prompt, r.completionTokens(), new int[0]);
        assertThat(String.join("", pieces)).isEqualTo(p.tokenizer().decode(ids, 0, ids.length, true));
        BpeTokenizer tok = TinyModels.tokenizer();
        assertThat(ids).doesNotContain(tok.tokenId(BpeTokenizer.IM_END));
    }

    private static Path withTokenizerConfig(String name, java.util.function.Consumer<ObjectNode> change)
            throws IOException {
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.GQA_F32, name);
        Path file = dir.resolve("tokenizer_config.json");
        ObjectNode n = (ObjectNode) JSON.readTree(file.toFile());
        change.accept(n);
        Files.writeString(file, JSON.writeValueAsString(n));
        return dir;
    }

    @Test
    void withoutATemplateChatIsNotClaimed() throws IOException {
        Path dir = withTokenizerConfig("no-template", n -> n.remove("chat_template"));
        try (DjlBackend b = Backends.open(dir, Map.of())) {
            assertThat(b.info().supports(Capability.CHAT)).isFalse();
            assertThatThrownBy(() -> b.countTokens(CONVERSATION)).isInstanceOf(UnsupportedCapabilityException.class)
                    .hasMessageContaining("has no chat_template");
        }
    }

    @Test
    void aSeparateTemplateFileIsUsed() throws IOException {
        Path dir = withTokenizerConfig("jinja-file", n -> n.remove("chat_template"));
        Files.writeString(dir.resolve("chat_template.jinja"),
                "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
        try (Backends.Parts p = Backends.parts(dir)) {
            assertThat(p.renderChat(List.of(ChatMessage.user("hi")))).isEqualTo("[user] hi\n");
        }
    }

    @Test
    void aBrokenTemplateIsExplained() throws IOException {
        Path dir = withTokenizerConfig("broken-template", n -> n.put("chat_template", "{% for m in messages %}"));
        try (DjlBackend b = Backends.open(dir, Map.of())) {
            assertThat(b.info().supports(Capability.CHAT)).isFalse();
            assertThat(b.info().supports(Capability.COMPLETION)).isTrue();
            assertThat(b.info().details().get("chat_template")).startsWith("cannot be used: ");
        }
    }

    @Test
    void aTemplateRejectingTheConversationIsAnLlmException() throws IOException {
        Path dir = withTokenizerConfig("strict-template", n -> n.put("chat_template",
                "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}"
                        + "{% endif %}{{ messages[0].content }}"));
        try (Backends.Parts p = Backends.parts(dir)) {
            assertThatThrownBy(() -> p.renderChat(CONVERSATION)).isInstanceOf(LlmException.class)
                    .hasMessageContaining("first message must be from the user");
        }
    }

    @Test
    void namedTemplatesUseTheDefaultOne() throws IOException {
        Path dir = withTokenizerConfig("named-templates", n -> {
            n.remove("chat_template");
            var list = n.putArray("chat_template");
            list.addObject().put("name", "tool_use").put("template", "TOOLS");
            list.addObject().put("name", "default").put("template", "DEFAULT {{ messages|length }}");
        });
        try (Backends.Parts p = Backends.parts(dir)) {
            assertThat(p.renderChat(CONVERSATION)).isEqualTo("DEFAULT 4");
        }
    }
}
