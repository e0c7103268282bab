package io.github.locallm.template;

import io.github.locallm.template.Py.Args;
import io.github.locallm.template.Py.RenderError;
import io.github.locallm.template.Py.Tuple;
import io.github.locallm.template.Py.Undefined;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The filters, tests, globals and value methods a template may use, each written to behave like
 * its Jinja2 or Python counterpart. Nothing else of a value is reachable: there is no reflection.
 */
final class Builtins {
    static final int MAX_RANGE = 100_000;

    /** One Python string method: {@code s.name(a)}, with {@code max} the output limit in characters. */
    @FunctionalInterface
    private interface StrMethod {
        Object apply(String s, String name, Args a, int max);
    }

    /** Every Python string method, by name: the one place where one is defined. */
    private static final Map<String, StrMethod> STR_TABLE = strTable();
    private static final Set<String> STR_METHODS = STR_TABLE.keySet();
    private static final Set<String> LIST_METHODS = Set.of("index", "count", "copy");
    private static final Set<String> LIST_UNSAFE = Set.of("append", "extend", "insert", "pop", "remove", "sort",
            "reverse", "clear");
    private static final Set<String> DICT_METHODS = Set.of("items", "keys", "values", "get", "copy");
    private static final Set<String> DICT_UNSAFE = Set.of("pop", "popitem", "update", "setdefault", "clear");
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern TITLE_SPLIT = Pattern.compile("([-\\s({\\[<]+)", Pattern.UNICODE_CHARACTER_CLASS);

    private Builtins() {
    }

    /** A method of a string, list or dict, bound to its receiver. */
    record BoundMethod(Object self, String method) implements Py.Callable {
        @Override
        public Object call(Interpreter in, Args args) {
            return callMethod(in, self, method, args);
        }

        @Override
        public String name() {
            return method;
        }
    }

    private record Global(String name, java.util.function.BiFunction<Interpreter, Args, Object> fn)
            implements Py.Callable {
        @Override
        public Object call(Interpreter in, Args args) {
            return fn.apply(in, args);
        }
    }

    // ---- globals ----

    static void installGlobals(Map<String, Object> g) {
        g.put("range", new Global("range", (in, a) -> range(a)));
        g.put("namespace", new Global("namespace", (in, a) -> {
            Py.Namespace ns = new Py.Namespace();
            for (Object p : a.positional()) {
                dictInto(p, ns.attrs);
            }
            ns.attrs.putAll(a.keywords());
            return ns;
        }));
        g.put("dict", new Global("dict", (in, a) -> {
            Map<Object, Object> m = new LinkedHashMap<>();
            for (Object p : a.positional()) {
                dictInto(p, m);
            }
            m.putAll(a.keywords());
            return m;
        }));
        g.put("raise_exception", new Global("raise_exception",
                (in, a) -> {
                    throw new RenderError(Py.str(a.get(0, "message", "")), true);
                }));
        g.put("strftime_now", new Global("strftime_now",
                (in, a) -> strftime(Py.str(a.get(0, "format", "")), ZonedDateTime.now(in.clock))));
        g.put("joiner", new Global("joiner", (in, a) -> {
            String sep = Py.str(a.get(0, "sep", ", "));
            boolean[] used = {false};
            return new Global("joiner", (in2, a2) -> {
                if (!used[0]) {
                    used[0] = true;
                    return "";
                }
                return sep;
            });
        }));
    }

    @SuppressWarnings("unchecked")
    private static <K> void dictInto(Object p, Map<K, Object> target) {
        if (p instanceof Map<?, ?> m) {
            target.putAll((Map<K, Object>) m);
            return;
        }
        for (Object pair : Py.iterate(p)) {
            List<Object> kv = Py.iterate(pair);
            if (kv.size() != 2) {
                throw new RenderError("dictionary update sequence element has length " + kv.size() + "; 2 is required");
            }
            target.put((K) kv.get(0), kv.get(1));
        }
    }

    private static Py.Range range(Args a) {
        long start = 0;
        long stop;
        long step = 1;
        if (a.size() == 1) {
            stop = Py.requireInt(a.positional().get(0), "range");
        } else if (a.size() == 2 || a.size() == 3) {
            start = Py.requireInt(a.positional().get(0), "range");
            stop = Py.requireInt(a.positional().get(1), "range");
            if (a.size() == 3) {
                step = Py.requireInt(a.positional().get(2), "range");
            }
        } else {
            throw new RenderError("range expected 1 to 3 arguments, got " + a.size());
        }
        if (step == 0) {
            throw new RenderError("range() arg 3 must not be zero");
        }
        long n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (n > MAX_RANGE) {
            throw new RenderError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
        }
        return new Py.Range(start, stop, step);
    }

    // ---- attribute and item access ----

    static Object getattr(Object obj, String name) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> m) {
            if (DICT_METHODS.contains(name)) {
                return new BoundMethod(obj, name);
            }
            if (DICT_UNSAFE.contains(name)) {
                return unsafe(obj, name);
            }
            if (m.containsKey(name)) {
                return m.get(name);
            }
            return new Undefined("'dict object' has no attribute '" + name + "'");
        }
        if ((obj instanceof String || obj instanceof Py.Markup) && STR_METHODS.contains(name)) {
            return new BoundMethod(obj, name);
        }
        if (obj instanceof List || obj instanceof Tuple) {
            if (LIST_METHODS.contains(name) && !(obj instanceof Tuple && name.equals("copy"))) {
                return new BoundMethod(obj, name);
            }
            if (obj instanceof List && LIST_UNSAFE.contains(name)) {
                return unsafe(obj, name);
            }
        }
        if (obj instanceof Tuple t && t.names() != null && t.names().contains(name)) {
            return t.items().get(t.names().indexOf(name));
        }
        if (obj instanceof Py.Namespace ns && ns.attrs.containsKey(name)) {
            return ns.attrs.get(name);
        }
        if (obj instanceof LoopContext lc) {
            return lc.attribute(name);
        }
        if (obj == null) {
            return new Undefined("'None' has no attribute '" + name + "'");
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no attribute '" + name + "'");
    }

    private static Undefined unsafe(Object obj, String name) {
        return new Undefined("access to attribute '" + name + "' of '" + Py.typeName(obj)
                + "' object is unsafe: templates cannot modify values");
    }

    static Object getitem(Object obj, Object key) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        key = Py.plain(key);
        if (obj instanceof Py.Markup m) {
            Object r = getitem(m.text(), key);
            return r instanceof String c ? new Py.Markup(c) : r;
        }
        if (obj instanceof Map<?, ?> m) {
            if (m.containsKey(key)) {
                return m.get(key);
            }
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (Py.isNumber(key) && Py.eq(e.getKey(), key)) {
                    return e.getValue();
                }
            }
            if (key instanceof String s) {
                return getattr(obj, s) instanceof BoundMethod b ? b
                        : new Undefined("'dict object' has no attribute '" + s + "'");
            }
            return new Undefined("'dict object' has no element " + Py.repr(key));
        }
        List<Object> seq = Py.sequence(obj);
        if (seq != null) {
            if (Py.isInt(key)) {
                int i = Py.index(Py.asLong(key), seq.size());
                return i < 0 ? new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key))
                        : seq.get(i);
            }
            if (key instanceof String s) {
                return getattr(obj, s);
            }
            return new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key));
        }
        if (key instanceof String s) {
            return getattr(obj, s);
        }
        return new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key));
    }

    /** Follows a dotted path of keys, as the {@code attribute=} argument of filters does. */
    private static Object attrPath(Object item, Object path) {
        if (Py.isInt(path)) {
            return getitem(item, path);
        }
        for (String part : Py.str(path).split("\\.", -1)) {
            Object key = part;
            if (!part.isEmpty() && part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                key = Long.parseLong(part);
            }
            item = getitem(item, key);
        }
        return item;
    }

    // ---- tests ----

    /** One test's computation: {@code v is name(arg)}. */
    @FunctionalInterface
    private interface TestFn {
        boolean apply(Interpreter in, String name, Object v, Object arg);
    }

    /** A test: how many arguments it takes, whether it sees Markup as such, and what it computes. */
    private record Test(int arity, boolean seesMarkup, TestFn fn) {
    }

    /** Every test, by name: the one place where a test is defined. */
    private static final Map<String, Test> TEST_TABLE = testTable();

    /** The test names a template may use (the parser checks names against it). */
    static final Set<String> TESTS = TEST_TABLE.keySet();

    static boolean test(Interpreter in, String name, Object v, Args a) {
        Test t = TEST_TABLE.get(name);
        if (t == null) {
            throw new RenderError("No test named '" + name + "'.");
        }
        if (a.size() + a.keywords().size() != t.arity()) {
            throw new RenderError("test '" + name + "' takes " + t.arity() + " argument(s), got "
                    + (a.size() + a.keywords().size()));
        }
        Object value = !t.seesMarkup() && v instanceof Py.Markup m ? m.text() : v;
        return t.fn().apply(in, name, value, a.get(0, null, null));
    }

    private static void addTest(Map<String, Test> table, int arity, boolean seesMarkup, TestFn fn,
                                String... names) {
        for (String n : names) {
            if (table.put(n, new Test(arity, seesMarkup, fn)) != null) {
                throw new IllegalStateException("test '" + n + "' is defined twice");
            }
        }
    }

    private static Map<String, Test> testTable() {
        Map<String, Test> table = new LinkedHashMap<>();
        addTest(table, 0, true, (in, name, v, arg) -> v instanceof Py.Markup, "escaped");
        addTest(table, 0, false, (in, name, v, arg) -> !(v instanceof Undefined), "defined");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Undefined, "undefined");
        addTest(table, 0, false, (in, name, v, arg) -> v == null, "none");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Boolean, "boolean");
        addTest(table, 0, false, (in, name, v, arg) -> Boolean.TRUE.equals(v), "true");
        addTest(table, 0, false, (in, name, v, arg) -> Boolean.FALSE.equals(v), "false");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Long, "integer");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Double, "float");
        addTest(table, 0, false, (in, name, v, arg) -> Py.isNumber(v), "number");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof String, "string");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Map, "mapping");
        addTest(table, 0, false, (in, name, v, arg) ->
                v instanceof String || v instanceof List || v instanceof Tuple || v instanceof Map
                    || v instanceof Undefined || v instanceof Py.Generator || v instanceof Py.DictView
                    || v instanceof Py.Range, "iterable");
        addTest(table, 0, false, (in, name, v, arg) ->
                v instanceof String || v instanceof List || v instanceof Tuple || v instanceof Map
                    || v instanceof Undefined || v instanceof Py.Range, "sequence");
        addTest(table, 0, false, (in, name, v, arg) -> v instanceof Py.Callable || v instanceof Undefined, "callable");
        addTest(table, 1, true, (in, name, v, arg) -> v == arg || (v instanceof Boolean && v.equals(arg))
                    || (v instanceof Long && arg instanceof Long && v.equals(arg) && Math.abs((Long) v) <= 256),
                "sameas");
        addTest(table, 0, false, (in, name, v, arg) -> isCasedAnd(Py.str(v), false), "lower");
        addTest(table, 0, false, (in, name, v, arg) -> isCasedAnd(Py.str(v), true), "upper");
        addTest(table, 0, false, (in, name, v, arg) -> Py.eq(Py.binary("%", v, 2L, Integer.MAX_VALUE), 1L), "odd");
        addTest(table, 0, false, (in, name, v, arg) -> Py.eq(Py.binary("%", v, 2L, Integer.MAX_VALUE), 0L), "even");
        addTest(table, 1, false, (in, name, v, arg) ->
                Py.eq(Py.binary("%", v, arg, Integer.MAX_VALUE), 0L), "divisibleby");
        addTest(table, 1, false, (in, name, v, arg) -> Py.eq(v, arg), "eq", "equalto", "==");
        addTest(table, 1, false, (in, name, v, arg) -> !Py.eq(v, arg), "ne", "!=");
        addTest(table, 1, false, (in, name, v, arg) -> Py.compare(v, arg, "<") < 0, "lt", "lessthan", "<");
        addTest(table, 1, false, (in, name, v, arg) -> Py.compare(v, arg, "<=") <= 0, "le", "<=");
        addTest(table, 1, false, (in, name, v, arg) -> Py.compare(v, arg, ">") > 0, "gt", "greaterthan", ">");
        addTest(table, 1, false, (in, name, v, arg) -> Py.compare(v, arg, ">=") >= 0, "ge", ">=");
        addTest(table, 1, false, (in, name, v, arg) -> Py.contains(arg, v), "in");
        addTest(table, 0, false, (in, name, v, arg) -> FILTERS.contains(Py.str(v)), "filter");
        addTest(table, 0, false, (in, name, v, arg) -> TESTS.contains(Py.str(v)), "test");
        return java.util.Collections.unmodifiableMap(table);
    }

    private static boolean isCasedAnd(String s, boolean upper) {
        boolean cased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (upper ? Character.isLowerCase(cp) || Character.isTitleCase(cp) : Character.isUpperCase(cp)
                    || Character.isTitleCase(cp)) {
                return false;
            }
            if (Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp)) {
                cased = true;
            }
        }
        return cased;
    }

    // ---- filters ----

    /** How a filter treats a {@link Py.Markup} input. */
    private enum MarkupRule {
        /** Gets the value and the arguments as they are, Markup included. */
        SEES_MARKUP,
        /** Gets Markup's text and plain arguments; a string result becomes Markup again (Markup's own method). */
        KEEPS_MARKUP,
        /** Gets Markup's text and plain arguments; the result is what it computes. */
        PLAIN
    }

    /** One filter's computation: {@code v | name(a)}, with {@code max} the output limit in characters. */
    @FunctionalInterface
    private interface FilterFn {
        Object apply(Interpreter in, String name, Object v, Args a, int max);
    }

    private record Filter(MarkupRule markup, FilterFn fn) {
    }

    /** Every filter, by name: the one place where a filter is defined. */
    private static final Map<String, Filter> FILTER_TABLE = filterTable();

    /** The filter names a template may use (the parser checks names against it). */
    static final Set<String> FILTERS = FILTER_TABLE.keySet();

    static Object filter(Interpreter in, String name, Object v, Args a) {
        Filter f = FILTER_TABLE.get(name);
        if (f == null) {
            throw new RenderError("No filter named '" + name + "'.");
        }
        int max = in.limits.maxOutputChars();
        if (f.markup() == MarkupRule.SEES_MARKUP) {
            return f.fn().apply(in, name, v, a, max);
        }
        if (!(v instanceof Py.Markup m)) {
            return f.fn().apply(in, name, v, plainArgs(a), max);
        }
        Object r = f.fn().apply(in, name, m.text(), plainArgs(a), max);
        return f.markup() == MarkupRule.KEEPS_MARKUP && r instanceof String t ? new Py.Markup(t) : r;
    }

    private static Args plainArgs(Args a) {
        boolean any = a.positional().stream().anyMatch(o -> o instanceof Py.Markup)
                || a.keywords().values().stream().anyMatch(o -> o instanceof Py.Markup);
        if (!any) {
            return a;
        }
        List<Object> pos = new ArrayList<>();
        a.positional().forEach(o -> pos.add(Py.plain(o)));
        Map<String, Object> kw = new LinkedHashMap<>();
        a.keywords().forEach((k, o) -> kw.put(k, Py.plain(o)));
        return new Args(pos, kw);
    }

    private static void addFilter(Map<String, Filter> table, MarkupRule markup, FilterFn fn, String... names) {
        for (String n : names) {
            if (table.put(n, new Filter(markup, fn)) != null) {
                throw new IllegalStateException("filter '" + n + "' is defined twice");
            }
        }
    }

    private static Map<String, Filter> filterTable() {
        Map<String, Filter> table = new LinkedHashMap<>();
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> v instanceof Py.Markup ? v
                : new Py.Markup(Py.str(v)), "safe");
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> Py.Markup.escape(v), "e", "escape");
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> new Py.Markup(escapeHtml(Py.str(v))),
                "forceescape");
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> v instanceof Py.Markup ? v : Py.str(v),
                "string");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (v instanceof Double d) {
                return Math.abs(d);
            }
            if (Py.isInt(v)) {
                return Math.abs(Py.asLong(v));
            }
            throw new RenderError("bad operand type for abs(): '" + Py.typeName(v) + "'");
        }, "abs");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> getattr(v, Py.str(a.get(0, "name", ""))), "attr");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) -> capitalize(Py.str(v)), "capitalize");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) ->
                center(Py.str(v), (int) Py.requireInt(a.get(0, "width", 80L), "width"), " ", max), "center");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> Py.len(v), "count", "length");
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> {
            Object dflt = a.get(0, "default_value", "");
            boolean bool = Py.truthy(a.get(1, "boolean", false));
            return v instanceof Undefined || (bool && !Py.truthy(v)) ? dflt : v;
        }, "d", "default");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                dictsort(v, Py.truthy(a.get(0, "case_sensitive", false)), Py.str(a.get(1, "by", "key")),
                    Py.truthy(a.get(2, "reverse", false))), "dictsort");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? new Undefined("No first item, sequence was empty.") : items.get(0);
        }, "first");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (v instanceof Undefined) {
                return new Undefined("No last item, sequence was empty.");
            }
            if (v instanceof Py.Generator) {
                throw new RenderError("'" + Py.typeName(v) + "' object is not reversible");
            }
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? new Undefined("No last item, sequence was empty.")
                    : items.get(items.size() - 1);
        }, "last");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (v instanceof Undefined u) {
                throw u.error();
            }
            return toFloat(v, a.get(0, "default", 0.0));
        }, "float");
        addFilter(table, MarkupRule.SEES_MARKUP, (in, name, v, a, max) -> {
            if (v instanceof Py.Markup markup) {
                Object args = a.keywords().isEmpty() ? new Tuple(a.positional()) : a.keywords();
                return new Py.Markup(Py.checkSize(percentFormat(markup.text(), Py.escapeArguments(args)), max));
            }
            Args p = plainArgs(a);
            return Py.checkSize(percentFormat(Py.str(v), p.keywords().isEmpty() ? new Tuple(p.positional())
                    : p.keywords()), max);
        }, "format");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (!(v instanceof String)) {
                if (v instanceof Undefined u) {
                    throw u.error();
                }
                throw new RenderError("unsupported operand type(s) for +=: '" + Py.typeName(v) + "' and 'str'");
            }
            return Py.checkSize(indent(Py.str(v), a.get(0, "width", 4L), Py.truthy(a.get(1, "first", false)),
                    Py.truthy(a.get(2, "blank", false)), max), max);
        }, "indent");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (v instanceof Undefined u) {
                throw u.error();
            }
            return toInt(v, a.get(0, "default", 0L), (int) Py.requireInt(a.get(1, "base", 10L), "base"));
        }, "int");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            return new Py.Generator("do_items", () -> {
                if (v instanceof Undefined) {
                    return new ArrayList<>();
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw new RenderError("Can only get item pairs from a mapping.");
                }
                return items(m);
            });
        }, "items");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            List<Object> items = Py.iterate(v);
            Object attribute = a.get(1, "attribute", null);
            StringBuilder sb = new StringBuilder();
            String sep = Py.str(a.get(0, "d", ""));
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    sb.append(sep);
                }
                sb.append(Py.str(attribute != null ? attrPath(items.get(i), attribute) : items.get(i)));
                if (sb.length() > max) {
                    throw new RenderError("joined string exceeds the output limit of " + max + " characters");
                }
            }
            return sb.toString();
        }, "join");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> new ArrayList<>(Py.iterate(v)), "list");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) -> Py.str(v).toLowerCase(Locale.ROOT), "lower");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) -> Py.str(v).toUpperCase(Locale.ROOT), "upper");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                new Py.Generator("sync_do_map", () -> map(in, v, a)), "map");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                groupby(v, a.get(0, "attribute", null), a.get(1, "default", null),
                    Py.truthy(a.get(2, "case_sensitive", false))), "groupby");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            long slices = Py.requireInt(a.get(0, "slices", null), "slices");
            Object filler = a.get(1, "fill_with", null);
            return new Py.Generator("do_slice", () -> {
                List<Object> seq = new ArrayList<>(Py.iterate(v));
                List<Object> out = new ArrayList<>();
                if (slices <= 0) {
                    return out;
                }
                long per = seq.size() / slices;
                long extra = seq.size() % slices;
                long offset = 0;
                for (long n = 0; n < slices; n++) {
                    long start = offset + n * per;
                    if (n < extra) {
                        offset++;
                    }
                    long end = offset + (n + 1) * per;
                    List<Object> part = new ArrayList<>(seq.subList((int) Math.min(start, seq.size()),
                            (int) Math.min(end, seq.size())));
                    if (filler != null && n >= extra) {
                        part.add(filler);
                    }
                    out.add(part);
                }
                return out;
            });
        }, "slice");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            long size = Py.requireInt(a.get(0, "linecount", null), "linecount");
            if (size <= 0) {
                throw new RenderError("batch size must be positive");
            }
            boolean fill = a.has(1, "fill_with");
            Object filler = a.get(1, "fill_with", null);
            return new Py.Generator("do_batch", () -> {
                List<Object> out = new ArrayList<>();
                List<Object> cur = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    cur.add(o);
                    if (cur.size() == size) {
                        out.add(cur);
                        cur = new ArrayList<>();
                    }
                }
                if (!cur.isEmpty()) {
                    while (fill && cur.size() < size) {
                        cur.add(filler);
                    }
                    out.add(cur);
                }
                return out;
            });
        }, "batch");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            List<Object> items = new ArrayList<>(Py.iterate(v));
            if (items.isEmpty()) {
                return new Undefined("No aggregated item, sequence was empty.");
            }
            Comparator<Object> cmp = sortKey(Py.truthy(a.get(0, "case_sensitive", false)),
                    a.get(1, "attribute", null));
            Object best = items.get(0);
            for (Object o : items) {
                int c = cmp.compare(o, best);
                if (name.equals("max") ? c > 0 : c < 0) {
                    best = o;
                }
            }
            return best;
        }, "max", "min");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                new Py.Generator("select_or_reject", () -> select(in, v, a, name.equals("select"), false)),
                "select", "reject");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                new Py.Generator("select_or_reject", () -> select(in, v, a, name.equals("selectattr"), true)),
                "selectattr", "rejectattr");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            Object count = a.get(2, "count", null);
            Py.searchWork(Py.str(v), Py.str(a.get(0, "old", "")));
            return Py.checkSize(replace(Py.str(v), Py.str(a.get(0, "old", "")), Py.str(a.get(1, "new", "")),
                    count == null ? -1 : Py.requireInt(count, "count")), max);
        }, "replace");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) -> {
            if (v instanceof String s) {
                return new StringBuilder(s).reverse().toString();
            }
            boolean reversible = v instanceof List || v instanceof Tuple || v instanceof Map;
            List<Object> items = new ArrayList<>(Py.iterate(v));
            java.util.Collections.reverse(items);
            return reversible ? new Py.Generator("<reversed>", () -> items) : items;
        }, "reverse");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) ->
                round(v, (int) Py.requireInt(a.get(0, "precision", 0L), "precision"),
                    Py.str(a.get(1, "method", "common"))), "round");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            List<Object> items = new ArrayList<>(Py.iterate(v));
            Comparator<Object> cmp = sortKey(Py.truthy(a.get(1, "case_sensitive", false)),
                    a.get(2, "attribute", null));
            items.sort(Py.truthy(a.get(0, "reverse", false)) ? cmp.reversed() : cmp);
            return items;
        }, "sort");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            Object attribute = a.get(0, "attribute", null);
            Object total = a.get(1, "start", 0L);
            for (Object o : Py.iterate(v)) {
                total = Py.binary("+", total, attribute != null ? attrPath(o, attribute) : o, max);
            }
            return total;
        }, "sum");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> jinjaTitle(Py.str(v)), "title");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> Py.checkSize(toJson(v, a, max), max), "tojson");
        addFilter(table, MarkupRule.KEEPS_MARKUP, (in, name, v, a, max) ->
                strip(Py.str(v), a.get(0, "chars", null), true, true), "trim");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            if (!(v instanceof String) && Py.len(v) <= Py.requireInt(a.get(0, "length", 255L), "length")
                    + Py.requireInt(a.get(3, "leeway", 5L), "leeway")) {
                return v;
            }
            return truncate(Py.str(v), (int) Py.requireInt(a.get(0, "length", 255L), "length"),
                    Py.truthy(a.get(1, "killwords", false)), Py.str(a.get(2, "end", "...")),
                    (int) Py.requireInt(a.get(3, "leeway", 5L), "leeway"));
        }, "truncate");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
            Object attribute = a.get(1, "attribute", null);
            return new Py.Generator("sync_do_unique", () -> {
                List<Object> out = new ArrayList<>();
                java.util.Set<Object> seenScalars = new java.util.HashSet<>();
                List<Object> seenOthers = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    Object key = attribute != null ? attrPath(o, attribute) : o;
                    if (!cs && key instanceof String str) {
                        key = str.toLowerCase(Locale.ROOT);
                    }
                    boolean fresh;
                    if (key == null || key instanceof String || key instanceof Boolean || key instanceof Long
                            || key instanceof Double) {
                        // 1, 1.0 and True are one key in Python.
                        Object norm = key instanceof Boolean b ? (Object) (b ? 1L : 0L)
                                : key instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9e15
                                ? (Object) (long) (double) d : key;
                        fresh = seenScalars.add(norm);
                    } else {
                        Py.hashCheck(key);
                        Object k = key;
                        Py.work(seenOthers.size());
                        fresh = seenOthers.stream().noneMatch(x -> Py.eq(x, k));
                        if (fresh) {
                            seenOthers.add(key);
                        }
                    }
                    if (fresh) {
                        out.add(o);
                    }
                }
                return out;
            });
        }, "unique");
        addFilter(table, MarkupRule.PLAIN, (in, name, v, a, max) -> {
            Matcher m = WORD.matcher(Py.str(v));
            long n = 0;
            while (m.find()) {
                n++;
            }
            return n;
        }, "wordcount");
        return java.util.Collections.unmodifiableMap(table);
    }

    private static List<Object> groupby(Object v, Object attribute, Object dflt, boolean caseSensitive) {
        java.util.function.Function<Object, Object> key = item -> {
            Object k = attrPath(item, attribute);
            return k instanceof Undefined && dflt != null ? dflt : k;
        };
        List<Object> sorted = new ArrayList<>(Py.iterate(v));
        sorted.sort(sortKey(caseSensitive, null, key));
        List<Object> out = new ArrayList<>();
        Object currentKey = null;
        List<Object> group = null;
        for (Object item : sorted) {
            Object k = key.apply(item);
            Object cmp = caseSensitive ? k : ignoreCase(k);
            if (group == null || !Py.eq(cmp, currentKey)) {
                group = new ArrayList<>();
                currentKey = cmp;
                // The group keeps the real key of its first item, not the lower-cased one.
                out.add(new Object[] {k, group});
            }
            group.add(item);
        }
        List<Object> tuples = new ArrayList<>(out.size());
        for (Object o : out) {
            Object[] pair = (Object[]) o;
            tuples.add(new Tuple(java.util.Arrays.asList(pair[0], pair[1]), List.of("grouper", "list")));
        }
        return tuples;
    }

    private static List<Object> items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(Tuple.of(e.getKey(), e.getValue()));
        }
        return out;
    }

    private static Object ignoreCase(Object o) {
        return o instanceof String s ? s.toLowerCase(Locale.ROOT) : o;
    }

    private static Comparator<Object> sortKey(boolean caseSensitive, Object attribute) {
        return sortKey(caseSensitive, attribute, null);
    }

    private static Comparator<Object> sortKey(boolean caseSensitive, Object attribute,
            java.util.function.Function<Object, Object> keyFn) {
        return (x, y) -> {
            Object a = keyFn != null ? keyFn.apply(x) : attribute != null ? attrPath(x, attribute) : x;
            Object b = keyFn != null ? keyFn.apply(y) : attribute != null ? attrPath(y, attribute) : y;
            if (!caseSensitive) {
                a = ignoreCase(a);
                b = ignoreCase(b);
            }
            // Jinja2 sorts by one-element lists, which compare equal elements without '<'.
            return Py.eq(a, b) ? 0 : Py.compare(a, b, "<");
        };
    }

    private static List<Object> dictsort(Object v, boolean caseSensitive, String by, boolean reverse) {
        if (!(v instanceof Map<?, ?> m)) {
            throw new RenderError("dictsort expects a mapping, got '" + Py.typeName(v) + "'");
        }
        int pos;
        if (by.equals("key")) {
            pos = 0;
        } else if (by.equals("value")) {
            pos = 1;
        } else {
            throw new RenderError("You can only sort by either \"key\" or \"value\"");
        }
        List<Object> items = items(m);
        Comparator<Object> cmp = (x, y) -> {
            Object a = ((Tuple) x).items().get(pos);
            Object b = ((Tuple) y).items().get(pos);
            if (!caseSensitive) {
                a = ignoreCase(a);
                b = ignoreCase(b);
            }
            return Py.compare(a, b, "<");
        };
        items.sort(reverse ? cmp.reversed() : cmp);
        return items;
    }

    private static List<Object> map(Interpreter in, Object v, Args a) {
        List<Object> out = new ArrayList<>();
        if (!Py.truthy(v)) {
            // Jinja2 tests the value before iterating it: a false value maps to nothing.
            return out;
        }
        if (a.keywords().containsKey("attribute")) {
            Object attribute = a.keywords().get("attribute");
            boolean hasDefault = a.keywords().containsKey("default");
            for (Object o : Py.iterate(v)) {
                Object x = attrPath(o, attribute);
                out.add(x instanceof Undefined && hasDefault ? a.keywords().get("default") : x);
            }
            return out;
        }
        if (a.size() == 0) {
            throw new RenderError("map requires a filter argument");
        }
        String filter = Py.str(a.positional().get(0));
        Args rest = new Args(a.positional().subList(1, a.size()), a.keywords());
        for (Object o : Py.iterate(v)) {
            out.add(filter(in, filter, o, rest));
        }
        return out;
    }

    private static List<Object> select(Interpreter in, Object v, Args a, boolean keep, boolean byAttr) {
        int off = byAttr ? 1 : 0;
        Object attribute = byAttr ? a.get(0, null, null) : null;
        String testName = a.size() > off ? Py.str(a.positional().get(off)) : null;
        Args testArgs = a.size() > off + 1 ? new Args(a.positional().subList(off + 1, a.size()), a.keywords())
                : new Args(List.of(), a.keywords());
        List<Object> out = new ArrayList<>();
        if (!Py.truthy(v)) {
            // Jinja2 tests the value before iterating it: a false value selects nothing.
            return out;
        }
        for (Object o : Py.iterate(v)) {
            Object x = byAttr ? attrPath(o, attribute) : o;
            boolean t = testName == null ? Py.truthy(x) : test(in, testName, x, testArgs);
            if (t == keep) {
                out.add(o);
            }
        }
        return out;
    }

    private static String toJson(Object v, Args a, int max) {
        boolean ascii = Py.truthy(a.get(0, "ensure_ascii", false));
        Object indent = a.get(1, "indent", null);
        Object separators = a.get(2, "separators", null);
        boolean sortKeys = Py.truthy(a.get(3, "sort_keys", false));
        JsonCodec.WriteOptions o = JsonCodec.WriteOptions.python().ensureAscii(ascii).sortKeys(sortKeys)
                .maxChars(max);
        if (indent instanceof String s) {
            o.indent(s);
        } else if (indent != null) {
            o.indent(" ".repeat((int) Math.max(0, limited(Py.requireInt(indent, "indent"), 1000))));
        }
        if (separators != null) {
            List<Object> seps = Py.iterate(separators);
            if (seps.size() != 2) {
                throw new RenderError("separators must be a pair of strings");
            }
            o.separators(Py.str(seps.get(0)), Py.str(seps.get(1)));
        }
        o.adapter(x -> {
            if (x instanceof Tuple t) {
                return t.items();
            }
            if (x instanceof Py.Markup m) {
                return m.text();
            }
            throw new RenderError("Object of type " + Py.typeName(x) + " is not JSON serializable");
        });
        try {
            return JsonCodec.write(v, o);
        } catch (PythonJson.JsonException e) {
            throw new RenderError(e.getMessage());
        }
    }

    private static Object round(Object v, int precision, String method) {
        if (!Py.isNumber(v)) {
            throw new RenderError("type " + Py.typeName(v) + " doesn't define __round__ method");
        }
        if (method.equals("common")) {
            if (Py.isInt(v)) {
                if (precision >= 0) {
                    return Py.asLong(v);
                }
                return new BigDecimal(Py.asLong(v)).setScale(precision, RoundingMode.HALF_EVEN).longValue();
            }
            double d = (Double) v;
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                return d;
            }
            return new BigDecimal(d).setScale(precision, RoundingMode.HALF_EVEN).doubleValue();
        }
        double scale = Math.pow(10, precision);
        double d = Py.asDouble(v);
        if (method.equals("ceil")) {
            return Math.ceil(d * scale) / scale;
        }
        if (method.equals("floor")) {
            return Math.floor(d * scale) / scale;
        }
        throw new RenderError("method must be common, ceil or floor");
    }

    private static Object toInt(Object v, Object dflt, int base) {
        if (Py.isInt(v)) {
            return Py.asLong(v);
        }
        if (v instanceof Double d) {
            return Double.isFinite(d) ? (long) (double) d : dflt;
        }
        if (v instanceof String s) {
            String t = s.strip().replace("_", "");
            try {
                int b = base;
                String digits = t;
                String sign = "";
                if (digits.startsWith("-") || digits.startsWith("+")) {
                    sign = digits.substring(0, 1);
                    digits = digits.substring(1);
                }
                String lower = digits.toLowerCase(Locale.ROOT);
                if ((b == 16 || b == 0) && lower.startsWith("0x")) {
                    b = 16;
                    digits = digits.substring(2);
                } else if ((b == 8 || b == 0) && lower.startsWith("0o")) {
                    b = 8;
                    digits = digits.substring(2);
                } else if ((b == 2 || b == 0) && lower.startsWith("0b")) {
                    b = 2;
                    digits = digits.substring(2);
                } else if (b == 0) {
                    b = 10;
                }
                return Long.parseLong(sign + digits, b);
            } catch (NumberFormatException e) {
                Object f = toFloat(v, null);
                if (f instanceof Double d && Double.isFinite(d)) {
                    return (long) (double) d;
                }
                return dflt;
            }
        }
        return dflt;
    }

    private static Object toFloat(Object v, Object dflt) {
        if (Py.isNumber(v)) {
            return Py.asDouble(v);
        }
        if (v instanceof String s) {
            String t = s.strip().replace("_", "").toLowerCase(Locale.ROOT);
            switch (t) {
                case "inf", "+inf", "infinity", "+infinity":
                    return Double.POSITIVE_INFINITY;
                case "-inf", "-infinity":
                    return Double.NEGATIVE_INFINITY;
                case "nan", "+nan", "-nan":
                    return Double.NaN;
                default:
                    break;
            }
            if (t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) {
                return Double.parseDouble(t);
            }
        }
        return dflt;
    }

    private static String indent(String s, Object width, boolean first, boolean blank, int max) {
        String ind = width instanceof String w ? w : " ".repeat((int) Math.max(0, limited(
                Py.requireInt(width, "width"), max)));
        List<String> lines = splitlines(s + "\n", false);
        StringBuilder rv = new StringBuilder();
        if (blank) {
            for (int i = 0; i < lines.size(); i++) {
                if (i > 0) {
                    rv.append('\n').append(ind);
                }
                rv.append(lines.get(i));
            }
        } else {
            rv.append(lines.get(0));
            for (int i = 1; i < lines.size(); i++) {
                rv.append('\n');
                if (!lines.get(i).isEmpty()) {
                    rv.append(ind);
                }
                rv.append(lines.get(i));
            }
        }
        return first ? ind + rv : rv.toString();
    }

    private static String truncate(String s, int length, boolean killwords, String end, int leeway) {
        if (length < end.length()) {
            throw new RenderError("expected length >= " + end.length() + ", got " + length);
        }
        int n = s.codePointCount(0, s.length());
        if (n <= length + leeway) {
            return s;
        }
        String head = s.substring(0, s.offsetByCodePoints(0, length - end.length()));
        if (killwords) {
            return head + end;
        }
        int sp = head.lastIndexOf(' ');
        return (sp >= 0 ? head.substring(0, sp) : head) + end;
    }

    static String escapeHtml(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&#34;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String jinjaTitle(String s) {
        StringBuilder sb = new StringBuilder();
        Matcher m = TITLE_SPLIT.matcher(s);
        int last = 0;
        while (m.find()) {
            titleWord(s.substring(last, m.start()), sb);
            titleWord(m.group(), sb);
            last = m.end();
        }
        titleWord(s.substring(last), sb);
        return sb.toString();
    }

    private static void titleWord(String item, StringBuilder sb) {
        if (item.isEmpty()) {
            return;
        }
        int first = item.codePointAt(0);
        sb.append(new String(Character.toChars(first)).toUpperCase(Locale.ROOT));
        sb.append(item.substring(Character.charCount(first)).toLowerCase(Locale.ROOT));
    }

    // ---- Python string methods ----

    static Object callMethod(Interpreter in, Object self, String name, Args a) {
        int max = in.limits.maxOutputChars();
        if (self instanceof Map<?, ?> m) {
            switch (name) {
                case "items", "keys", "values":
                    return new Py.DictView(name, m);
                case "get": {
                    Object k = a.get(0, "key", null);
                    return m.containsKey(k) ? m.get(k) : a.get(1, "default", null);
                }
                case "copy":
                    return new LinkedHashMap<Object, Object>(m);
                default:
                    break;
            }
        } else if (self instanceof List || self instanceof Tuple) {
            List<Object> l = Py.iterate(self);
            Object x = a.get(0, null, null);
            switch (name) {
                case "count":
                    return l.stream().filter(o -> Py.eq(o, x)).count();
                case "index":
                    for (int i = 0; i < l.size(); i++) {
                        if (Py.eq(l.get(i), x)) {
                            return (long) i;
                        }
                    }
                    throw new RenderError(Py.repr(x) + " is not in list");
                case "copy":
                    return new ArrayList<>(l);
                default:
                    break;
            }
        } else if (self instanceof String s) {
            return strMethod(s, name, plainArgs(a), max);
        } else if (self instanceof Py.Markup m) {
            return markupMethod(m, name, a, max);
        }
        throw new RenderError("'" + Py.typeName(self) + "' object has no method '" + name + "'");
    }

    /** Markup's string methods that return Markup; of these, replace, center, ljust and rjust escape their second argument. */
    private static final Set<String> MARKUP_KEEPING_METHODS = Set.of("strip", "lstrip", "rstrip", "replace", "upper",
            "lower", "title", "capitalize", "swapcase", "casefold", "center", "ljust", "rjust", "zfill",
            "removeprefix", "removesuffix", "partition", "rpartition");

    private static Object markupMethod(Py.Markup m, String name, Args a, int max) {
        String s = m.text();
        switch (name) {
            case "format": {
                List<Object> pos = new ArrayList<>();
                a.positional().forEach(o -> pos.add(Py.escapeArguments(o)));
                Map<String, Object> kw = new LinkedHashMap<>();
                a.keywords().forEach((k, o) -> kw.put(k, Py.escapeArguments(o)));
                return new Py.Markup((String) strMethod(s, name, new Args(pos, kw), max));
            }
            case "join": {
                List<Object> items = new ArrayList<>();
                for (Object o : Py.iterate(a.get(0, "iterable", null))) {
                    if (!(o instanceof String || o instanceof Py.Markup)) {
                        throw new RenderError("sequence item " + items.size() + ": expected str instance, "
                                + Py.typeName(o) + " found");
                    }
                    items.add(Py.Markup.escape(o).text());
                }
                return new Py.Markup((String) strMethod(s, name, Args.of(items), max));
            }
            case "split", "rsplit", "splitlines": {
                Object r = strMethod(s, name, plainArgs(a), max);
                List<Object> out = new ArrayList<>();
                for (Object o : Py.iterate(r)) {
                    out.add(new Py.Markup((String) o));
                }
                return out;
            }
            default:
                break;
        }
        Args plain = plainArgs(a);
        if (!MARKUP_KEEPING_METHODS.contains(name)) {
            return strMethod(s, name, plain, max);
        }
        List<Object> pos = new ArrayList<>(plain.positional());
        if (Set.of("replace", "center", "ljust", "rjust").contains(name) && a.size() > 1
                && (a.positional().get(1) instanceof String || a.positional().get(1) instanceof Py.Markup)) {
            pos.set(1, Py.Markup.escape(a.positional().get(1)).text());
        }
        Object r = strMethod(s, name, new Args(pos, plain.keywords()), max);
        if (r instanceof Tuple t) {
            List<Object> parts = new ArrayList<>();
            t.items().forEach(o -> parts.add(new Py.Markup((String) o)));
            return new Tuple(parts);
        }
        return new Py.Markup((String) r);
    }

    private static final Map<String, Set<String>> STR_KEYWORDS = Map.of("split", Set.of("sep", "maxsplit"),
            "rsplit", Set.of("sep", "maxsplit"), "splitlines", Set.of("keepends"));

    private static Object strMethod(String s, String name, Args a, int max) {
        if (!a.keywords().isEmpty() && !name.equals("format")) {
            Set<String> allowed = STR_KEYWORDS.getOrDefault(name, Set.of());
            for (String k : a.keywords().keySet()) {
                if (!allowed.contains(k)) {
                    throw new RenderError(allowed.isEmpty() ? "str." + name + "() takes no keyword arguments"
                            : "'" + k + "' is an invalid keyword argument for str." + name + "()");
                }
            }
        }
        if (Set.of("find", "rfind", "index", "rindex", "count", "replace", "split", "rsplit", "partition",
                "rpartition").contains(name) && a.get(0, null, null) instanceof String needle) {
            Py.searchWork(s, needle);
        }
        StrMethod m = STR_TABLE.get(name);
        if (m == null) {
            throw new RenderError("'str' object has no method '" + name + "'");
        }
        return m.apply(s, name, a, max);
    }

    private static void addMethod(Map<String, StrMethod> table, StrMethod fn, String... names) {
        for (String n : names) {
            if (table.put(n, fn) != null) {
                throw new IllegalStateException("str method '" + n + "' is defined twice");
            }
        }
    }

    private static Map<String, StrMethod> strTable() {
        Map<String, StrMethod> table = new LinkedHashMap<>();
        addMethod(table, (s, name, a, max) -> strip(s, a.get(0, "chars", null), true, true), "strip");
        addMethod(table, (s, name, a, max) -> strip(s, a.get(0, "chars", null), true, false), "lstrip");
        addMethod(table, (s, name, a, max) -> strip(s, a.get(0, "chars", null), false, true), "rstrip");
        addMethod(table, (s, name, a, max) ->
                split(s, a.get(0, "sep", null), Py.requireInt(a.get(1, "maxsplit", -1L), "maxsplit")), "split");
        addMethod(table, (s, name, a, max) ->
                rsplit(s, a.get(0, "sep", null), Py.requireInt(a.get(1, "maxsplit", -1L), "maxsplit")), "rsplit");
        addMethod(table, (s, name, a, max) ->
                new ArrayList<Object>(splitlines(s, Py.truthy(a.get(0, "keepends", false)))), "splitlines");
        addMethod(table, (s, name, a, max) -> {
            Object p = a.get(0, "prefix", null);
            String sub = sliceArgs(s, a);
            List<Object> options = p instanceof Tuple t ? t.items() : List.of(p == null ? "" : p);
            for (Object o : options) {
                if (!(o instanceof String x)) {
                    throw new RenderError(name + " first arg must be str or a tuple of str, not "
                            + Py.typeName(o));
                }
                if (name.equals("startswith") ? sub.startsWith(x) : sub.endsWith(x)) {
                    return true;
                }
            }
            return false;
        }, "startswith", "endswith");
        addMethod(table, (s, name, a, max) -> Py.checkSize(replace(s, strArg(a, 0, "old"), strArg(a, 1, "new"),
                    Py.requireInt(a.get(2, "count", -1L), "count")), max), "replace");
        addMethod(table, (s, name, a, max) -> s.toUpperCase(Locale.ROOT), "upper");
        addMethod(table, (s, name, a, max) -> s.toLowerCase(Locale.ROOT), "lower");
        addMethod(table, (s, name, a, max) -> s.toLowerCase(Locale.ROOT), "casefold");
        addMethod(table, (s, name, a, max) -> {
            StringBuilder sb = new StringBuilder();
            s.codePoints().forEach(cp -> sb.appendCodePoint(Character.isUpperCase(cp) ? Character.toLowerCase(cp)
                    : Character.isLowerCase(cp) ? Character.toUpperCase(cp) : cp));
            return sb.toString();
        }, "swapcase");
        addMethod(table, (s, name, a, max) -> pyTitle(s), "title");
        addMethod(table, (s, name, a, max) -> capitalize(s), "capitalize");
        addMethod(table, (s, name, a, max) -> {
            String sub = strArg(a, 0, "sub");
            int idx = name.startsWith("r") ? s.lastIndexOf(sub) : s.indexOf(sub);
            if (idx < 0 && name.endsWith("index")) {
                throw new RenderError("substring not found");
            }
            return idx < 0 ? -1L : (long) s.codePointCount(0, idx);
        }, "find", "rfind", "index", "rindex");
        addMethod(table, (s, name, a, max) -> {
            String sub = strArg(a, 0, "sub");
            if (sub.isEmpty()) {
                return (long) s.codePointCount(0, s.length()) + 1;
            }
            long n = 0;
            for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
                n++;
            }
            return n;
        }, "count");
        addMethod(table, (s, name, a, max) -> {
            StringBuilder sb = new StringBuilder();
            List<Object> items = Py.iterate(a.get(0, "iterable", null));
            for (int i = 0; i < items.size(); i++) {
                if (!(items.get(i) instanceof String x)) {
                    throw new RenderError("sequence item " + i + ": expected str instance, "
                            + Py.typeName(items.get(i)) + " found");
                }
                if (i > 0) {
                    sb.append(s);
                }
                sb.append(x);
                if (sb.length() > max) {
                    throw new RenderError("joined string exceeds the output limit of " + max + " characters");
                }
            }
            return sb.toString();
        }, "join");
        addMethod(table, (s, name, a, max) -> Py.checkSize(strFormat(s, a), max), "format");
        addMethod(table, (s, name, a, max) ->
                !s.isEmpty() && s.codePoints().allMatch(Character::isDigit), "isdigit", "isnumeric", "isdecimal");
        addMethod(table, (s, name, a, max) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter), "isalpha");
        addMethod(table, (s, name, a, max) ->
                !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit), "isalnum");
        addMethod(table, (s, name, a, max) ->
                !s.isEmpty() && s.chars().allMatch(c -> Lexer.isPyWhitespace((char) c)), "isspace");
        addMethod(table, (s, name, a, max) -> isCasedAnd(s, true), "isupper");
        addMethod(table, (s, name, a, max) -> isCasedAnd(s, false), "islower");
        addMethod(table, (s, name, a, max) -> {
            int w = (int) limited(Py.requireInt(a.get(0, "width", 0L), "width"), max);
            int n = s.codePointCount(0, s.length());
            if (n >= w) {
                return s;
            }
            boolean signed = s.startsWith("-") || s.startsWith("+");
            return (signed ? s.substring(0, 1) : "") + "0".repeat(w - n) + (signed ? s.substring(1) : s);
        }, "zfill");
        addMethod(table, (s, name, a, max) -> {
            int w = (int) Py.requireInt(a.get(0, "width", 0L), "width");
            String fill = Py.str(a.get(1, "fillchar", " "));
            if (name.equals("center")) {
                return center(s, w, fill, max);
            }
            int n = s.codePointCount(0, s.length());
            if (n >= w) {
                return s;
            }
            String pad = fill.repeat((int) limited(w - n, max));
            return name.equals("ljust") ? s + pad : pad + s;
        }, "center", "ljust", "rjust");
        addMethod(table, (s, name, a, max) -> {
            String sep = strArg(a, 0, "sep");
            int idx = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
            if (idx < 0) {
                return name.equals("partition") ? Tuple.of(s, "", "") : Tuple.of("", "", s);
            }
            return Tuple.of(s.substring(0, idx), sep, s.substring(idx + sep.length()));
        }, "partition", "rpartition");
        addMethod(table, (s, name, a, max) -> {
            String p = strArg(a, 0, "prefix");
            return s.startsWith(p) ? s.substring(p.length()) : s;
        }, "removeprefix");
        addMethod(table, (s, name, a, max) -> {
            String p = strArg(a, 0, "suffix");
            return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
        }, "removesuffix");
        return java.util.Collections.unmodifiableMap(table);
    }

    private static long limited(long size, int max) {
        if (size > max) {
            throw new RenderError("a width of " + size + " exceeds the output limit of " + max + " characters");
        }
        return size;
    }

    private static String sliceArgs(String s, Args a) {
        if (a.size() < 2) {
            return s;
        }
        Object r = Py.slice(s, a.positional().get(1), a.size() > 2 ? a.positional().get(2) : null, null);
        return (String) r;
    }

    private static String strArg(Args a, int i, String name) {
        Object o = a.get(i, name, null);
        if (!(o instanceof String s)) {
            throw new RenderError("argument '" + name + "' must be str, not " + Py.typeName(o));
        }
        return s;
    }

    static String strip(String s, Object chars, boolean left, boolean right) {
        String set = chars == null ? null : Py.str(chars);
        int b = 0;
        int e = s.length();
        if (left) {
            while (b < e && stripChar(s.charAt(b), set)) {
                b++;
            }
        }
        if (right) {
            while (e > b && stripChar(s.charAt(e - 1), set)) {
                e--;
            }
        }
        return s.substring(b, e);
    }

    private static boolean stripChar(char c, String set) {
        return set == null ? Lexer.isPyWhitespace(c) : set.indexOf(c) >= 0;
    }

    private static List<Object> split(String s, Object sepArg, long maxsplit) {
        List<Object> out = new ArrayList<>();
        int n = s.length();
        if (sepArg == null) {
            int i = 0;
            while (true) {
                while (i < n && Lexer.isPyWhitespace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(s.substring(i));
                    break;
                }
                int j = i;
                while (j < n && !Lexer.isPyWhitespace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        String sep = Py.str(sepArg);
        if (sep.isEmpty()) {
            throw new RenderError("empty separator");
        }
        int i = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int j = s.indexOf(sep, i);
            if (j < 0) {
                break;
            }
            out.add(s.substring(i, j));
            i = j + sep.length();
        }
        out.add(s.substring(i));
        return out;
    }

    private static List<Object> rsplit(String s, Object sepArg, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (sepArg == null) {
            int j = s.length();
            while (true) {
                while (j > 0 && Lexer.isPyWhitespace(s.charAt(j - 1))) {
                    j--;
                }
                if (j <= 0) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(0, s.substring(0, j));
                    break;
                }
                int i = j;
                while (i > 0 && !Lexer.isPyWhitespace(s.charAt(i - 1))) {
                    i--;
                }
                out.add(0, s.substring(i, j));
                j = i;
            }
            return out;
        }
        String sep = Py.str(sepArg);
        if (sep.isEmpty()) {
            throw new RenderError("empty separator");
        }
        int end = s.length();
        while (maxsplit < 0 || out.size() < maxsplit) {
            int j = s.lastIndexOf(sep, end - sep.length());
            if (j < 0) {
                break;
            }
            out.add(0, s.substring(j + sep.length(), end));
            end = j;
        }
        out.add(0, s.substring(0, end));
        return out;
    }

    static List<String> splitlines(String s, boolean keepends) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int start = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            int eol;
            if (c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n') {
                eol = 2;
            } else if (c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u001c' || c == '\u001d'
                    || c == '\u001e' || c == '\u0085' || c == '\u2028' || c == '\u2029') {
                eol = 1;
            } else {
                i++;
                continue;
            }
            out.add(s.substring(start, keepends ? i + eol : i));
            i += eol;
            start = i;
        }
        if (start < n) {
            out.add(s.substring(start));
        }
        return out;
    }

    private static String replace(String s, String old, String repl, long count) {
        if (count < 0) {
            count = Long.MAX_VALUE;
        }
        StringBuilder sb = new StringBuilder();
        if (old.isEmpty()) {
            long done = 0;
            int i = 0;
            while (i <= s.length()) {
                if (done < count) {
                    sb.append(repl);
                    done++;
                }
                if (i == s.length()) {
                    break;
                }
                int cp = s.codePointAt(i);
                sb.appendCodePoint(cp);
                i += Character.charCount(cp);
            }
            return sb.toString();
        }
        int i = 0;
        long done = 0;
        while (done < count) {
            int j = s.indexOf(old, i);
            if (j < 0) {
                break;
            }
            sb.append(s, i, j).append(repl);
            i = j + old.length();
            done++;
        }
        return sb.append(s.substring(i)).toString();
    }

    private static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return new String(Character.toChars(Character.toTitleCase(first)))
                + s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT);
    }

    private static String pyTitle(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            boolean cased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
            if (cased) {
                sb.appendCodePoint(prevCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
            } else {
                sb.appendCodePoint(cp);
            }
            prevCased = cased;
        }
        return sb.toString();
    }

    private static String center(String s, int width, String fill, int max) {
        int n = s.codePointCount(0, s.length());
        if (width <= n) {
            return s;
        }
        if (width > max) {
            throw new RenderError("center width exceeds the output limit of " + max + " characters");
        }
        int marg = width - n;
        int left = marg / 2 + (marg & width & 1);
        return fill.repeat(left) + s + fill.repeat(marg - left);
    }

    /** Python's {@code str.format} for plain fields: no attribute or index access inside a field. */
    private static String strFormat(String fmt, Args a) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c == '{') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '{') {
                    sb.append('{');
                    i++;
                    continue;
                }
                int close = fmt.indexOf('}', i);
                if (close < 0) {
                    throw new RenderError("Single '{' encountered in format string");
                }
                String field = fmt.substring(i + 1, close);
                String conv = null;
                int bang = field.indexOf('!');
                int colon = field.indexOf(':');
                if (colon >= 0) {
                    if (!field.substring(colon + 1).isEmpty()) {
                        throw new RenderError("format specifications are not supported in templates: " + field);
                    }
                    field = field.substring(0, colon);
                }
                if (bang >= 0 && (colon < 0 || bang < colon)) {
                    conv = field.substring(bang + 1);
                    field = field.substring(0, bang);
                }
                if (field.contains(".") || field.contains("[")) {
                    throw new RenderError("attribute and index access in format fields is not allowed: " + field);
                }
                Object v;
                if (field.isEmpty()) {
                    v = argAt(a, auto++);
                } else if (field.chars().allMatch(Character::isDigit)) {
                    v = argAt(a, Integer.parseInt(field));
                } else if (a.keywords().containsKey(field)) {
                    v = a.keywords().get(field);
                } else {
                    throw new RenderError("KeyError: '" + field + "'");
                }
                sb.append("r".equals(conv) ? Py.repr(v) : Py.str(v));
                i = close;
            } else if (c == '}') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '}') {
                    i++;
                    sb.append('}');
                    continue;
                }
                throw new RenderError("Single '}' encountered in format string");
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Object argAt(Args a, int i) {
        if (i >= a.size()) {
            throw new RenderError("Replacement index " + i + " out of range for positional args tuple");
        }
        return a.positional().get(i);
    }

    /** Python's {@code %} formatting for {@code %s}, {@code %r}, {@code %d}, {@code %i}, {@code %f}, {@code %%}. */
    static String percentFormat(String fmt, Object args) {
        List<Object> values = args instanceof Tuple t ? t.items() : List.of(args == null ? "None" : args);
        if (args == null) {
            values = java.util.Collections.singletonList(null);
        }
        Map<?, ?> named = args instanceof Map<?, ?> m ? m : null;
        // Python treats any non-tuple argument with item access (a list, a dict) as a mapping: no count check.
        boolean mappingLike = named != null || args instanceof List || args instanceof Py.Range
                || args instanceof Py.DictView || args instanceof Undefined;
        StringBuilder sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            if (++i >= fmt.length()) {
                throw new RenderError("incomplete format");
            }
            Object v;
            if (fmt.charAt(i) == '%') {
                sb.append('%');
                continue;
            }
            if (fmt.charAt(i) == '(' && named != null) {
                int close = fmt.indexOf(')', i);
                if (close < 0) {
                    throw new RenderError("incomplete format key");
                }
                v = named.get(fmt.substring(i + 1, close));
                i = close + 1;
            } else {
                if (named != null) {
                    v = named;
                } else {
                    if (next >= values.size()) {
                        throw new RenderError("not enough arguments for format string");
                    }
                    v = values.get(next++);
                }
            }
            int precision = -1;
            if (i < fmt.length() && fmt.charAt(i) == '.') {
                int j = i + 1;
                while (j < fmt.length() && Character.isDigit(fmt.charAt(j))) {
                    j++;
                }
                precision = Integer.parseInt(fmt.substring(i + 1, j).isEmpty() ? "0" : fmt.substring(i + 1, j));
                i = j;
            }
            if (i >= fmt.length()) {
                throw new RenderError("incomplete format");
            }
            switch (fmt.charAt(i)) {
                case 's' -> sb.append(Py.str(v));
                case 'r' -> sb.append(Py.repr(v));
                case 'd', 'i' -> {
                    if (!Py.isNumber(v)) {
                        throw new RenderError("%d format: a real number is required, not " + Py.typeName(v));
                    }
                    sb.append(v instanceof Double d ? (long) (double) d : Py.asLong(v));
                }
                case 'f' -> {
                    if (!Py.isNumber(v)) {
                        throw new RenderError("must be real number, not " + Py.typeName(v));
                    }
                    sb.append(new BigDecimal(Py.asDouble(v)).setScale(precision < 0 ? 6 : precision,
                            RoundingMode.HALF_EVEN).toPlainString());
                }
                default -> throw new RenderError("unsupported format character '" + fmt.charAt(i) + "'");
            }
        }
        if (!mappingLike && next < values.size()) {
            throw new RenderError("not all arguments converted during string formatting");
        }
        return sb.toString();
    }

    // ---- strftime ----

    static String strftime(String fmt, ZonedDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            boolean noPad = false;
            if (d == '-' && i + 1 < fmt.length()) {
                noPad = true;
                d = fmt.charAt(++i);
            }
            String v = switch (d) {
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US);
                case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.US);
                case 'd' -> pad(t.getDayOfMonth(), 2, noPad);
                case 'e' -> noPad ? Integer.toString(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
                case 'H' -> pad(t.getHour(), 2, noPad);
                case 'I' -> pad(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
                case 'j' -> pad(t.getDayOfYear(), 3, noPad);
                case 'm' -> pad(t.getMonthValue(), 2, noPad);
                case 'M' -> pad(t.getMinute(), 2, noPad);
                case 'S' -> pad(t.getSecond(), 2, noPad);
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'y' -> pad(t.getYear() % 100, 2, noPad);
                case 'Y' -> Integer.toString(t.getYear());
                case 'w' -> Integer.toString(t.getDayOfWeek().getValue() % 7);
                case 'u' -> Integer.toString(t.getDayOfWeek().getValue());
                case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.US);
                case 'z' -> t.getOffset().getId().equals("Z") ? "+0000" : t.getOffset().getId().replace(":", "");
                case 'F' -> String.format("%04d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth());
                case 'T' -> String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
                case '%' -> "%";
                default -> "%" + (noPad ? "-" : "") + d;
            };
            sb.append(v);
        }
        return sb.toString();
    }

    private static String pad(int v, int width, boolean noPad) {
        String s = Integer.toString(v);
        return noPad || s.length() >= width ? s : "0".repeat(width - s.length()) + s;
    }
}
