package io.github.locallm.template;

/**
 * JSON read and written the way chat templates see it: text parsed into the values a template works with, and
 * values printed exactly as Python's {@code json.dumps} prints them.
 *
 * <p>Chat templates are Python programs in all but name: they receive tool schemas and tool-call arguments as
 * Python values and print them with {@code tojson}, and the prompt a model was trained on holds that exact text.
 * Code that builds or reads prompt text beside the templates (the chat formats of
 * {@link io.github.locallm.format}, the tool-call grammars of {@link io.github.locallm.grammar}) must see the same
 * values and print the same text, so it comes here rather than to a general-purpose JSON library.
 *
 * <p>{@link #loads} accepts standard JSON (and Python's {@code NaN}, {@code Infinity}, {@code -Infinity}) and
 * yields the template's values: {@link java.util.LinkedHashMap} (keys in document order),
 * {@link java.util.ArrayList}, {@link String}, {@link Long}, {@link Double}, {@link Boolean} and {@code null}.
 * The writers accept those values (and any {@link java.util.Map}, {@link java.util.List}, integer or floating
 * point {@link Number}); floats are printed as Python's {@code repr(float)} prints them ({@code 1.0},
 * {@code 1e-05}). Nesting deeper than 512 levels is refused in both directions.
 *
 * <pre>{@code
 * Object schema = PythonJson.loads("{\"type\": \"object\"}");
 * String text = PythonJson.dumps(schema);           // {"type": "object"}
 * String compact = PythonJson.dumpsCompact(schema); // {"type":"object"}
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class PythonJson {
    private PythonJson() {
    }

    /**
     * Thrown when a text is not valid JSON, or when a value cannot be written as JSON (a type JSON has no form
     * for, or nesting too deep). The message says what and where, as Python's {@code json} module does.
     *
     * <p>Instances are immutable and safe to share between threads.
     */
    public static final class JsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    /**
     * Parses a JSON text, as Python's {@code json.loads} does.
     *
     * @param text the JSON text
     * @return the value: a map, list, string, long, double, boolean or {@code null}
     * @throws JsonException if the text is not valid JSON
     */
    public static Object loads(String text) {
        return JsonCodec.parse(java.util.Objects.requireNonNull(text, "text"));
    }

    /**
     * Writes a value as {@code json.dumps(value, ensure_ascii=False)} does: separators {@code ", "} and
     * {@code ": "}, keys in the map's order, non-ASCII characters as they are.
     *
     * @param value a map, list, string, number, boolean or {@code null}
     * @return the JSON text on one line
     * @throws JsonException if the value (or a value inside it) cannot be written as JSON
     */
    public static String dumps(Object value) {
        return JsonCodec.write(value, JsonCodec.WriteOptions.python());
    }

    /**
     * Writes a value as {@code json.dumps(value, ensure_ascii=False, separators=(",", ":"))} does: no spaces
     * between items, keys in the map's order.
     *
     * @param value a map, list, string, number, boolean or {@code null}
     * @return the JSON text without spaces outside strings
     * @throws JsonException if the value (or a value inside it) cannot be written as JSON
     */
    public static String dumpsCompact(Object value) {
        return JsonCodec.write(value, JsonCodec.WriteOptions.python().separators(",", ":"));
    }
}
