package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The template engine's JSON codec ({@code tojson}, tool schemas, tool-call arguments) and its public surface. */
class JsonCodecTest {

    @Test
    void unicodeEscapesTakeExactlyFourHexDigits() {
        assertThat(JsonCodec.parse("\"\\u0041\\u00e9\\u00E9\"")).isEqualTo("A\u00e9\u00e9");
        for (String bad : List.of("\\u+041", "\\u-041", "\\u 041", "\\u004", "\\u00g1", "\\u\uff10041")) {
            assertThatThrownBy(() -> JsonCodec.parse("\"" + bad + "\"")).as(bad)
                    .isInstanceOf(PythonJson.JsonException.class).hasMessageContaining("escape");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void parsesStandardJsonInOrder() {
        Object v = JsonCodec.parse(" {\"b\": [1, 2.5, -3e2, true, false, null], \"a\": \"\\u00e9\\n\\\"\", \"c\": {}} ");
        assertThat(v).isInstanceOf(LinkedHashMap.class);
        Map<String, Object> m = (Map<String, Object>) v;
        assertThat(m.keySet()).containsExactly("b", "a", "c");
        assertThat(m.get("b")).isEqualTo(java.util.Arrays.asList(1L, 2.5, -300.0, true, false, null));
        assertThat(m.get("a")).isEqualTo("é\n\"");
        assertThat(m.get("c")).isEqualTo(Map.of());
    }

    @Test
    void rejectsInvalidJsonWithPosition() {
        assertThatThrownBy(() -> JsonCodec.parse("{\"a\": }")).isInstanceOf(PythonJson.JsonException.class)
                .hasMessageContaining("line 1 column 7");
        assertThatThrownBy(() -> JsonCodec.parse("[1, 2")).isInstanceOf(PythonJson.JsonException.class);
        assertThatThrownBy(() -> JsonCodec.parse("{} x")).isInstanceOf(PythonJson.JsonException.class)
                .hasMessageContaining("extra data");
        assertThatThrownBy(() -> JsonCodec.parse("[01]")).isInstanceOf(PythonJson.JsonException.class);
        assertThatThrownBy(() -> JsonCodec.parse("[".repeat(10_000))).isInstanceOf(PythonJson.JsonException.class)
                .hasMessageContaining("nested");
    }

    @Test
    void writesLikePythonJsonDumps() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of(1L, 2.0, "x\"\\\n\u0001é"));
        m.put("a", null);
        assertThat(JsonCodec.write(m, JsonCodec.WriteOptions.python()))
                .isEqualTo("{\"b\": [1, 2.0, \"x\\\"\\\\\\n\\u0001é\"], \"a\": null}");
        assertThat(JsonCodec.write(m, JsonCodec.WriteOptions.python().indent("  ").sortKeys(true)))
                .isEqualTo("{\n  \"a\": null,\n  \"b\": [\n    1,\n    2.0,\n    \"x\\\"\\\\\\n\\u0001é\"\n  ]\n}");
        assertThat(JsonCodec.write("é😀", JsonCodec.WriteOptions.python().ensureAscii(true)))
                .isEqualTo("\"\\u00e9\\ud83d\\ude00\"");
        assertThat(JsonCodec.write(List.of(1L, 2L), JsonCodec.WriteOptions.python().separators(",", ":")))
                .isEqualTo("[1,2]");
        assertThatThrownBy(() -> JsonCodec.write(new Object(), JsonCodec.WriteOptions.python()))
                .isInstanceOf(PythonJson.JsonException.class).hasMessageContaining("not JSON serializable");
        assertThatThrownBy(() -> JsonCodec.write(List.of("x".repeat(100)), JsonCodec.WriteOptions.python().maxChars(10)))
                .isInstanceOf(PythonJson.JsonException.class);
    }

    @Test
    void printsFloatsLikePythonRepr() {
        assertThat(JsonCodec.pythonFloat(1.0)).isEqualTo("1.0");
        assertThat(JsonCodec.pythonFloat(0.1 + 0.2)).isEqualTo("0.30000000000000004");
        assertThat(JsonCodec.pythonFloat(1e16)).isEqualTo("1e+16");
        assertThat(JsonCodec.pythonFloat(1e15)).isEqualTo("1000000000000000.0");
        assertThat(JsonCodec.pythonFloat(1e-5)).isEqualTo("1e-05");
        assertThat(JsonCodec.pythonFloat(0.0001)).isEqualTo("0.0001");
        assertThat(JsonCodec.pythonFloat(-0.0)).isEqualTo("-0.0");
        assertThat(JsonCodec.pythonFloat(2.5e-7)).isEqualTo("2.5e-07");
        assertThat(JsonCodec.pythonFloat(1.7976931348623157e308)).isEqualTo("1.7976931348623157e+308");
        assertThat(JsonCodec.pythonFloat(Double.NaN)).isEqualTo("nan");
        assertThat(JsonCodec.pythonFloat(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
        // JDK 17's Double.toString is not always shortest; Python's repr is.
        assertThat(JsonCodec.pythonFloat(2.0E-3)).isEqualTo("0.002");
        assertThat(JsonCodec.pythonFloat(1.0E23)).isEqualTo("1e+23");
    }

    @Test
    void thePublicSurfaceReadsAndWritesAsPythonDoes() {
        Object v = PythonJson.loads("{\"b\": [1, 2.5], \"a\": \"\u00e9\"}");
        assertThat(v).isInstanceOf(LinkedHashMap.class).isEqualTo(JsonCodec.parse("{\"b\": [1, 2.5], \"a\": \"é\"}"));
        assertThat(PythonJson.dumps(v)).isEqualTo("{\"b\": [1, 2.5], \"a\": \"é\"}");
        assertThat(PythonJson.dumpsCompact(v)).isEqualTo("{\"b\":[1,2.5],\"a\":\"é\"}");
        assertThatThrownBy(() -> PythonJson.loads("\"\\u+041\"")).isInstanceOf(PythonJson.JsonException.class)
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("escape");
        assertThatThrownBy(() -> PythonJson.dumps(List.of(new Object()))).isInstanceOf(PythonJson.JsonException.class)
                .hasMessageContaining("not JSON serializable");
        assertThatThrownBy(() -> PythonJson.loads(null)).isInstanceOf(NullPointerException.class);
    }
}
