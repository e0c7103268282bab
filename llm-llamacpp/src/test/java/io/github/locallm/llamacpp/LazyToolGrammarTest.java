package io.github.locallm.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import io.github.locallm.modelkit.BpeTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With tools the model may call ({@link ToolChoice#AUTO}), the llamacpp engine's lazy grammar keeps a call that
 * the model opens valid: the model here writes the opener by itself (its weights make it) and nothing else
 * steers it, so the arguments are random text unless the grammar, switched on by the opener, constrains them.
 */
class LazyToolGrammarTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<ChatMessage> ASK = List.of(ChatMessage.user("What's the weather in Paris?"));

    private static GenerationOptions auto(long seed) {
        return GenerationOptions.builder().tool(ToolCallingTest.WEATHER).tool(ToolCallingTest.TIME).temperature(1.0)
                .seed(seed).maxTokens(200).build();
    }

    private static void assertValidCalls(LocalLlm llm) throws Exception {
        for (long seed = 1; seed <= 4; seed++) {
            Completion c = llm.chat(ASK, auto(seed));
            assertThat(c.finishReason()).as("seed %d: %s", seed, c).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(c.toolCalls()).as("seed %d", seed).isNotEmpty();
            for (ToolCall call : c.toolCalls()) {
                assertThat(call.name()).isIn("get_weather", "get_time");
                assertThat(ToolCallingTest.valid(JSON.readTree(call.argumentsJson()), call.name()))
                        .as("seed %d: %s", seed, call.argumentsJson()).isTrue();
            }
        }
    }

    @Test
    void anOpenerTokenSwitchesTheGrammarOnAndTheArgumentsAreValid(@TempDir Path dir) throws Exception {
        // Qwen's vocabulary holds <tool_call> as one (user-defined) token: it triggers the grammar wherever it comes
        Map<String, Integer> extra = Map.of("<tool_call>", ScriptedModels.USER_DEFINED, "</tool_call>",
                ScriptedModels.USER_DEFINED);
        BpeTokenizer tok = ScriptedModels.tokenizer(extra);
        Path file = ScriptedModels.write(dir.resolve("qwen-opener.gguf"),
                MarkupTokensTest.template("Qwen-Qwen2.5-7B-Instruct.jinja"), extra,
                List.of(tok.tokenId("<tool_call>")), false, Set.of());
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?ctx=4096&threads=1")) {
            assertThat(llm.info().details()).containsEntry("chat_format", "hermes");
            assertValidCalls(llm);
            // the same model without tools: the opener comes, and what follows it is not a call
            Completion free = llm.chat(ASK, auto(1).toBuilder().toolChoice(ToolChoice.NONE).build());
            assertThat(free.text()).startsWith("<tool_call>");
            assertThat(free.text()).doesNotStartWith("<tool_call>\n{\"name\": ");
        }
    }

    @Test
    void anOpenerWrittenInTextAtTheStartSwitchesTheGrammarOn(@TempDir Path dir) throws Exception {
        // Llama 3.1 calls may start with {"name": no single token, so an anchored pattern triggers the grammar
        // (an extra plain token for {" lets the model write the opener with no token twice)
        Map<String, Integer> extra = Map.of("{\"", ScriptedModels.NORMAL);
        BpeTokenizer tok = ScriptedModels.tokenizer(extra);
        List<Integer> opener = new ArrayList<>();
        opener.add(tok.tokenId("{\""));
        for (int id : tok.encode("name")) {
            opener.add(id);
        }
        opener.add(tok.tokenId("\""));
        Path file = ScriptedModels.write(dir.resolve("llama-opener.gguf"),
                MarkupTokensTest.template("meta-llama-Llama-3.1-8B-Instruct.jinja"), extra, opener, false,
                Set.of());
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?ctx=4096&threads=1")) {
            assertThat(llm.info().details()).containsEntry("chat_format", "llama3");
            assertValidCalls(llm);
        }
    }

    @Test
    void triggerPatternsAreAnchoredAndAcceptOnlyStartsOfAnOpener() {
        String p = TriggerPattern.anchored("<tool_call>", List.of("\n{\"name\": \"a\"", "\n{\"name\": \"b(\""));
        Pattern re = Pattern.compile(p);
        for (String yes : List.of("<tool_call>", " \n<tool_call>\n", "<tool_call>\n{\"name\": \"b(",
                "<tool_call>\n{\"name\": \"a\"")) {
            assertThat(re.matcher(yes).matches()).as("%s on %s", p, yes).isTrue();
        }
        for (String no : List.of("x<tool_call>", "<tool_call> {", "<tool_call>\n{\"name\": \"c",
                "<tool_call>\n{\"name\": \"a\"}", "<tool_c")) {
            assertThat(re.matcher(no).matches()).as("%s on %s", p, no).isFalse();
        }
        assertThat(TriggerPattern.anchored("<｜tool▁calls▁begin｜>", List.of(""))).as("non-ASCII is left out").isNull();
    }
}
