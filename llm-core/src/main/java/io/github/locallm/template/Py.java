package io.github.locallm.template;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The values a template works with and Python's rules for them: truthiness, {@code str()} and
 * {@code repr()}, equality, ordering, arithmetic, iteration, indexing and slicing.
 *
 * <p>Values are {@code null} (Python's {@code None}), {@link Undefined}, {@link String},
 * {@link Boolean}, {@link Long}, {@link Double}, {@link List} (a Python list), {@link Tuple},
 * {@link Map} (a dict, in insertion order), {@link Namespace} and {@link Callable}.
 */
final class Py {
    private Py() {
    }

    /** An error while rendering, positioned later by the interpreter. */
    static final class RenderError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        int pos = -1;
        final boolean raised;

        RenderError(String message) {
            this(message, false);
        }

        RenderError(String message, boolean raised) {
            super(message, null, false, false);
            this.raised = raised;
        }
    }

    /** Jinja2's undefined value: prints as nothing, is false, and fails when used as a value. */
    static final class Undefined {
        final String message;

        Undefined(String message) {
            this.message = message;
        }

        RenderError error() {
            return new RenderError(message);
        }

        @Override
        public String toString() {
            return "";
        }
    }

    /**
     * Jinja2's {@code Markup}, what {@code |safe} and {@code |escape} return: text marked safe for HTML.
     * Plain strings combined with it ({@code +}, {@code %}, {@code format}, {@code join}, the arguments of
     * its string methods) are HTML-escaped first; inside a container it prints as {@code Markup('...')}.
     * Operations without such a rule see its plain text.
     */
    record Markup(String text) {
        Markup {
            Objects.requireNonNull(text, "text");
        }

        /** markupsafe's {@code escape}: a Markup stays as it is; anything else is printed and escaped. */
        static Markup escape(Object v) {
            return v instanceof Markup m ? m : new Markup(Builtins.escapeHtml(str(v)));
        }
    }

    /** The plain value of a Markup, for operations that have no Markup rule. */
    static Object plain(Object v) {
        return v instanceof Markup m ? m.text() : v;
    }

    /** An immutable Python tuple. */
    record Tuple(List<Object> items, List<String> names) {
        Tuple {
            items = Collections.unmodifiableList(new ArrayList<>(items));
        }

        Tuple(List<Object> items) {
            this(items, null);
        }

        static Tuple of(Object... items) {
            List<Object> l = new ArrayList<>(items.length);
            Collections.addAll(l, items);
            return new Tuple(l);
        }
    }

    /**
     * A one-shot iterator, as Jinja2's {@code select}, {@code map}, {@code unique} and friends return:
     * always true, no length, not indexable, empty once iterated.
     */
    static final class Generator {
        final String label;
        private java.util.function.Supplier<List<Object>> source;

        /** @param source computes the items when the generator is first iterated, as Python's are lazy */
        Generator(String label, java.util.function.Supplier<List<Object>> source) {
            this.label = label;
            this.source = source;
        }

        List<Object> consume() {
            if (source == null) {
                return List.of();
            }
            java.util.function.Supplier<List<Object>> s = source;
            source = null;
            return s.get();
        }
    }

    /** Python's {@code range}: a lazy arithmetic sequence (bounded by the sandbox when created). */
    record Range(long start, long stop, long step) {
        long size() {
            return step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                    : (start > stop ? (start - stop - step - 1) / -step : 0);
        }

        List<Object> items() {
            long n = size();
            List<Object> out = new ArrayList<>((int) n);
            for (long i = 0; i < n; i++) {
                out.add(start + i * step);
            }
            return out;
        }
    }

    /** A live view of a dict, as {@code dict.keys()}, {@code .values()} and {@code .items()} return. */
    record DictView(String kind, Map<?, ?> map) {
        List<Object> items() {
            List<Object> out = new ArrayList<>(map.size());
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.add(switch (kind) {
                    case "keys" -> e.getKey();
                    case "values" -> e.getValue();
                    default -> Tuple.of(e.getKey(), e.getValue());
                });
            }
            return out;
        }
    }

    /** Jinja2's {@code namespace()}: an object whose attributes can be set from inside loops. */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    /** A function a template can call: globals, macros, methods of strings, lists and dicts. */
    interface Callable {
        Object call(Interpreter in, Args args);

        String name();
    }

    /** Positional and keyword arguments of a call. */
    record Args(List<Object> positional, Map<String, Object> keywords) {
        static final Args NONE = new Args(List.of(), Map.of());

        static Args of(Object... positional) {
            List<Object> l = new ArrayList<>(positional.length);
            Collections.addAll(l, positional);
            return new Args(l, Map.of());
        }

        int size() {
            return positional.size();
        }

        Object get(int index, String name, Object fallback) {
            if (index >= 0 && index < positional.size()) {
                return positional.get(index);
            }
            if (name != null && keywords.containsKey(name)) {
                return keywords.get(name);
            }
            return fallback;
        }

        boolean has(int index, String name) {
            return (index >= 0 && index < positional.size()) || (name != null && keywords.containsKey(name));
        }
    }

    // ---- types ----

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (v instanceof String) {
            return "str";
        }
        if (v instanceof Markup) {
            return "Markup";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (v instanceof Long) {
            return "int";
        }
        if (v instanceof Double) {
            return "float";
        }
        if (v instanceof List) {
            return "list";
        }
        if (v instanceof Tuple) {
            return "tuple";
        }
        if (v instanceof Map) {
            return "dict";
        }
        if (v instanceof Undefined) {
            return "Undefined";
        }
        if (v instanceof Generator g) {
            return g.label.startsWith("<") ? "list_reverseiterator" : "generator";
        }
        if (v instanceof DictView dv) {
            return "dict_" + dv.kind();
        }
        if (v instanceof Range) {
            return "range";
        }
        if (v instanceof Namespace) {
            return "Namespace";
        }
        if (v instanceof LoopContext) {
            return "LoopContext";
        }
        if (v instanceof Callable) {
            return "function";
        }
        return "object";
    }

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static long asLong(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return (Long) v;
    }

    static double asDouble(Object v) {
        if (v instanceof Double d) {
            return d;
        }
        return asLong(v);
    }

    static long requireInt(Object v, String what) {
        if (isInt(v)) {
            return asLong(v);
        }
        if (v instanceof Undefined u) {
            throw u.error();
        }
        throw new RenderError("'" + typeName(v) + "' object cannot be interpreted as an integer (" + what + ")");
    }

    // ---- truthiness, str, repr ----

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Long l) {
            return l != 0;
        }
        if (v instanceof Double d) {
            return d != 0.0;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        if (v instanceof Markup m) {
            return !m.text().isEmpty();
        }
        if (v instanceof List<?> l) {
            return !l.isEmpty();
        }
        if (v instanceof Tuple t) {
            return !t.items().isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        if (v instanceof DictView dv) {
            return !dv.map().isEmpty();
        }
        if (v instanceof Range r) {
            return r.size() > 0;
        }
        return true;
    }

    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Markup m) {
            return m.text();
        }
        if (v instanceof Undefined) {
            return "";
        }
        return repr(v);
    }

    /** The output limit of the rendering running on this thread, so printing a huge value stops early. */
    static final ThreadLocal<int[]> PRINT_LIMIT = ThreadLocal.withInitial(() -> new int[] {Integer.MAX_VALUE});

    /** Element operations (comparisons, copies, searches) done and allowed by the rendering on this thread. */
    static final ThreadLocal<long[]> WORK = ThreadLocal.withInitial(() -> new long[] {0, Long.MAX_VALUE});

    /** Charges element operations to the rendering, so comparing or searching huge values cannot hang it. */
    static void work(long n) {
        long[] w = WORK.get();
        w[0] += n;
        if (w[0] > w[1]) {
            throw new RenderError("template did more than " + w[1] + " element operations (comparisons, copies, "
                    + "searches; 100 per TemplateLimits.maxLoopIterations)");
        }
    }

    /** Charges a substring search: Java's search is quadratic in the worst case, unlike Python's. */
    static void searchWork(String haystack, String needle) {
        work((long) haystack.length() * Math.max(1, needle.length()) / 64);
    }

    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(v, sb, 0);
        return sb.toString();
    }

    private static void repr(Object v, StringBuilder sb, int depth) {
        if (depth > JsonCodec.MAX_DEPTH) {
            throw new RenderError("value nested too deeply to print");
        }
        if (sb.length() > PRINT_LIMIT.get()[0]) {
            throw new RenderError("printed value exceeds the output limit of " + PRINT_LIMIT.get()[0] + " characters");
        }
        if (v == null) {
            sb.append("None");
        } else if (v instanceof String s) {
            reprString(s, sb);
        } else if (v instanceof Markup m) {
            sb.append("Markup(");
            reprString(m.text(), sb);
            sb.append(')');
        } else if (v instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (v instanceof Long l) {
            sb.append(l);
        } else if (v instanceof Double d) {
            sb.append(JsonCodec.pythonFloat(d));
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(l.get(i), sb, depth + 1);
            }
            sb.append(']');
        } else if (v instanceof Tuple t) {
            sb.append('(');
            for (int i = 0; i < t.items().size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(t.items().get(i), sb, depth + 1);
            }
            sb.append(t.items().size() == 1 ? ",)" : ")");
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(e.getKey(), sb, depth + 1);
                sb.append(": ");
                repr(e.getValue(), sb, depth + 1);
            }
            sb.append('}');
        } else if (v instanceof Undefined) {
            sb.append("Undefined");
        } else if (v instanceof Range r) {
            sb.append("range(").append(r.start()).append(", ").append(r.stop());
            if (r.step() != 1) {
                sb.append(", ").append(r.step());
            }
            sb.append(')');
        } else if (v instanceof DictView dv) {
            sb.append("dict_").append(dv.kind()).append('(');
            repr(dv.items(), sb, depth + 1);
            sb.append(')');
        } else if (v instanceof Generator g) {
            sb.append(g.label.startsWith("<") ? "<list_reverseiterator object at 0x7f0000000000>"
                    : "<generator object " + g.label + " at 0x7f0000000000>");
        } else if (v instanceof Namespace ns) {
            sb.append("<Namespace ");
            repr(ns.attrs, sb, depth + 1);
            sb.append('>');
        } else if (v instanceof LoopContext lc) {
            sb.append("<LoopContext ").append(lc.index0 + 1).append('/').append(lc.items.size()).append('>');
        } else if (v instanceof Callable c) {
            sb.append("<function ").append(c.name()).append('>');
        } else {
            sb.append("<object>");
        }
    }

    static void reprString(String s, StringBuilder sb) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp < 0x20 || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp < 0x7f || isPrintable(cp)) {
                sb.appendCodePoint(cp);
            } else if (cp <= 0xff) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp <= 0xffff) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.append(String.format("\\U%08x", cp));
            }
        }
        sb.append(quote);
    }

    private static boolean isPrintable(int cp) {
        switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                    Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SPACE_SEPARATOR:
                return cp == ' ';
            default:
                return true;
        }
    }

    // ---- equality and ordering ----

    static boolean eq(Object a, Object b) {
        a = plain(a);
        b = plain(b);
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) {
                return asLong(a) == asLong(b);
            }
            return asDouble(a) == asDouble(b);
        }
        if (a instanceof String && b instanceof String) {
            return a.equals(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            return seqEq(x, y);
        }
        if (a instanceof Tuple x && b instanceof Tuple y) {
            return seqEq(x.items(), y.items());
        }
        if (a instanceof Range x && b instanceof Range y) {
            return seqEq(x.items(), y.items());
        }
        if (a instanceof DictView x && b instanceof DictView y && x.kind().equals(y.kind()) && !x.kind().equals("values")) {
            List<Object> xs = x.items();
            List<Object> ys = y.items();
            return xs.size() == ys.size() && xs.stream().allMatch(o -> ys.stream().anyMatch(p -> eq(o, p)));
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            work(x.size());
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    private static boolean seqEq(List<?> x, List<?> y) {
        if (x.size() != y.size()) {
            return false;
        }
        work(x.size());
        for (int i = 0; i < x.size(); i++) {
            if (!eq(x.get(i), y.get(i))) {
                return false;
            }
        }
        return true;
    }

    static int compare(Object a, Object b, String op) {
        work(1);
        a = plain(a);
        b = plain(b);
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) {
                return Long.compare(asLong(a), asLong(b));
            }
            return Double.compare(asDouble(a), asDouble(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return compareCodePoints(x, y);
        }
        List<?> x = a instanceof List<?> l ? l : a instanceof Tuple t && b instanceof Tuple ? t.items() : null;
        List<?> y = b instanceof List<?> l ? l : b instanceof Tuple t && a instanceof Tuple ? t.items() : null;
        if (x != null && y != null) {
            work(Math.min(x.size(), y.size()));
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        throw new RenderError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    static int compareCodePoints(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Integer.compare(x.length() - i, y.length() - j);
    }

    static boolean contains(Object container, Object item) {
        container = plain(container);
        item = plain(item);
        if (container instanceof String s) {
            if (!(item instanceof String sub)) {
                throw new RenderError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            searchWork(s, sub);
            return s.contains(sub);
        }
        if (container instanceof Map<?, ?> m) {
            hashCheck(item);
            if (m.containsKey(item)) {
                return true;
            }
            work(m.size());
            for (Object k : m.keySet()) {
                if (eq(k, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Undefined) {
            return false;
        }
        List<Object> items = iterate(container);
        work(items.size());
        for (Object o : items) {
            if (eq(o, item)) {
                return true;
            }
        }
        return false;
    }

    // ---- iteration, length, indexing ----

    static List<Object> iterate(Object v) {
        v = plain(v);
        if (v instanceof List<?> l) {
            return Collections.unmodifiableList(l);
        }
        if (v instanceof Tuple t) {
            return t.items();
        }
        if (v instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (v instanceof String s) {
            List<Object> out = new ArrayList<>(s.length());
            s.codePoints().forEach(cp -> out.add(new String(Character.toChars(cp))));
            return out;
        }
        if (v instanceof Undefined) {
            return List.of();
        }
        if (v instanceof Generator g) {
            return g.consume();
        }
        if (v instanceof DictView dv) {
            return dv.items();
        }
        if (v instanceof Range r) {
            return r.items();
        }
        throw new RenderError("'" + typeName(v) + "' object is not iterable");
    }

    static long len(Object v) {
        v = plain(v);
        if (v instanceof String s) {
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> l) {
            return l.size();
        }
        if (v instanceof Tuple t) {
            return t.items().size();
        }
        if (v instanceof Map<?, ?> m) {
            return m.size();
        }
        if (v instanceof Undefined) {
            return 0;
        }
        if (v instanceof DictView dv) {
            return dv.map().size();
        }
        if (v instanceof Range r) {
            return r.size();
        }
        if (v instanceof Namespace) {
            throw new RenderError("object of type 'Namespace' has no len()");
        }
        throw new RenderError("object of type '" + typeName(v) + "' has no len()");
    }

    /** A Python sequence view used by indexing and slicing. */
    static List<Object> sequence(Object v) {
        if (v instanceof List<?> l) {
            return Collections.unmodifiableList(l);
        }
        if (v instanceof Tuple t) {
            return t.items();
        }
        if (v instanceof String s) {
            return iterate(s);
        }
        if (v instanceof Range r) {
            return r.items();
        }
        return null;
    }

    static Object slice(Object v, Object start, Object stop, Object step) {
        if (v instanceof Markup m) {
            return new Markup((String) slice(m.text(), start, stop, step));
        }
        if (v instanceof Undefined u) {
            throw u.error();
        }
        List<Object> seq = sequence(v);
        if (seq == null) {
            throw new RenderError(v instanceof Map ? "unhashable type: 'slice'"
                    : "'" + typeName(v) + "' object is not subscriptable");
        }
        int n = seq.size();
        long st = step == null ? 1 : requireInt(step, "slice step");
        if (st == 0) {
            throw new RenderError("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clampIndex(requireInt(start, "slice index"), n, 0, n);
            hi = stop == null ? n : clampIndex(requireInt(stop, "slice index"), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clampIndex(requireInt(start, "slice index"), n, -1, n - 1);
            hi = stop == null ? -1 : clampIndex(requireInt(stop, "slice index"), n, -1, n - 1);
        }
        if (v instanceof Range r) {
            return new Range(r.start() + lo * r.step(), r.start() + hi * r.step(), r.step() * st);
        }
        List<Object> out = new ArrayList<>();
        if (st > 0) {
            for (long i = lo; i < hi; i += st) {
                out.add(seq.get((int) i));
            }
        } else {
            for (long i = lo; i > hi; i += st) {
                out.add(seq.get((int) i));
            }
        }
        if (v instanceof String) {
            StringBuilder sb = new StringBuilder();
            out.forEach(o -> sb.append((String) o));
            return sb.toString();
        }
        return v instanceof Tuple ? new Tuple(out) : out;
    }

    private static long clampIndex(long i, int n, long min, long max) {
        if (i < 0) {
            i += n;
        }
        return Math.max(min, Math.min(max, i));
    }

    /** Index of a sequence with Python's negative indices, or -1 when out of range. */
    static int index(long i, int size) {
        long j = i < 0 ? i + size : i;
        return j < 0 || j >= size ? -1 : (int) j;
    }

    // ---- arithmetic ----

    static Object binary(String op, Object a, Object b, int maxSize) {
        if (a instanceof Markup || b instanceof Markup) {
            Object r = markupBinary(op, a, b, maxSize);
            if (r != null) {
                return r;
            }
            a = plain(a);
            b = plain(b);
        }
        if (op.equals("%") && a instanceof String s && b instanceof Undefined) {
            // Python takes an argument with item access (as Undefined has) for a mapping.
            return Builtins.percentFormat(s, b);
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        if (isNumber(a) && isNumber(b)) {
            return arith(op, a, b);
        }
        switch (op) {
            case "+" -> {
                if (a instanceof String x && b instanceof String y) {
                    work(((long) x.length() + y.length()) / 16);
                    return checkSize(x + y, maxSize);
                }
                if (a instanceof List<?> x && b instanceof List<?> y) {
                    work((long) x.size() + y.size());
                    List<Object> out = new ArrayList<>(x);
                    out.addAll(y);
                    return checkSize(out, maxSize);
                }
                if (a instanceof Tuple x && b instanceof Tuple y) {
                    List<Object> out = new ArrayList<>(x.items());
                    out.addAll(y.items());
                    return new Tuple(out);
                }
            }
            case "*" -> {
                if (isInt(b) && (a instanceof String || a instanceof List || a instanceof Tuple)) {
                    return repeat(a, asLong(b), maxSize);
                }
                if (isInt(a) && (b instanceof String || b instanceof List || b instanceof Tuple)) {
                    return repeat(b, asLong(a), maxSize);
                }
            }
            case "%" -> {
                if (a instanceof String s) {
                    return Builtins.percentFormat(s, b);
                }
            }
            default -> {
            }
        }
        throw new RenderError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    /** Markup's operators: the other string operand is escaped; null when Markup has no rule for the pair. */
    private static Object markupBinary(String op, Object a, Object b, int maxSize) {
        boolean aText = a instanceof String || a instanceof Markup;
        boolean bText = b instanceof String || b instanceof Markup;
        switch (op) {
            case "+" -> {
                if (aText && bText) {
                    String x = Markup.escape(a).text();
                    String y = Markup.escape(b).text();
                    work(((long) x.length() + y.length()) / 16);
                    return new Markup(checkSize(x + y, maxSize));
                }
                if (a instanceof Undefined || b instanceof Undefined) {
                    return null;
                }
                throw new RenderError("unsupported operand type(s) for +: '" + typeName(a) + "' and '"
                        + typeName(b) + "'");
            }
            case "*" -> {
                if (a instanceof Markup m && isInt(b) || b instanceof Markup && isInt(a)) {
                    Markup m = a instanceof Markup x ? x : (Markup) b;
                    return new Markup((String) repeat(m.text(), asLong(a instanceof Markup ? b : a), maxSize));
                }
                return null;
            }
            case "%" -> {
                if (a instanceof Markup m) {
                    return new Markup(checkSize(Builtins.percentFormat(m.text(), escapeArguments(b)), maxSize));
                }
                return null;
            }
            default -> {
                return null;
            }
        }
    }

    /** The arguments of a Markup's {@code %} or {@code format}: strings and other non-numbers escaped. */
    static Object escapeArguments(Object args) {
        if (args instanceof Tuple t) {
            List<Object> out = new ArrayList<>();
            for (Object o : t.items()) {
                out.add(escapeArgument(o));
            }
            return new Tuple(out);
        }
        if (args instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k, escapeArgument(v)));
            return out;
        }
        return escapeArgument(args);
    }

    private static Object escapeArgument(Object o) {
        return isNumber(o) || o instanceof Undefined ? o : Markup.escape(o).text();
    }

    private static Object repeat(Object seq, long times, int maxSize) {
        long n = Math.max(0, times);
        if (seq instanceof String s) {
            if ((long) s.length() * n > maxSize) {
                throw new RenderError("string repetition would exceed the output limit of " + maxSize + " characters");
            }
            return s.repeat((int) n);
        }
        List<Object> items = seq instanceof Tuple t ? t.items() : Py.iterate(seq);
        if ((long) items.size() * n > maxSize) {
            throw new RenderError("list repetition would exceed the size limit of " + maxSize + " items");
        }
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            out.addAll(items);
        }
        return seq instanceof Tuple ? new Tuple(out) : out;
    }

    static String checkSize(String s, int maxSize) {
        if (s.length() > maxSize) {
            throw new RenderError("string of " + s.length() + " characters exceeds the output limit of " + maxSize);
        }
        return s;
    }

    private static List<Object> checkSize(List<Object> l, int maxSize) {
        if (l.size() > maxSize) {
            throw new RenderError("list of " + l.size() + " items exceeds the size limit of " + maxSize);
        }
        return l;
    }

    private static Object arith(String op, Object a, Object b) {
        if (isInt(a) && isInt(b)) {
            long x = asLong(a);
            long y = asLong(b);
            try {
                switch (op) {
                    case "+":
                        return Math.addExact(x, y);
                    case "-":
                        return Math.subtractExact(x, y);
                    case "*":
                        return Math.multiplyExact(x, y);
                    case "/":
                        if (y == 0) {
                            throw new RenderError("division by zero");
                        }
                        return (double) x / (double) y;
                    case "//":
                        if (y == 0) {
                            throw new RenderError("integer division or modulo by zero");
                        }
                        return Math.floorDiv(x, y);
                    case "%":
                        if (y == 0) {
                            throw new RenderError("integer division or modulo by zero");
                        }
                        return Math.floorMod(x, y);
                    case "**":
                        if (y < 0) {
                            if (x == 0) {
                                throw new RenderError("0.0 cannot be raised to a negative power");
                            }
                            return Math.pow(x, y);
                        }
                        long r = 1;
                        for (long i = 0; i < y; i++) {
                            r = Math.multiplyExact(r, x);
                            if (r == 0 || r == 1 && x == 1) {
                                break;
                            }
                        }
                        return r;
                    default:
                        throw new RenderError("unknown operator " + op);
                }
            } catch (ArithmeticException e) {
                throw new RenderError("integer overflow in " + x + " " + op + " " + y);
            }
        }
        double x = asDouble(a);
        double y = asDouble(b);
        switch (op) {
            case "+":
                return x + y;
            case "-":
                return x - y;
            case "*":
                return x * y;
            case "/":
                if (y == 0) {
                    throw new RenderError("float division by zero");
                }
                return x / y;
            case "//":
                if (y == 0) {
                    throw new RenderError("float floor division by zero");
                }
                return floorDiv(x, y);
            case "%":
                if (y == 0) {
                    throw new RenderError("float modulo");
                }
                double m = x % y;
                if (m == 0) {
                    return Math.copySign(0.0, y);
                }
                return (m < 0) != (y < 0) ? m + y : m;
            case "**": {
                if (x == 0 && y < 0) {
                    throw new RenderError("0.0 cannot be raised to a negative power");
                }
                double r = Math.pow(x, y);
                if (Double.isInfinite(r) && Double.isFinite(x) && Double.isFinite(y)) {
                    throw new RenderError("(34, 'Numerical result out of range')");
                }
                if (Double.isNaN(r) && x < 0 && !Double.isNaN(y)) {
                    throw new RenderError("a negative number to a fractional power gives a complex number, "
                            + "which templates cannot use");
                }
                return r;
            }
            default:
                throw new RenderError("unknown operator " + op);
        }
    }

    /** Python's float floor division, which works from fmod and so differs from floor(x / y). */
    private static double floorDiv(double x, double y) {
        double mod = x % y;
        double div = (x - mod) / y;
        if (mod != 0 && (y < 0) != (mod < 0)) {
            div -= 1.0;
        }
        if (div != 0) {
            double fl = Math.floor(div);
            return div - fl > 0.5 ? fl + 1.0 : fl;
        }
        return Math.copySign(0.0, x / y);
    }

    static Object negate(Object v) {
        if (v instanceof Double d) {
            return -d;
        }
        if (isInt(v)) {
            return -asLong(v);
        }
        if (v instanceof Undefined u) {
            throw u.error();
        }
        throw new RenderError("bad operand type for unary -: '" + typeName(v) + "'");
    }

    static Object positive(Object v) {
        if (v instanceof Double) {
            return v;
        }
        if (isInt(v)) {
            return asLong(v);
        }
        if (v instanceof Undefined u) {
            throw u.error();
        }
        throw new RenderError("bad operand type for unary +: '" + typeName(v) + "'");
    }

    static int hashCheck(Object key) {
        key = plain(key);
        if (key instanceof List || key instanceof Map || key instanceof DictView) {
            throw new RenderError("unhashable type: '" + typeName(key) + "'");
        }
        return Objects.hashCode(key);
    }
}
