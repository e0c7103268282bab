package io.github.locallm.llamacpp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a GBNF grammar in Java the way llama.cpp's parser would, because the native side ignores an
 * invalid grammar silently (output is then unconstrained): syntax, undefined rules, a missing {@code root}
 * rule and left recursion.
 */
final class Gbnf {

    /** A JSON value (object, array, string, number, true, false or null), at most a few levels of whitespace. */
    static final String JSON_GRAMMAR = String.join("\n",
            "root   ::= value",
            "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws",
            "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws",
            "array  ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws",
            "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) )* \"\\\"\" ws",
            "number ::= \"-\"? ([0-9] | [1-9] [0-9]{1,15}) (\".\" [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})? ws",
            "ws     ::= | \" \" | \"\\n\" [ \\t]{0,20}",
            "");

    private final String src;
    private int pos;
    /** For each rule, its alternatives; each alternative a list of elements. */
    private final Map<String, List<List<Object>>> rules = new LinkedHashMap<>();
    private final Map<String, Integer> referencedAt = new LinkedHashMap<>();

    private record Ref(String name) {
    }

    private record Terminal(boolean nullable) {
    }

    private record Group(List<List<Object>> alternatives) {
    }

    private record Repeat(Object element, int min) {
    }

    private Gbnf(String src) {
        this.src = src;
    }

    /**
     * Validates a grammar.
     *
     * @throws IllegalArgumentException naming the problem and its position
     */
    static void validate(String grammar) {
        Gbnf g = new Gbnf(grammar);
        g.parse();
        g.check();
    }

    private IllegalArgumentException error(String what) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new IllegalArgumentException("invalid GBNF grammar at line " + line + ", column " + col + ": " + what);
    }

    private boolean atEnd() {
        return pos >= src.length();
    }

    private char peek() {
        return src.charAt(pos);
    }

    private void space(boolean newlineOk) {
        while (!atEnd()) {
            char c = peek();
            if (c == ' ' || c == '\t' || (newlineOk && (c == '\n' || c == '\r'))) {
                pos++;
            } else if (c == '#') {
                while (!atEnd() && peek() != '\n' && peek() != '\r') {
                    pos++;
                }
            } else {
                return;
            }
        }
    }

    private static boolean isWordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    }

    private String name() {
        int start = pos;
        while (!atEnd() && isWordChar(peek())) {
            pos++;
        }
        if (pos == start) {
            throw error("expected a rule name");
        }
        return src.substring(start, pos);
    }

    private void parse() {
        space(true);
        if (atEnd()) {
            throw error("the grammar is empty");
        }
        while (!atEnd()) {
            String name = name();
            space(false);
            if (!src.startsWith("::=", pos)) {
                throw error("expected ::= after rule name '" + name + "'");
            }
            pos += 3;
            space(true);
            List<List<Object>> alts = alternatives(false, 0);
            if (rules.containsKey(name)) {
                rules.get(name).addAll(alts);
            } else {
                rules.put(name, alts);
            }
            if (!atEnd() && peek() != '\n' && peek() != '\r') {
                throw error("expected a newline or end of grammar after rule '" + name + "'");
            }
            space(true);
        }
    }

    private List<List<Object>> alternatives(boolean nested, int depth) {
        if (depth > 100) {
            throw error("groups nested too deeply");
        }
        List<List<Object>> alts = new ArrayList<>();
        alts.add(sequence(nested, depth));
        while (!atEnd() && peek() == '|') {
            pos++;
            space(true);
            alts.add(sequence(nested, depth));
        }
        return alts;
    }

    private List<Object> sequence(boolean nested, int depth) {
        List<Object> seq = new ArrayList<>();
        while (!atEnd()) {
            char c = peek();
            Object element;
            if (c == '"') {
                pos++;
                boolean empty = true;
                while (!atEnd() && peek() != '"') {
                    character();
                    empty = false;
                }
                if (atEnd()) {
                    throw error("unterminated string literal");
                }
                pos++;
                element = new Terminal(empty);
            } else if (c == '[') {
                pos++;
                if (!atEnd() && peek() == '^') {
                    pos++;
                }
                while (!atEnd() && peek() != ']') {
                    character();
                    if (!atEnd() && peek() == '-' && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                        pos++;
                        character();
                    }
                }
                if (atEnd()) {
                    throw error("unterminated character class");
                }
                pos++;
                element = new Terminal(false);
            } else if (c == '.') {
                pos++;
                element = new Terminal(false);
            } else if (c == '<') {
                int close = src.indexOf('>', pos);
                if (close < 0) {
                    throw error("unterminated token reference");
                }
                pos = close + 1;
                element = new Terminal(false);
            } else if (isWordChar(c)) {
                int at = pos;
                String name = name();
                referencedAt.putIfAbsent(name, at);
                element = new Ref(name);
            } else if (c == '(') {
                pos++;
                space(true);
                List<List<Object>> inner = alternatives(true, depth + 1);
                if (atEnd() || peek() != ')') {
                    throw error("expected ')'");
                }
                pos++;
                element = new Group(inner);
            } else {
                break;
            }
            space(nested);
            element = repetition(element, nested);
            seq.add(element);
        }
        if (!atEnd() && peek() != '|' && peek() != ')' && peek() != '\n' && peek() != '\r') {
            throw error("unexpected character '" + peek() + "'");
        }
        if (!nested && !atEnd() && peek() == ')') {
            throw error("unexpected ')'");
        }
        return seq;
    }

    private Object repetition(Object element, boolean nested) {
        while (!atEnd()) {
            char c = peek();
            if (c == '*' || c == '?') {
                pos++;
                element = new Repeat(element, 0);
            } else if (c == '+') {
                pos++;
                element = new Repeat(element, 1);
            } else if (c == '{') {
                pos++;
                space(nested);
                int min = integer();
                space(nested);
                if (!atEnd() && peek() == ',') {
                    pos++;
                    space(nested);
                    if (!atEnd() && Character.isDigit(peek())) {
                        int max = integer();
                        if (max < min) {
                            throw error("repetition maximum " + max + " is below minimum " + min);
                        }
                        space(nested);
                    }
                }
                if (atEnd() || peek() != '}') {
                    throw error("expected '}' to close a repetition");
                }
                pos++;
                element = new Repeat(element, min);
            } else {
                return element;
            }
            space(nested);
        }
        return element;
    }

    private int integer() {
        int start = pos;
        while (!atEnd() && Character.isDigit(peek()) && peek() < 128) {
            pos++;
        }
        if (start == pos || pos - start > 6) {
            throw error("expected a repetition count");
        }
        return Integer.parseInt(src.substring(start, pos));
    }

    private void character() {
        char c = peek();
        if (c == '\n' || c == '\r') {
            throw error("unexpected end of line inside a literal or character class");
        }
        pos++;
        if (c != '\\') {
            return;
        }
        if (atEnd()) {
            throw error("unterminated escape");
        }
        char e = src.charAt(pos++);
        int hex = switch (e) {
            case 'x' -> 2;
            case 'u' -> 4;
            case 'U' -> 8;
            case 't', 'r', 'n', '\\', '"', '[', ']' -> 0;
            default -> throw error("unknown escape \\" + e);
        };
        for (int i = 0; i < hex; i++) {
            if (atEnd() || Character.digit(peek(), 16) < 0) {
                throw error("expected " + hex + " hex digits after \\" + e);
            }
            pos++;
        }
    }

    private void check() {
        if (!rules.containsKey("root")) {
            pos = 0;
            throw new IllegalArgumentException("invalid GBNF grammar: it has no 'root' rule");
        }
        for (Map.Entry<String, Integer> ref : referencedAt.entrySet()) {
            if (!rules.containsKey(ref.getKey())) {
                pos = ref.getValue();
                throw error("rule '" + ref.getKey() + "' is used but not defined");
            }
        }
        Map<String, Boolean> nullable = new HashMap<>();
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Map.Entry<String, List<List<Object>>> r : rules.entrySet()) {
                if (!nullable.getOrDefault(r.getKey(), false) && altsNullable(r.getValue(), nullable)) {
                    nullable.put(r.getKey(), true);
                    changed = true;
                }
            }
        }
        Map<String, Set<String>> leftEdges = new HashMap<>();
        for (Map.Entry<String, List<List<Object>>> r : rules.entrySet()) {
            Set<String> edges = new HashSet<>();
            for (List<Object> seq : r.getValue()) {
                leftRefs(seq, nullable, edges);
            }
            leftEdges.put(r.getKey(), edges);
        }
        Map<String, Integer> state = new HashMap<>();
        for (String rule : rules.keySet()) {
            String cycle = findCycle(rule, leftEdges, state);
            if (cycle != null) {
                throw new IllegalArgumentException("invalid GBNF grammar: rule '" + cycle
                        + "' is left-recursive, which llama.cpp does not support");
            }
        }
    }

    private String findCycle(String rule, Map<String, Set<String>> edges, Map<String, Integer> state) {
        Integer s = state.get(rule);
        if (s != null) {
            return s == 1 ? rule : null;
        }
        state.put(rule, 1);
        for (String next : edges.getOrDefault(rule, Set.of())) {
            String c = findCycle(next, edges, state);
            if (c != null) {
                return c;
            }
        }
        state.put(rule, 2);
        return null;
    }

    private boolean altsNullable(List<List<Object>> alts, Map<String, Boolean> nullable) {
        for (List<Object> seq : alts) {
            boolean all = true;
            for (Object e : seq) {
                if (!elementNullable(e, nullable)) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    private boolean elementNullable(Object e, Map<String, Boolean> nullable) {
        if (e instanceof Terminal t) {
            return t.nullable();
        }
        if (e instanceof Ref r) {
            return nullable.getOrDefault(r.name(), false);
        }
        if (e instanceof Group g) {
            return altsNullable(g.alternatives(), nullable);
        }
        Repeat rep = (Repeat) e;
        return rep.min() == 0 || elementNullable(rep.element(), nullable);
    }

    private void leftRefs(List<Object> seq, Map<String, Boolean> nullable, Set<String> out) {
        for (Object e : seq) {
            leftRefsOf(e, nullable, out);
            if (!elementNullable(e, nullable)) {
                return;
            }
        }
    }

    private void leftRefsOf(Object e, Map<String, Boolean> nullable, Set<String> out) {
        if (e instanceof Ref r) {
            out.add(r.name());
        } else if (e instanceof Group g) {
            for (List<Object> seq : g.alternatives()) {
                leftRefs(seq, nullable, out);
            }
        } else if (e instanceof Repeat rep) {
            leftRefsOf(rep.element(), nullable, out);
        }
    }
}
