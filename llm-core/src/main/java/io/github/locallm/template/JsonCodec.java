package io.github.locallm.template;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A small JSON reader and writer whose output matches Python's {@code json.dumps}.
 *
 * <p>Chat templates print tool schemas and tool-call arguments with {@code tojson}, and the text
 * they produce must equal what Python renders, so the writer follows {@code json.dumps}: its
 * separators, its indentation, its escapes (with {@code ensure_ascii} on or off) and Python's
 * shortest round-trip printing of floats. The reader accepts standard JSON (plus Python's
 * {@code NaN} and {@code Infinity}) and yields {@link LinkedHashMap}, {@link ArrayList},
 * {@link String}, {@link Long}, {@link Double}, {@link Boolean} and {@code null}.
 *
 * <p>The template engine's own codec, kept in its package: {@code tojson} needs every one of these options.
 * Other code reaches the two forms it needs through {@link PythonJson}. Failures are
 * {@link PythonJson.JsonException}. Stateless and thread-safe.
 */
final class JsonCodec {
    /** Maximum nesting depth of arrays and objects, in both directions. */
    static final int MAX_DEPTH = 512;

    private JsonCodec() {
    }

    /** Options of {@link #write}, named like the arguments of Python's {@code json.dumps}. */
    static final class WriteOptions {
        String indent;
        String itemSeparator;
        String keySeparator = ": ";
        boolean sortKeys;
        boolean ensureAscii;
        long maxChars = Long.MAX_VALUE;
        Function<Object, Object> adapter = v -> {
            throw new PythonJson.JsonException("Object of type " + v.getClass().getSimpleName() + " is not JSON serializable");
        };

        /** @return options as {@code json.dumps(x)} with {@code ensure_ascii=False} */
        static WriteOptions python() {
            return new WriteOptions();
        }

        /**
         * @param indent indentation text per level, or {@code null} for one line
         * @return this
         */
        WriteOptions indent(String indent) {
            this.indent = indent;
            return this;
        }

        /**
         * @param item separator between items
         * @param key separator between key and value
         * @return this
         */
        WriteOptions separators(String item, String key) {
            this.itemSeparator = item;
            this.keySeparator = key;
            return this;
        }

        /**
         * @param sort whether object keys are sorted
         * @return this
         */
        WriteOptions sortKeys(boolean sort) {
            this.sortKeys = sort;
            return this;
        }

        /**
         * @param ascii whether non-ASCII characters are escaped
         * @return this
         */
        WriteOptions ensureAscii(boolean ascii) {
            this.ensureAscii = ascii;
            return this;
        }

        /**
         * @param max the longest text to produce; writing more throws {@link PythonJson.JsonException}
         * @return this
         */
        WriteOptions maxChars(long max) {
            this.maxChars = max;
            return this;
        }

        /**
         * @param adapter turns a value of another type into a writable one (for example a tuple into a
         *     list), or throws {@link PythonJson.JsonException}
         * @return this
         */
        WriteOptions adapter(Function<Object, Object> adapter) {
            this.adapter = adapter;
            return this;
        }
    }

    /**
     * Parses a JSON text.
     *
     * @param text the JSON text
     * @return the value
     * @throws PythonJson.JsonException if the text is not valid JSON
     */
    static Object parse(String text) {
        Reader r = new Reader(text);
        r.skipWs();
        Object v = r.value(0);
        r.skipWs();
        if (r.pos != text.length()) {
            throw r.error("extra data");
        }
        return v;
    }

    /**
     * Writes a value as {@code json.dumps} would.
     *
     * @param value a map, list, string, number, boolean or {@code null}
     * @param options separators, indentation and escaping
     * @return the JSON text
     * @throws PythonJson.JsonException if a value cannot be written
     */
    static String write(Object value, WriteOptions options) {
        StringBuilder sb = new StringBuilder();
        String itemSep = options.itemSeparator != null ? options.itemSeparator : options.indent != null ? "," : ", ";
        new Writer(sb, options, itemSep).value(value, 0);
        return sb.toString();
    }

    /**
     * Prints a double as Python's {@code repr(float)} does: the shortest text that reads back to the
     * same value, in positional notation for decimal exponents from -4 to 15, in scientific
     * notation otherwise.
     *
     * @param d the value
     * @return for example {@code 1.0}, {@code 0.1}, {@code 1e-05}, {@code 1e+16}, {@code inf}
     */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(d);
        BigDecimal shortest = exact;
        for (int p = 1; p <= 17; p++) {
            BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (r.doubleValue() == d) {
                shortest = r;
                break;
            }
        }
        shortest = shortest.stripTrailingZeros();
        String digits = shortest.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - shortest.scale();
        String sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = shortest.abs().toPlainString();
            return sign + (plain.indexOf('.') < 0 ? plain + ".0" : plain);
        }
        StringBuilder sb = new StringBuilder(sign).append(digits.charAt(0));
        if (digits.length() > 1) {
            sb.append('.').append(digits, 1, digits.length());
        }
        sb.append('e').append(exp < 0 ? '-' : '+');
        int a = Math.abs(exp);
        if (a < 10) {
            sb.append('0');
        }
        return sb.append(a).toString();
    }

    private static final class Writer {
        private final StringBuilder sb;
        private final WriteOptions o;
        private final String itemSep;

        Writer(StringBuilder sb, WriteOptions o, String itemSep) {
            this.sb = sb;
            this.o = o;
            this.itemSep = itemSep;
        }

        void value(Object v, int depth) {
            if (depth > MAX_DEPTH) {
                throw new PythonJson.JsonException("value nested deeper than " + MAX_DEPTH + " levels (or circular)");
            }
            if (sb.length() > o.maxChars) {
                throw new PythonJson.JsonException("JSON text exceeds the limit of " + o.maxChars + " characters");
            }
            if (v == null) {
                sb.append("null");
            } else if (v instanceof String s) {
                string(s);
            } else if (v instanceof Boolean b) {
                sb.append(b ? "true" : "false");
            } else if (v instanceof Double || v instanceof Float) {
                double d = ((Number) v).doubleValue();
                if (Double.isNaN(d)) {
                    sb.append("NaN");
                } else if (Double.isInfinite(d)) {
                    sb.append(d > 0 ? "Infinity" : "-Infinity");
                } else {
                    sb.append(pythonFloat(d));
                }
            } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                    || v instanceof BigInteger) {
                sb.append(v);
            } else if (v instanceof Map<?, ?> m) {
                object(m, depth);
            } else if (v instanceof List<?> l) {
                array(l, depth);
            } else {
                Object adapted = o.adapter.apply(v);
                if (adapted != null && adapted.getClass() == v.getClass()) {
                    throw new PythonJson.JsonException("Object of type " + v.getClass().getSimpleName() + " is not JSON serializable");
                }
                value(adapted, depth);
            }
            if (sb.length() > o.maxChars) {
                throw new PythonJson.JsonException("JSON text exceeds the limit of " + o.maxChars + " characters");
            }
        }

        private void newline(int level) {
            if (sb.length() + (long) level * o.indent.length() > o.maxChars) {
                throw new PythonJson.JsonException("JSON text exceeds the limit of " + o.maxChars + " characters");
            }
            sb.append('\n');
            for (int i = 0; i < level; i++) {
                sb.append(o.indent);
            }
        }

        private void array(List<?> l, int depth) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (Object e : l) {
                if (!first) {
                    sb.append(itemSep);
                }
                first = false;
                if (o.indent != null) {
                    newline(depth + 1);
                }
                value(e, depth + 1);
            }
            if (o.indent != null) {
                newline(depth);
            }
            sb.append(']');
        }

        private void object(Map<?, ?> m, int depth) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            Map<String, Object> entries = o.sortKeys ? new TreeMap<>() : new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                entries.put(key(e.getKey()), e.getValue());
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : entries.entrySet()) {
                if (!first) {
                    sb.append(itemSep);
                }
                first = false;
                if (o.indent != null) {
                    newline(depth + 1);
                }
                string(e.getKey());
                sb.append(o.keySeparator);
                value(e.getValue(), depth + 1);
            }
            if (o.indent != null) {
                newline(depth);
            }
            sb.append('}');
        }

        private String key(Object k) {
            if (k instanceof String s) {
                return s;
            }
            if (k == null) {
                return "null";
            }
            if (k instanceof Boolean b) {
                return b ? "true" : "false";
            }
            if (k instanceof Double d) {
                return pythonFloat(d);
            }
            if (k instanceof Number n) {
                return n.toString();
            }
            throw new PythonJson.JsonException("keys must be str, int, float, bool or None, not "
                    + k.getClass().getSimpleName());
        }

        private void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (o.ensureAscii && c > 0x7f)) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }

    private static final class Reader {
        private final String s;
        int pos;

        Reader(String s) {
            this.s = s;
        }

        PythonJson.JsonException error(String what) {
            int line = 1;
            int col = 1;
            for (int i = 0; i < Math.min(pos, s.length()); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return new PythonJson.JsonException(what + " at line " + line + " column " + col + " (char " + pos + ")");
        }

        void skipWs() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nested deeper than " + MAX_DEPTH + " levels");
            }
            if (pos >= s.length()) {
                throw error("expecting value");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth);
                case '[':
                    return array(depth);
                case '"':
                    return string();
                default:
                    break;
            }
            if (s.startsWith("true", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", pos)) {
                pos += 4;
                return null;
            }
            if (s.startsWith("NaN", pos)) {
                pos += 3;
                return Double.NaN;
            }
            if (s.startsWith("Infinity", pos)) {
                pos += 8;
                return Double.POSITIVE_INFINITY;
            }
            if (s.startsWith("-Infinity", pos)) {
                pos += 9;
                return Double.NEGATIVE_INFINITY;
            }
            if (c == '-' || (c >= '0' && c <= '9')) {
                return number();
            }
            throw error("expecting value");
        }

        private Object number() {
            int start = pos;
            if (s.charAt(pos) == '-') {
                pos++;
            }
            int digits = pos;
            while (pos < s.length() && Character.isDigit(s.charAt(pos)) && s.charAt(pos) < 128) {
                pos++;
            }
            if (pos == digits || (s.charAt(digits) == '0' && pos - digits > 1)) {
                pos = start;
                throw error("expecting value");
            }
            boolean isFloat = false;
            if (pos < s.length() && s.charAt(pos) == '.') {
                int f = ++pos;
                while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                    pos++;
                }
                if (pos == f) {
                    throw error("invalid number");
                }
                isFloat = true;
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                    pos++;
                }
                int e = pos;
                while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                    pos++;
                }
                if (pos == e) {
                    throw error("invalid number");
                }
                isFloat = true;
            }
            String t = s.substring(start, pos);
            if (isFloat) {
                return Double.parseDouble(t);
            }
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException ex) {
                return Double.parseDouble(t);
            }
        }

        private String string() {
            pos++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(pos++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c == '\\') {
                    if (pos >= s.length()) {
                        throw error("unterminated string");
                    }
                    char e = s.charAt(pos++);
                    switch (e) {
                        case '"' -> sb.append('"');
                        case '\\' -> sb.append('\\');
                        case '/' -> sb.append('/');
                        case 'b' -> sb.append('\b');
                        case 'f' -> sb.append('\f');
                        case 'n' -> sb.append('\n');
                        case 'r' -> sb.append('\r');
                        case 't' -> sb.append('\t');
                        case 'u' -> {
                            if (pos + 4 > s.length()) {
                                throw error("invalid \\u escape");
                            }
                            // exactly four hex digits: Integer.parseInt would also take a sign ("\\u+041")
                            int code = 0;
                            for (int k = 0; k < 4; k++) {
                                int digit = Character.digit(s.charAt(pos + k), 16);
                                if (digit < 0 || s.charAt(pos + k) > 'f') {
                                    throw error("invalid \\u escape");
                                }
                                code = code * 16 + digit;
                            }
                            sb.append((char) code);
                            pos += 4;
                        }
                        default -> {
                            pos--;
                            throw error("invalid escape");
                        }
                    }
                } else if (c < 0x20) {
                    pos--;
                    throw error("invalid control character in string");
                } else {
                    sb.append(c);
                }
            }
        }

        private List<Object> array(int depth) {
            pos++;
            List<Object> out = new ArrayList<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return out;
            }
            while (true) {
                skipWs();
                out.add(value(depth + 1));
                skipWs();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                } else if (pos < s.length() && s.charAt(pos) == ']') {
                    pos++;
                    return out;
                } else {
                    throw error("expecting ',' or ']'");
                }
            }
        }

        private Map<String, Object> object(int depth) {
            pos++;
            Map<String, Object> out = new LinkedHashMap<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return out;
            }
            while (true) {
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != '"') {
                    throw error("expecting property name enclosed in double quotes");
                }
                String k = string();
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != ':') {
                    throw error("expecting ':' delimiter");
                }
                pos++;
                skipWs();
                out.put(k, value(depth + 1));
                skipWs();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                } else if (pos < s.length() && s.charAt(pos) == '}') {
                    pos++;
                    return out;
                } else {
                    throw error("expecting ',' or '}'");
                }
            }
        }
    }
}
