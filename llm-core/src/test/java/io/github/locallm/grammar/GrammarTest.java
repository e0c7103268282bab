package io.github.locallm.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.format.ParsedOutput;
import io.github.locallm.template.PythonJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The JSON-schema grammar, the tool-call grammars and the Java matcher: what the grammar accepts is exactly
 * what the schema allows, and random walks that only take allowed tokens always end in a valid value.
 */
class GrammarTest {
    static final String WEATHER_SCHEMA = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\","
            + " \"maxLength\": 12}, \"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]},"
            + " \"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}";

    static final String RICH_SCHEMA = "{\"type\": \"object\", \"properties\": {"
            + "\"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 8},"
            + "\"age\": {\"type\": \"integer\"}, \"score\": {\"type\": \"number\"},"
            + "\"ok\": {\"type\": \"boolean\"}, \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\","
            + " \"maxLength\": 4}, \"maxItems\": 3},"
            + "\"kind\": {\"enum\": [\"a\", 1, null]}, \"pet\": {\"$ref\": \"#/$defs/pet\"},"
            + "\"either\": {\"anyOf\": [{\"type\": \"null\"}, {\"type\": \"string\", \"maxLength\": 3}]}},"
            + "\"required\": [\"name\", \"ok\"], \"$defs\": {\"pet\": {\"type\": \"object\", \"properties\":"
            + " {\"legs\": {\"type\": \"integer\"}}, \"required\": [\"legs\"]}}}";

    static boolean accepts(GrammarMatcher m, String text) {
        GrammarMatcher.State s = m.advance(m.start(), text);
        return s != null && m.isComplete(s);
    }

    @Test
    void schemaGrammarAcceptsValidAndRefusesInvalidValues() {
        GrammarMatcher m = GrammarMatcher.compile(JsonSchemaGrammar.fromSchema(WEATHER_SCHEMA));
        assertThat(accepts(m, "{\"city\": \"Paris\"}")).isTrue();
        assertThat(accepts(m, "{\"city\":\"Paris\",\"unit\":\"celsius\",\"days\":-3}")).isTrue();
        assertThat(accepts(m, "{\"city\": \"Paris\", \"days\": 2}")).isTrue();
        assertThat(accepts(m, "{}")).isFalse();
        assertThat(accepts(m, "{\"unit\": \"celsius\"}")).isFalse();
        assertThat(accepts(m, "{\"city\": \"Paris\", \"unit\": \"kelvin\"}")).isFalse();
        assertThat(accepts(m, "{\"city\": \"Paris\", \"days\": 1.5}")).isFalse();
        assertThat(accepts(m, "{\"city\": \"Paris is a long name\"}")).isFalse();
        assertThat(accepts(m, "{\"city\": \"Paris\"")).isFalse();
        assertThat(m.advance(m.start(), "{\"city\": \"Paris\"")).isNotNull();
        assertThat(m.advance(m.start(), "[")).isNull();
    }

    @Test
    void optionalOnlyPropertiesAnySubsetInOrder() {
        GrammarMatcher m = GrammarMatcher.compile(JsonSchemaGrammar.fromSchema("{\"type\": \"object\", \"properties\":"
                + " {\"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"integer\"}, \"c\": {\"type\": \"integer\"}}}"));
        for (String ok : List.of("{}", "{\"a\":1}", "{\"b\":1}", "{\"c\":1}", "{\"a\":1,\"c\":2}", "{\"a\":1,\"b\":2,\"c\":3}")) {
            assertThat(accepts(m, ok)).as(ok).isTrue();
        }
        for (String bad : List.of("{,}", "{\"a\":1,}", "{\"c\":1,\"a\":2}", "{\"d\":1}")) {
            assertThat(accepts(m, bad)).as(bad).isFalse();
        }
    }

    @Test
    void anyJsonGrammar() {
        GrammarMatcher m = GrammarMatcher.compile(JsonSchemaGrammar.anyJson());
        assertThat(accepts(m, "{\"a\": [1, 2.5e3, \"x\\n\\u00e9\", true, null, {}]}")).isTrue();
        assertThat(accepts(m, "[\"\u00e9\"]")).isTrue();
        assertThat(accepts(m, "{\"a\" 1}")).isFalse();
        assertThat(accepts(m, "01")).isFalse();
    }

    @Test
    void unsupportedKeywordsAreRefusedByName() {
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"type\": \"string\", \"pattern\": \"^a$\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'pattern'");
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("[1]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JsonSchemaGrammar.fromSchema("{\"$ref\": \"#/$defs/x\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("points to nothing");
        assertThatThrownBy(() -> GrammarMatcher.compile("root ::= foo")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'foo'");
        assertThatThrownBy(() -> GrammarMatcher.compile("a ::= \"x\"")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("root");
    }

    /** Token texts of a small made-up vocabulary: characters, JSON pieces and longer words. */
    static List<String> vocabulary() {
        List<String> v = new ArrayList<>();
        v.add(null); // 0: end of generation
        for (char c = 0x20; c < 0x7f; c++) {
            v.add(String.valueOf(c));
        }
        v.addAll(List.of("\n", "\t", "é", "{\"", "\":", "\", \"", "true", "false", "null", "name", "age", "score",
                "ok", "tags", "kind", "pet", "legs", "either", "city", "unit", "celsius", "fahrenheit", "days", "12",
                "-0", "0.5", "e+3", "\\u00e9", "\\n", "},", "]}", "<tool_call>", "</tool_call>", "\n{\"name\": ",
                "[TOOL_CALLS]", "<function=", "</function>", "get_weather", "get_time", "\", \"arguments\": ",
                "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "function", "<｜tool▁sep｜>", "```json", "```",
                "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>", "<|python_tag|>", "｜", "▁"));
        return v;
    }

    /** A random walk over the vocabulary, taking only allowed tokens, until an end token. */
    static String walk(TokenMask mask, GrammarMatcher m, List<String> vocab, Random random, int maxTokens) {
        GrammarMatcher.State s = m.start();
        StringBuilder out = new StringBuilder();
        for (int step = 0; step < maxTokens; step++) {
            boolean[] ok = mask.allowed(s);
            List<Integer> choices = new ArrayList<>();
            for (int i = 0; i < ok.length; i++) {
                if (ok[i]) {
                    choices.add(i);
                }
            }
            assertThat(choices).as("some token is always allowed after %s", out).isNotEmpty();
            // prefer ending or closing now and then so walks finish
            int id = choices.contains(0) && random.nextInt(3) == 0 ? 0 : choices.get(random.nextInt(choices.size()));
            if (id == 0) {
                return out.toString();
            }
            out.append(vocab.get(id));
            s = m.advance(s, vocab.get(id));
        }
        return null;
    }

    @ParameterizedTest
    @ValueSource(strings = {WEATHER_SCHEMA, RICH_SCHEMA})
    void randomWalksUnderTheMaskAlwaysGiveValidValues(String schema) {
        GrammarMatcher m = GrammarMatcher.compile(JsonSchemaGrammar.fromSchema(schema));
        List<String> vocab = vocabulary();
        TokenMask mask = new TokenMask(m, vocab, id -> id == 0);
        int finished = 0;
        for (int seed = 0; seed < 60; seed++) {
            String out = walk(mask, m, vocab, new Random(seed), 400);
            if (out == null) {
                continue;
            }
            finished++;
            Object value = PythonJson.loads(out);
            assertThat(SchemaCheck.valid(value, PythonJson.loads(schema), PythonJson.loads(schema)))
                    .as("seed %d gave %s", seed, out).isTrue();
        }
        assertThat(finished).as("walks that reached an end token").isGreaterThan(30);
    }

    static final ToolSpec WEATHER = new ToolSpec("get_weather", "weather", WEATHER_SCHEMA);
    static final ToolSpec TIME = new ToolSpec("get_time", "time", "{\"type\": \"object\", \"properties\": "
            + "{\"zone\": {\"type\": \"string\", \"maxLength\": 5}}, \"required\": [\"zone\"]}");

    static String template(String name) throws IOException {
        return Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates", name + ".jinja"),
                StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "Qwen-Qwen3-0.6B",
            "meta-llama-Llama-3.1-8B-Instruct", "mistralai-Mistral-Nemo-Instruct-2407",
            "Mistral-Small-3.2-24B-Instruct-2506", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
            "meetkai-functionary-medium-v3.1", "meetkai-functionary-medium-v3.2",
            "CohereForAI-c4ai-command-r7b-12-2024-tool_use", "openai-gpt-oss-120b", "google-gemma-2-2b-it"})
    void everyCallTheToolGrammarAllowsParsesBackIntoAValidCall(String templateName) throws IOException {
        String source = template(templateName);
        ChatFormat format = ChatFormat.detect(source);
        String gbnf = ToolCallGrammar.of(format, source, List.of(WEATHER, TIME), true);
        GrammarMatcher m = GrammarMatcher.compile(gbnf);
        List<String> vocab = vocabulary();
        TokenMask mask = new TokenMask(m, vocab, id -> id == 0);
        String prompt = format.name().equals(ChatFormat.GPT_OSS) ? "<|start|>assistant"
                : format.name().equals(ChatFormat.FUNCTIONARY_V3_2) ? ">>>" : "";
        int finished = 0;
        for (int seed = 0; seed < 25; seed++) {
            String out = walk(mask, m, vocab, new Random(seed), 400);
            if (out == null) {
                continue;
            }
            finished++;
            ParsedOutput parsed = format.parse(prompt, out);
            assertThat(parsed.toolCalls()).as("%s parsed from %s", format.name(), out).hasSize(1);
            ToolCall call = parsed.toolCalls().get(0);
            ToolSpec tool = call.name().equals("get_weather") ? WEATHER : TIME;
            assertThat(call.name()).isIn("get_weather", "get_time");
            Object schema = PythonJson.loads(tool.parametersSchema());
            assertThat(SchemaCheck.valid(PythonJson.loads(call.argumentsJson()), schema, schema)).isTrue();
        }
        assertThat(finished).isGreaterThan(10);
        // lazily applied grammars start with the format's first trigger
        if (!format.name().equals(ChatFormat.GPT_OSS)) {
            String lazy = ToolCallGrammar.of(format, source, List.of(WEATHER), false);
            String trigger = format.toolCallTriggers().get(0);
            assertThat(GrammarMatcher.compile(lazy).advance(GrammarMatcher.compile(lazy).start(), trigger))
                    .as("trigger %s", trigger).isNotNull();
        }
    }

    @Test
    void theLazyHermesGrammarTakesParallelCallsOneBlockAfterTheOther() throws IOException {
        String source = template("NousResearch-Hermes-3-Llama-3.1-8B-tool_use");
        ChatFormat format = ChatFormat.detect(source);
        GrammarMatcher m = GrammarMatcher.compile(ToolCallGrammar.of(format, source, List.of(WEATHER, TIME), false));
        String weather = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        String time = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}\n</tool_call>";

        GrammarMatcher.State one = m.advance(m.start(), weather);
        GrammarMatcher.State two = m.advance(m.start(), weather + "\n" + time);

        assertThat(one).isNotNull();
        assertThat(m.isComplete(one)).isTrue();
        assertThat(two).isNotNull();
        assertThat(m.isComplete(two)).isTrue();
        assertThat(format.parse("", weather + "\n" + time).toolCalls()).extracting(ToolCall::name)
                .containsExactly("get_weather", "get_time");
        // a required call (the whole output) stays one call
        GrammarMatcher whole = GrammarMatcher.compile(ToolCallGrammar.of(format, source, List.of(WEATHER, TIME), true));
        assertThat(whole.advance(whole.start(), weather + "\n" + time)).isNull();
    }

    /** A checker for the schema subset, written independently of the grammar. */
    static final class SchemaCheck {
        @SuppressWarnings("unchecked")
        static boolean valid(Object v, Object schemaObj, Object root) {
            Map<String, Object> s = (Map<String, Object>) schemaObj;
            if (s.containsKey("$ref")) {
                String name = ((String) s.get("$ref")).substring("#/$defs/".length());
                return valid(v, ((Map<String, Object>) ((Map<String, Object>) root).get("$defs")).get(name), root);
            }
            if (s.containsKey("enum")) {
                return ((List<Object>) s.get("enum")).stream().anyMatch(e -> java.util.Objects.equals(e, v));
            }
            if (s.containsKey("anyOf")) {
                return ((List<Object>) s.get("anyOf")).stream().anyMatch(o -> valid(v, o, root));
            }
            String type = (String) s.get("type");
            if (type == null) {
                return true;
            }
            switch (type) {
                case "object": {
                    if (!(v instanceof Map<?, ?> m)) {
                        return false;
                    }
                    Map<String, Object> props = (Map<String, Object>) s.getOrDefault("properties", Map.of());
                    for (Object r : (List<Object>) s.getOrDefault("required", List.of())) {
                        if (!m.containsKey(r)) {
                            return false;
                        }
                    }
                    for (Map.Entry<?, ?> e : m.entrySet()) {
                        if (!props.containsKey(e.getKey()) || !valid(e.getValue(), props.get(e.getKey()), root)) {
                            return false;
                        }
                    }
                    return true;
                }
                case "array": {
                    if (!(v instanceof List<?> l)) {
                        return false;
                    }
                    if (s.containsKey("maxItems") && l.size() > (Long) s.get("maxItems")) {
                        return false;
                    }
                    return l.stream().allMatch(x -> !s.containsKey("items") || valid(x, s.get("items"), root));
                }
                case "string": {
                    if (!(v instanceof String str)) {
                        return false;
                    }
                    long n = str.codePointCount(0, str.length());
                    return n >= (Long) s.getOrDefault("minLength", 0L) && n <= (Long) s.getOrDefault("maxLength",
                            Long.MAX_VALUE);
                }
                case "integer":
                    return v instanceof Long;
                case "number":
                    return v instanceof Long || v instanceof Double;
                case "boolean":
                    return v instanceof Boolean;
                case "null":
                    return v == null;
                default:
                    return false;
            }
        }
    }
}
