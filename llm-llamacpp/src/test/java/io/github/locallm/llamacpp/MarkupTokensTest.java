package io.github.locallm.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import io.github.locallm.ToolSpec;
import io.github.locallm.modelkit.BpeTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chat-format markup that real vocabularies hold as special tokens ({@code <|python_tag|>}, harmony's channels,
 * Command R7B's actions, DeepSeek's tool-call tokens as control tokens; the {@code <think>} tags of Qwen3 and
 * DeepSeek R1 as user-defined tokens) reaches the chat-format parser on both engines: the model writes those tokens, and the reply has the
 * calls and the reasoning apart, with no markup in the streamed text.
 *
 * <p>Each model is written by the test with the family's real template (read from the shared templates) and a
 * vocabulary holding the family's markup as single tokens; its weights favour those tokens, and a grammar
 * ({@code llamacpp.grammar}) fixes the text, so that the markup is written as the special tokens themselves.
 */
class MarkupTokensTest {
    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the current weather for a city",
            "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}");

    /** One family: its template, its markup tokens, the text the model writes, and what the reply must hold. */
    record Family(String name, String template, Map<String, Integer> markup, String output, String text,
                  String thinking, boolean call, boolean think) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Family> families() {
        int c = ScriptedModels.CONTROL;
        int u = ScriptedModels.USER_DEFINED;
        return List.of(
                new Family("llama3", "meta-llama-Llama-3.1-8B-Instruct.jinja",
                        ordered("<|python_tag|>", c, "<|eom_id|>", c, "<|eot_id|>", c),
                        "Sure.<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
                        "Sure.", "", true, false),
                new Family("gpt_oss", "openai-gpt-oss-120b.jinja",
                        ordered("<|start|>", c, "<|channel|>", c, "<|message|>", c, "<|end|>", c,
                                "<|constrain|>", c, "<|call|>", c, "<|return|>", c),
                        "<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>commentary"
                                + " to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}",
                        "", "Look it up.", true, false),
                new Family("command_r7b", "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
                        ordered("<|START_THINKING|>", c, "<|END_THINKING|>", c, "<|START_ACTION|>", c,
                                "<|END_ACTION|>", c, "<|START_RESPONSE|>", c, "<|END_RESPONSE|>", c),
                        "<|START_THINKING|>Look it up.<|END_THINKING|><|START_ACTION|>[{\"tool_call_id\": \"0\", "
                                + "\"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}]"
                                + "<|END_ACTION|>",
                        "", "Look it up.", true, false),
                new Family("deepseek_r1", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                        ordered("<｜tool▁calls▁begin｜>", c, "<｜tool▁call▁begin｜>", c, "<｜tool▁sep｜>", c,
                                "<｜tool▁call▁end｜>", c, "<｜tool▁calls▁end｜>", c, "<think>", u, "</think>", u),
                        "Look it up.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
                                + "<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"
                                + "<｜tool▁calls▁end｜>",
                        "", "Look it up.", true, true),
                new Family("qwen3", "Qwen-Qwen3-0.6B.jinja",
                        ordered("<think>", u, "</think>", u, "<tool_call>", u, "</tool_call>", u),
                        "<think>\nLook it up.\n</think>\n\nIt is sunny.", "It is sunny.", "Look it up.", false, true));
    }

    static List<Arguments> cases() {
        List<Arguments> out = new java.util.ArrayList<>();
        for (Family f : families()) {
            out.add(Arguments.of(f, LoadSettings.ENGINE_LLAMACPP));
            out.add(Arguments.of(f, LoadSettings.ENGINE_JLLAMA));
        }
        return out;
    }

    private static Map<String, Integer> ordered(Object... pairs) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], (Integer) pairs[i + 1]);
        }
        return m;
    }

    static String template(String file) throws IOException {
        return Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates", file),
                StandardCharsets.UTF_8);
    }

    /** The output as a GBNF literal: ASCII only, other characters as {@code \\uXXXX}. */
    private static String gbnfLiteral(String text) {
        StringBuilder sb = new StringBuilder("root ::= \"");
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (ch < 0x20 || ch > 0x7e) {
                        sb.append(String.format("\\u%04X", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    @ParameterizedTest(name = "{0} on engine={1}")
    @MethodSource("cases")
    void markupTokensReachTheParserAndNeverTheText(Family f, String engine, @TempDir Path dir) throws Exception {
        BpeTokenizer tok = ScriptedModels.tokenizer(f.markup());
        Set<Integer> markupIds = new java.util.HashSet<>();
        f.markup().keySet().forEach(t -> markupIds.add(tok.tokenId(t)));
        Path file = ScriptedModels.write(dir.resolve(f.name() + ".gguf"), template(f.template()), f.markup(),
                List.of(), false, markupIds);
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?ctx=8192&threads=1&engine=" + engine)) {
            assertThat(llm.info().details()).containsEntry("chat_format", f.name());
            GenerationOptions.Builder b = GenerationOptions.builder().temperature(0.0).maxTokens(160)
                    .backendOption("llamacpp", "grammar", gbnfLiteral(f.output()));
            if (f.call()) {
                b.tool(WEATHER);
            }
            if (f.think()) {
                // the template opens the reasoning in the prompt; the model writes it and closes it
                b.think(true);
            }
            GenerationOptions o = b.build();
            List<ChatMessage> ask = List.of(ChatMessage.user("What is the weather in Paris?"));
            Completion c = llm.chat(ask, o);
            assertThat(c.text()).as("answer of %s", c).isEqualTo(f.text());
            assertThat(c.thinking()).as("thinking of %s", c).isEqualTo(f.thinking());
            if (f.call()) {
                assertThat(c.finishReason()).as("%s", c).isEqualTo(FinishReason.TOOL_CALLS);
                assertThat(c.toolCalls()).hasSize(1);
                assertThat(c.toolCalls().get(0).name()).isEqualTo("get_weather");
                assertThat(c.toolCalls().get(0).argumentsJson().replace(" ", "")).isEqualTo("{\"city\":\"Paris\"}");
            } else {
                assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
                assertThat(c.toolCalls()).isEmpty();
            }

            StringBuilder tokens = new StringBuilder();
            StringBuilder thinking = new StringBuilder();
            CompletableFuture<Completion> done = new CompletableFuture<>();
            llm.streamChat(ask, o, new StreamHandler() {
                @Override
                public void onToken(String text) {
                    tokens.append(text);
                }

                @Override
                public void onThinking(String text) {
                    thinking.append(text);
                }

                @Override
                public void onComplete(Completion completion) {
                    done.complete(completion);
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            Completion streamed = done.get(120, TimeUnit.SECONDS);
            assertThat(tokens.toString()).as("streamed text").isEqualTo(f.text());
            assertThat(thinking.toString()).as("streamed thinking").isEqualTo(f.thinking());
            assertThat(streamed.toolCalls()).hasSameSizeAs(c.toolCalls());
            for (String m : f.markup().keySet()) {
                assertThat(tokens.toString()).doesNotContain(m);
            }
        }
    }
}
