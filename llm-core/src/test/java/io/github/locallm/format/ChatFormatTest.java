package io.github.locallm.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each family on the real template of a published model (read from {@code <locallm.shared.dir>/chat-templates}):
 * rendering a conversation with tools, a tool call, its result and reasoning gives the bytes jinja2 gives, with
 * the family's markup in place; and outputs written in the family's syntax parse back into the same text,
 * reasoning and tool calls, whole and split into random streaming pieces, without markup reaching the text.
 */
class ChatFormatTest {
    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the current weather for a city",
            "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": "
                    + "\"The city name, e.g. Paris\"}, \"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", "
                    + "\"fahrenheit\"], \"description\": \"Temperature unit\", \"default\": \"celsius\"}}, "
                    + "\"required\": [\"city\"]}");
    static final ToolCall CALL = new ToolCall("call00001", "get_weather", "{\"city\": \"Paris\", \"unit\": \"celsius\"}");

    static Path shared(String template) {
        String dir = System.getProperty("locallm.shared.dir");
        assertThat(dir).as("locallm.shared.dir").isNotNull();
        return Path.of(dir, "chat-templates", template + ".jinja");
    }

    /** The instant the reference script's {@code strftime_now} is fixed at. */
    static final Clock FIXED = Clock.fixed(Instant.parse("2026-01-15T09:30:00Z"), ZoneOffset.UTC);

    static ChatTemplate template(String name) throws IOException {
        return ChatTemplate.parse(Files.readString(shared(name), StandardCharsets.UTF_8)).withClock(FIXED);
    }

    static String expected(String folder, String name) throws IOException, URISyntaxException {
        Path root = Path.of(ChatFormatTest.class.getResource("/templates").toURI());
        return Files.readString(root.resolve(folder).resolve(name + ".txt"), StandardCharsets.UTF_8);
    }

    /** The conversation of the reference corpus's 06_tool_call_result, as messages. */
    static List<ChatMessage> toolConversation() {
        return List.of(ChatMessage.user("What's the weather in Paris?"),
                ChatMessage.assistant("", List.of(CALL)),
                ChatMessage.toolResult(CALL, "{\"temperature\": 21, \"sky\": \"clear\"}"),
                ChatMessage.assistant("It is 21 °C and clear in Paris."));
    }

    static RenderOptions options() {
        return RenderOptions.builder().addGenerationPrompt(true).bosToken("<s>").eosToken("</s>")
                .variable("date_string", "26 Jul 2024").build();
    }

    // ---- detection ----

    static Stream<Arguments> detection() {
        return Stream.of(
                Arguments.of("NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ChatFormat.HERMES),
                Arguments.of("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ChatFormat.HERMES),
                Arguments.of("Qwen-Qwen2.5-7B-Instruct", ChatFormat.HERMES),
                Arguments.of("Qwen-Qwen3-0.6B", ChatFormat.QWEN3),
                Arguments.of("Qwen-QwQ-32B", ChatFormat.QWEN3),
                Arguments.of("meta-llama-Llama-3.1-8B-Instruct", ChatFormat.LLAMA3),
                Arguments.of("meta-llama-Llama-3.2-3B-Instruct", ChatFormat.LLAMA3),
                Arguments.of("meta-llama-Llama-3.3-70B-Instruct", ChatFormat.LLAMA3),
                Arguments.of("mistralai-Mistral-Nemo-Instruct-2407", ChatFormat.MISTRAL),
                Arguments.of("Mistral-Small-3.2-24B-Instruct-2506", ChatFormat.MISTRAL),
                Arguments.of("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", ChatFormat.DEEPSEEK_R1),
                Arguments.of("deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ChatFormat.DEEPSEEK_R1),
                Arguments.of("meetkai-functionary-medium-v3.1", ChatFormat.FUNCTIONARY_V3_1),
                Arguments.of("meetkai-functionary-medium-v3.2", ChatFormat.FUNCTIONARY_V3_2),
                Arguments.of("CohereForAI-c4ai-command-r7b-12-2024-tool_use", ChatFormat.COMMAND_R7B),
                Arguments.of("openai-gpt-oss-120b", ChatFormat.GPT_OSS),
                Arguments.of("google-gemma-2-2b-it", ChatFormat.GENERIC));
    }

    @ParameterizedTest
    @MethodSource("detection")
    void detectsTheFamilyFromThePublishedTemplate(String template, String family) throws IOException {
        assertThat(ChatFormat.detect(Files.readString(shared(template), StandardCharsets.UTF_8)).name())
                .isEqualTo(family);
    }

    @Test
    void namedRefusesUnknownFamiliesListingTheKnownOnes() {
        assertThat(ChatFormat.named("Functionary-v3.2").name()).isEqualTo(ChatFormat.FUNCTIONARY_V3_2);
        assertThatThrownBy(() -> ChatFormat.named("nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hermes");
    }

    // ---- rendering ----

    static Stream<Arguments> renderings() {
        return Stream.of(
                Arguments.of("NousResearch-Hermes-3-Llama-3.1-8B-tool_use",
                        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
                        "<tool_response>\n{\"temperature\": 21, \"sky\": \"clear\"}\n</tool_response>"),
                Arguments.of("Qwen-Qwen2.5-7B-Instruct",
                        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
                        "<tool_response>\n{\"temperature\": 21, \"sky\": \"clear\"}\n</tool_response>"),
                Arguments.of("meta-llama-Llama-3.1-8B-Instruct",
                        "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}<|eot_id|>",
                        "<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temperature\\\": 21, \\\"sky\\\": \\\"clear\\\"}\""),
                Arguments.of("meta-llama-Llama-3.3-70B-Instruct",
                        "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}<|eot_id|>",
                        "<|start_header_id|>ipython<|end_header_id|>"),
                Arguments.of("mistralai-Mistral-Nemo-Instruct-2407",
                        "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}, \"id\": \"call00001\"}]</s>",
                        "[TOOL_RESULTS]{\"content\": {\"temperature\": 21, \"sky\": \"clear\"}, \"call_id\": \"call00001\"}[/TOOL_RESULTS]"),
                Arguments.of("Mistral-Small-3.2-24B-Instruct-2506",
                        "[TOOL_CALLS]get_weather[CALL_ID]call00001[ARGS]{\"city\": \"Paris\", \"unit\": \"celsius\"}</s>",
                        "[TOOL_RESULTS]call00001[TOOL_CONTENT]{\"temperature\": 21, \"sky\": \"clear\"}[/TOOL_RESULTS]"),
                Arguments.of("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
                        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                        "<｜tool▁output▁begin｜>{\"temperature\": 21, \"sky\": \"clear\"}<｜tool▁output▁end｜>"),
                Arguments.of("meetkai-functionary-medium-v3.1",
                        "<function=get_weather>{\"city\": \"Paris\", \"unit\": \"celsius\"}</function><|eom_id|>",
                        "<|start_header_id|>ipython<|end_header_id|>\n\n{\"temperature\": 21, \"sky\": \"clear\"}<|eot_id|>"),
                Arguments.of("CohereForAI-c4ai-command-r7b-12-2024-tool_use",
                        "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n]<|END_ACTION|>",
                        "<|START_TOOL_RESULT|>[\n    {\n        \"tool_call_id\": \"0\""),
                Arguments.of("openai-gpt-oss-120b",
                        "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\", \"unit\": \"celsius\"}<|call|>",
                        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"));
    }

    @ParameterizedTest
    @MethodSource("renderings")
    void rendersToolCallsAndResultsAsJinja2DoesWithTheFamilyMarkup(String name, String callMarkup,
                                                                  String resultMarkup) throws Exception {
        ChatTemplate t = template(name);
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = format.render(t, toolConversation(), List.of(WEATHER), options(), null);
        assertThat(prompt).isEqualTo(expected("shared-expected", name + "__06_tool_call_result"));
        assertThat(prompt).contains(callMarkup).contains(resultMarkup);
    }

    @Test
    void functionaryV32GetsArgumentsAsJsonText() throws Exception {
        ChatTemplate t = template("meetkai-functionary-medium-v3.2");
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = format.render(t, toolConversation(), List.of(WEATHER), options(), null);
        assertThat(prompt).isEqualTo(expected("format-expected", "functionary_v3_2_tool_result"))
                .contains(">>>get_weather\n{\"city\": \"Paris\", \"unit\": \"celsius\"}<|eot_id|>");
    }

    @Test
    void qwen3ThinkOptionBecomesEnableThinking() throws Exception {
        ChatTemplate t = template("Qwen-Qwen3-0.6B");
        ChatFormat format = ChatFormat.detect(t.source());
        String off = format.render(t, toolConversation(), List.of(WEATHER), options(), false);
        assertThat(off).isEqualTo(expected("format-expected", "qwen3_think_off")).endsWith("<think>\n\n</think>\n\n");
        List<ChatMessage> reasoning = List.of(ChatMessage.user("Is 17 prime?"),
                ChatMessage.assistant("<think>\nCheck divisors up to 4.\n</think>\n\nYes, 17 is prime."),
                ChatMessage.user("And 21?"));
        String on = format.render(t, reasoning, List.of(), options(), true);
        assertThat(on).isEqualTo(expected("format-expected", "qwen3_think_on"));
        assertThat(format.render(t, reasoning, List.of(), options(), null)).isEqualTo(on);
        ChatTemplate t35 = template("Qwen3.5-4B");
        assertThat(ChatFormat.detect(t35.source()).render(t35, toolConversation(), List.of(WEATHER), options(), false))
                .isEqualTo(expected("format-expected", "qwen35_think_off"));
    }

    @Test
    void genericFormatDescribesToolsForATemplateWithoutThem() throws Exception {
        ChatTemplate t = template("google-gemma-2-2b-it");
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = format.render(t, List.of(ChatMessage.user("Weather in Paris?"), ChatMessage.assistant("",
                        List.of(CALL)), ChatMessage.toolResult(CALL, "sunny")), List.of(WEATHER),
                RenderOptions.builder().addGenerationPrompt(true).bosToken("<bos>").build(), null);
        assertThat(prompt).contains("\"name\": \"get_weather\"")
                .contains("{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}}")
                .contains("Result of tool get_weather (call call00001): sunny")
                .endsWith("<start_of_turn>model\n");
    }

    // ---- parsing ----

    record Recorded(String template, String output, String text, String thinking, List<ToolCall> calls,
                    Boolean think) {
        Recorded(String template, String output, String text, String thinking, List<ToolCall> calls) {
            this(template, output, text, thinking, calls, null);
        }
    }

    static ToolCall call(String id, String name, String args) {
        return new ToolCall(id, name, args);
    }

    static final String PARIS = "{\"city\":\"Paris\"}";

    static List<Recorded> recorded() {
        return List.of(
                new Recorded("NousResearch-Hermes-3-Llama-3.1-8B-tool_use",
                        "Let me check both.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
                                + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>",
                        "Let me check both.", "", List.of(call("", "get_weather", PARIS),
                        call("", "get_time", "{\"zone\":\"CET\"}"))),
                new Recorded("Qwen-Qwen2.5-7B-Instruct", "It is 21 °C in <b>Paris</b>.", "It is 21 °C in <b>Paris</b>.", "",
                        List.of()),
                new Recorded("Qwen-Qwen3-0.6B",
                        "<think>\nThe user wants the weather; call the tool.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                        "", "The user wants the weather; call the tool.", List.of(call("", "get_weather", PARIS))),
                new Recorded("Qwen-Qwen3-0.6B", "<think>\nEasy.\n</think>\n\nHello! How can I help?",
                        "Hello! How can I help?", "Easy.", List.of()),
                new Recorded("meta-llama-Llama-3.1-8B-Instruct",
                        "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "",
                        List.of(call("", "get_weather", PARIS))),
                new Recorded("meta-llama-Llama-3.2-3B-Instruct",
                        "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eom_id|>", "", "",
                        List.of(call("", "get_weather", PARIS))),
                new Recorded("meta-llama-Llama-3.3-70B-Instruct", "{not json} is how sets look.",
                        "{not json} is how sets look.", "", List.of()),
                new Recorded("mistralai-Mistral-Nemo-Instruct-2407",
                        "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]",
                        "", "", List.of(call("abc123def", "get_weather", PARIS))),
                new Recorded("Mistral-Small-3.2-24B-Instruct-2506",
                        "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]{}",
                        "Checking.", "", List.of(call("", "get_weather", PARIS), call("", "get_time", "{}"))),
                new Recorded("mistralai-Ministral-3-14B-Reasoning-2512", "[THINK]Simple greeting.[/THINK]Hello!",
                        "Hello!", "Simple greeting.", List.of()),
                new Recorded("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
                        "The user asks for weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                        "", "The user asks for weather.", List.of(call("", "get_weather", PARIS)), true),
                new Recorded("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "Hello! How can I help?",
                        "Hello! How can I help?", "", List.of(), false),
                new Recorded("deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "Two plus two.\n</think>\n\nIt is 4.", "It is 4.",
                        "Two plus two.", List.of()),
                new Recorded("meetkai-functionary-medium-v3.1",
                        "I will look it up. <function=get_weather>{\"city\": \"Paris\"}</function>", "I will look it up.", "",
                        List.of(call("", "get_weather", PARIS))),
                new Recorded("meetkai-functionary-medium-v3.2",
                        "all\nLet me check.>>>get_weather\n{\"city\": \"Paris\"}>>>get_time\n{\"zone\": \"CET\"}",
                        "Let me check.", "", List.of(call("", "get_weather", PARIS), call("", "get_time", "{\"zone\":\"CET\"}"))),
                new Recorded("meetkai-functionary-medium-v3.2", "all\nHello there.", "Hello there.", "", List.of()),
                new Recorded("CohereForAI-c4ai-command-r7b-12-2024-tool_use",
                        "<|START_THINKING|>I should call the weather tool.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n]<|END_ACTION|>",
                        "", "I should call the weather tool.", List.of(call("", "get_weather", PARIS))),
                new Recorded("CohereForAI-c4ai-command-r7b-12-2024-tool_use", "<|START_RESPONSE|>It is sunny.<|END_RESPONSE|>",
                        "It is sunny.", "", List.of()),
                new Recorded("openai-gpt-oss-120b",
                        "<|channel|>analysis<|message|>Need the weather tool.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>",
                        "", "Need the weather tool.", List.of(call("", "get_weather", PARIS))),
                new Recorded("openai-gpt-oss-120b",
                        "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hi! <3 & bye<|return|>",
                        "Hi! <3 & bye", "Greet back.", List.of()),
                new Recorded("google-gemma-2-2b-it",
                        "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}", "", "",
                        List.of(call("", "get_weather", PARIS))),
                new Recorded("google-gemma-2-2b-it", "Plain answer with <tool_call in the middle.",
                        "Plain answer with <tool_call in the middle.", "", List.of()));
    }

    /** The prompt a generation continues: the family's template with a user turn and the generation prompt. */
    static String prompt(ChatTemplate t, ChatFormat format, Boolean think) {
        return format.render(t, List.of(ChatMessage.user("What's the weather in Paris?")), List.of(WEATHER),
                options(), think);
    }

    static Stream<Recorded> recordedOutputs() {
        return recorded().stream();
    }

    @ParameterizedTest
    @MethodSource("recordedOutputs")
    void parsesRecordedOutputsWholeAndInRandomPieces(Recorded r) throws Exception {
        ChatTemplate t = template(r.template());
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = prompt(t, format, r.think());
        ParsedOutput whole = format.parse(prompt, r.output());
        assertThat(whole.text()).isEqualTo(r.text());
        assertThat(whole.thinking()).isEqualTo(r.thinking());
        assertThat(whole.toolCalls()).hasSameSizeAs(r.calls());
        for (int i = 0; i < r.calls().size(); i++) {
            ToolCall want = r.calls().get(i);
            ToolCall got = whole.toolCalls().get(i);
            assertThat(got.name()).isEqualTo(want.name());
            assertThat(got.argumentsJson()).isEqualTo(want.argumentsJson());
            assertThat(got.id()).isEqualTo(want.id().isEmpty() ? got.id() : want.id()).isNotEmpty();
        }
        Random random = new Random(r.output().hashCode());
        for (int round = 0; round < 60; round++) {
            StringBuilder streamedText = new StringBuilder();
            StringBuilder streamedThinking = new StringBuilder();
            OutputParser p = format.newParser(prompt, new OutputParser.Listener() {
                @Override
                public void onText(String text) {
                    assertThat(text).isNotEmpty();
                    streamedText.append(text);
                }

                @Override
                public void onThinking(String thinking) {
                    streamedThinking.append(thinking);
                }
            });
            for (String piece : split(r.output(), random, round)) {
                p.accept(piece);
            }
            ParsedOutput out = p.finish();
            assertThat(out.text()).isEqualTo(whole.text());
            assertThat(out.thinking()).isEqualTo(whole.thinking());
            assertThat(streamedText.toString()).isEqualTo(whole.text());
            assertThat(streamedThinking.toString()).isEqualTo(whole.thinking());
            assertThat(out.toolCalls()).extracting(ToolCall::name, ToolCall::argumentsJson)
                    .containsExactlyElementsOf(whole.toolCalls().stream()
                            .map(c -> org.assertj.core.groups.Tuple.tuple(c.name(), c.argumentsJson())).toList());
        }
    }

    @Test
    void eachBlockOfCallMarkupIsReadOnlyWhenEveryCallInItWasOffered() throws Exception {
        Recorded two = recorded().get(0); // two Hermes blocks: get_weather, then get_time
        ChatTemplate t = template(two.template());
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = prompt(t, format, two.think());
        StringBuilder text = new StringBuilder();
        FormattedSink sink = new FormattedSink(format, prompt, text::append, List.of(WEATHER));
        sink.token(two.output());
        BackendResult result = sink.finish(new BackendResult(FinishReason.LENGTH, 5, 7, List.of(), null));
        assertThat(result.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(result.toolCalls()).extracting(ToolCall::name).containsExactly("get_weather");
        assertThat(text.toString()).isEqualTo("Let me check both.\n\n<tool_call>\n{\"name\": \"get_time\", "
                + "\"arguments\": {\"zone\": \"CET\"}}\n</tool_call>");
    }

    static Stream<Recorded> recordedCalls() {
        return recorded().stream().filter(r -> !r.calls().isEmpty());
    }

    @ParameterizedTest
    @MethodSource("recordedCalls")
    void aCallToAToolThatWasNotOfferedStaysText(Recorded r) throws Exception {
        ChatTemplate t = template(r.template());
        ChatFormat format = ChatFormat.detect(t.source());
        String prompt = prompt(t, format, r.think());
        ToolSpec other = new ToolSpec("get_stock_price", "Get a stock's price", "{\"type\": \"object\"}");
        List<ToolSpec> called = new ArrayList<>(List.of(other));
        r.calls().stream().map(ToolCall::name).distinct()
                .forEach(n -> called.add(new ToolSpec(n, n, "{\"type\": \"object\"}")));
        BackendResult raw = new BackendResult(FinishReason.STOP, 5, 7, List.of(), null);
        Random random = new Random(r.output().hashCode());
        for (int round = 0; round < 10; round++) {
            List<String> pieces = split(r.output(), random, round);
            // offered: the calls are read, as the recorded output says
            StringBuilder offeredText = new StringBuilder();
            FormattedSink offered = new FormattedSink(format, prompt, offeredText::append, called);
            pieces.forEach(offered::token);
            BackendResult withCalls = offered.finish(raw);
            assertThat(withCalls.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(withCalls.toolCalls()).extracting(ToolCall::name)
                    .containsExactlyElementsOf(r.calls().stream().map(ToolCall::name).toList());
            assertThat(offeredText.toString()).isEqualTo(r.text());
            // not offered: no call, the markup and its arguments reach the caller as answer text
            StringBuilder text = new StringBuilder();
            FormattedSink notOffered = new FormattedSink(format, prompt, text::append, List.of(other));
            pieces.forEach(notOffered::token);
            BackendResult result = notOffered.finish(raw);
            assertThat(result.finishReason()).as(r.output()).isEqualTo(FinishReason.STOP);
            assertThat(result.toolCalls()).as(r.output()).isEmpty();
            assertThat(text.toString()).as(r.output()).contains("Paris").startsWith(r.text());
        }
        // the whole-output parser follows the same rule
        OutputParser p = format.newParser(prompt, OutputParser.Listener.NONE, List.of(other.name()));
        p.accept(r.output());
        assertThat(p.finish().toolCalls()).isEmpty();
        OutputParser any = format.newParser(prompt, OutputParser.Listener.NONE, true);
        any.accept(r.output());
        assertThat(any.finish().toolCalls()).as("without the offered names any call is read").isNotEmpty();
    }

    /** Random pieces; round 0 is one character at a time. */
    static List<String> split(String s, Random random, int round) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            int n = round == 0 ? 1 : 1 + random.nextInt(Math.max(1, Math.min(12, s.length() - i)));
            int end = Math.min(s.length(), i + n);
            if (end < s.length() && Character.isHighSurrogate(s.charAt(end - 1))) {
                end++;
            }
            out.add(s.substring(i, end));
            i = end;
        }
        return out;
    }

    @Test
    void malformedToolCallIsKeptAsText() throws Exception {
        ChatTemplate t = template("Qwen-Qwen2.5-7B-Instruct");
        ChatFormat format = ChatFormat.detect(t.source());
        ParsedOutput out = format.parse(prompt(t, format, null), "<tool_call>\n{\"name\": broken\n</tool_call>");
        assertThat(out.toolCalls()).isEmpty();
        assertThat(out.text()).isEqualTo("<tool_call>\n{\"name\": broken\n</tool_call>");
    }

    @Test
    void generatedIdsAreNineLettersOrDigitsAndDistinct() throws Exception {
        ChatTemplate t = template("NousResearch-Hermes-3-Llama-3.1-8B-tool_use");
        ParsedOutput out = ChatFormat.detect(t.source()).parse("", recorded().get(0).output());
        assertThat(out.toolCalls()).extracting(ToolCall::id).allMatch(id -> id.matches("[A-Za-z0-9]{9}"))
                .doesNotHaveDuplicates();
    }

    @Test
    void markupListsWhatTheParserReadsAndEveryTriggerOpensAGrammarOpener() {
        assertThat(ChatFormat.named(ChatFormat.GPT_OSS).markup()).contains("<|start|>", "<|channel|>", "<|message|>",
                "<|constrain|>", "<|end|>", "<|call|>", "<|return|>");
        assertThat(ChatFormat.named(ChatFormat.LLAMA3).markup()).contains("<|python_tag|>", "<|eom_id|>");
        assertThat(ChatFormat.named(ChatFormat.DEEPSEEK_R1).markup()).contains("<｜tool▁calls▁begin｜>",
                "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>", "<think>",
                "</think>");
        assertThat(ChatFormat.named(ChatFormat.COMMAND_R7B).markup()).contains("<|START_THINKING|>",
                "<|END_THINKING|>", "<|START_ACTION|>", "<|END_ACTION|>", "<|START_RESPONSE|>");
        assertThat(ChatFormat.named(ChatFormat.MISTRAL).markup()).contains("[TOOL_CALLS]", "[ARGS]", "[THINK]");
        for (String name : ChatFormat.names()) {
            assertThat(ChatFormat.named(name).markup()).as(name).isNotEmpty().noneMatch(String::isBlank);
        }
        ToolSpec tool = new ToolSpec("get_weather", "weather", "{\"type\": \"object\"}");
        for (String name : List.of(ChatFormat.HERMES, ChatFormat.QWEN3, ChatFormat.LLAMA3, ChatFormat.MISTRAL,
                ChatFormat.DEEPSEEK_R1, ChatFormat.FUNCTIONARY_V3_1, ChatFormat.FUNCTIONARY_V3_2,
                ChatFormat.COMMAND_R7B, ChatFormat.GENERIC)) {
            ChatFormat f = ChatFormat.named(name);
            List<String> openers = io.github.locallm.grammar.ToolCallGrammar.openers(f, "", List.of(tool));
            assertThat(openers).as(name).isNotEmpty().allMatch(o -> o.contains("get_weather"));
            for (String trigger : f.toolCallTriggers()) {
                assertThat(openers).as("%s: an opener starts with %s", name, trigger)
                        .anyMatch(o -> o.startsWith(trigger));
            }
        }
    }
}
