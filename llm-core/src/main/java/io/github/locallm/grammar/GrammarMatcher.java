package io.github.locallm.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Follows text through a GBNF grammar one character at a time, as llama.cpp's grammar sampler does, so that a
 * backend that sees the logits can allow only the tokens that keep the output a prefix of a sentence of the
 * grammar.
 *
 * <p>Reads the GBNF that {@link JsonSchemaGrammar} and {@link ToolCallGrammar} write: rules
 * {@code name ::= ...} with alternatives {@code |}, string literals, character classes (ranges, negation,
 * escapes {@code \n \t \r \\ \" \] \xHH \\uHHHH}), groups, {@code ? * +} and rule references; comments start
 * with {@code #}. The start rule is {@code root}.
 *
 * <pre>{@code
 * GrammarMatcher m = GrammarMatcher.compile(JsonSchemaGrammar.fromSchema(schema));
 * GrammarMatcher.State s = m.start();
 * s = m.advance(s, "{\"city\": \"Lyon\"}");   // null once the text leaves the grammar
 * boolean done = m.isComplete(s);
 * }</pre>
 *
 * <p>A compiled matcher and its states are immutable and thread-safe.
 */
public final class GrammarMatcher {
    /** Where parsing stands: the possible stacks of positions in the grammar; immutable. */
    public static final class State {
        final List<Stack> stacks;
        final boolean complete;

        State(List<Stack> stacks, boolean complete) {
            this.stacks = stacks;
            this.complete = complete;
        }
    }

    /** A character class: sorted inclusive ranges, possibly negated. */
    record CharSet(int[] ranges, boolean negated) {
        boolean matches(int cp) {
            boolean in = false;
            for (int i = 0; i < ranges.length; i += 2) {
                if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                    in = true;
                    break;
                }
            }
            return in != negated;
        }
    }

    record RuleRef(int rule) {
    }

    /** One alternative of a rule: a sequence of CharSet and RuleRef elements. */
    record Alt(Object[] elements) {
    }

    /** A frame: an alternative and the position in it; stacks are persistent linked lists of frames. */
    record Stack(Alt alt, int pos, Stack parent) {
        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Stack s) || s.pos != pos || s.alt != alt) {
                return false;
            }
            return Objects.equals(parent, s.parent);
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(alt) * 31 + pos + (parent == null ? 0 : parent.hashCode() * 17);
        }
    }

    private static final int MAX_EXPANSION = 100_000;

    private final List<List<Alt>> rules;
    private final State start;

    private GrammarMatcher(List<List<Alt>> rules, int root) {
        this.rules = rules;
        this.start = expandAll(List.of(new Stack(new Alt(new Object[] {new RuleRef(root)}), 0, null)));
    }

    /**
     * Compiles GBNF text.
     *
     * @param gbnf the grammar
     * @return the matcher
     * @throws IllegalArgumentException if the grammar does not parse, refers to an undefined rule or has no root
     */
    public static GrammarMatcher compile(String gbnf) {
        return new Compiler(Objects.requireNonNull(gbnf, "gbnf")).compile();
    }

    /** @return the state before any text */
    public State start() {
        return start;
    }

    /**
     * Advances over text.
     *
     * @param state where parsing stands
     * @param text the next text
     * @return the new state, or {@code null} if the text cannot continue a sentence of the grammar
     */
    public State advance(State state, String text) {
        State s = state;
        for (int i = 0; i < text.length() && s != null; ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            s = advance(s, cp);
        }
        return s;
    }

    /**
     * Advances over one character.
     *
     * @param state where parsing stands
     * @param codePoint the character
     * @return the new state, or {@code null} if the character cannot come next
     */
    public State advance(State state, int codePoint) {
        List<Stack> next = new ArrayList<>();
        for (Stack st : state.stacks) {
            CharSet cs = (CharSet) st.alt().elements()[st.pos()];
            if (cs.matches(codePoint)) {
                next.add(new Stack(st.alt(), st.pos() + 1, st.parent()));
            }
        }
        if (next.isEmpty()) {
            return null;
        }
        return expandAll(next);
    }

    /**
     * @param state where parsing stands
     * @return whether the text so far is a complete sentence of the grammar
     */
    public boolean isComplete(State state) {
        return state.complete;
    }

    /**
     * @param state where parsing stands
     * @return whether some character can still follow
     */
    public boolean canContinue(State state) {
        return !state.stacks.isEmpty();
    }

    private State expandAll(List<Stack> stacks) {
        Set<Stack> out = new LinkedHashSet<>();
        boolean[] complete = {false};
        int[] budget = {MAX_EXPANSION};
        for (Stack s : stacks) {
            expand(s, out, complete, budget, 0);
        }
        return new State(List.copyOf(out), complete[0]);
    }

    private void expand(Stack s, Set<Stack> out, boolean[] complete, int[] budget, int depth) {
        if (--budget[0] < 0 || depth > 10_000) {
            throw new IllegalArgumentException("the grammar expands without consuming text (left recursion?)");
        }
        while (s != null && s.pos() == s.alt().elements().length) {
            s = s.parent();
        }
        if (s == null) {
            complete[0] = true;
            return;
        }
        Object e = s.alt().elements()[s.pos()];
        if (e instanceof CharSet) {
            out.add(s);
            return;
        }
        int rule = ((RuleRef) e).rule();
        Stack rest = new Stack(s.alt(), s.pos() + 1, s.parent());
        for (Alt alt : rules.get(rule)) {
            expand(new Stack(alt, 0, rest), out, complete, budget, depth + 1);
        }
    }

    /** Parses GBNF into rules, turning groups and repetitions into generated rules. */
    private static final class Compiler {
        private final String src;
        private int pos;
        private final Map<String, Integer> ids = new HashMap<>();
        private final List<List<Alt>> rules = new ArrayList<>();
        private final List<Boolean> defined = new ArrayList<>();
        private final List<String> names = new ArrayList<>();

        Compiler(String src) {
            this.src = src;
        }

        GrammarMatcher compile() {
            skipSpace(true);
            while (pos < src.length()) {
                String name = name();
                skipSpace(false);
                expect("::=");
                int id = id(name);
                if (defined.get(id)) {
                    throw error("rule '" + name + "' is defined twice");
                }
                rules.set(id, alternatives(true));
                defined.set(id, true);
                skipSpace(true);
            }
            for (int i = 0; i < names.size(); i++) {
                if (!defined.get(i)) {
                    throw new IllegalArgumentException("grammar rule '" + names.get(i) + "' is used but not defined");
                }
            }
            Integer root = ids.get("root");
            if (root == null) {
                throw new IllegalArgumentException("the grammar has no 'root' rule");
            }
            return new GrammarMatcher(rules, root);
        }

        private int id(String name) {
            return ids.computeIfAbsent(name, n -> {
                names.add(n);
                rules.add(List.of());
                defined.add(false);
                return names.size() - 1;
            });
        }

        private int synthetic(List<Alt> alts) {
            int id = id("__g" + names.size());
            rules.set(id, alts);
            defined.set(id, true);
            return id;
        }

        private IllegalArgumentException error(String message) {
            return new IllegalArgumentException("grammar error at offset " + pos + ": " + message);
        }

        private void skipSpace(boolean newlines) {
            while (pos < src.length()) {
                char c = src.charAt(pos);
                if (c == '#') {
                    while (pos < src.length() && src.charAt(pos) != '\n') {
                        pos++;
                    }
                } else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
                    pos++;
                } else {
                    return;
                }
            }
        }

        private boolean nameChar(char c) {
            return Character.isLetterOrDigit(c) || c == '-' || c == '_';
        }

        private String name() {
            int start = pos;
            while (pos < src.length() && nameChar(src.charAt(pos))) {
                pos++;
            }
            if (pos == start) {
                throw error("expected a rule name");
            }
            return src.substring(start, pos);
        }

        private void expect(String s) {
            if (!src.startsWith(s, pos)) {
                throw error("expected '" + s + "'");
            }
            pos += s.length();
        }

        /** Whether a new rule definition starts here (a name followed by ::=). */
        private boolean atRuleStart() {
            int p = pos;
            while (p < src.length() && nameChar(src.charAt(p))) {
                p++;
            }
            if (p == pos) {
                return false;
            }
            while (p < src.length() && (src.charAt(p) == ' ' || src.charAt(p) == '\t')) {
                p++;
            }
            return src.startsWith("::=", p);
        }

        private List<Alt> alternatives(boolean top) {
            List<Alt> alts = new ArrayList<>();
            alts.add(sequence(top));
            while (pos < src.length() && src.charAt(pos) == '|') {
                pos++;
                alts.add(sequence(top));
            }
            return alts;
        }

        private Alt sequence(boolean top) {
            List<Object> elems = new ArrayList<>();
            while (true) {
                skipSpace(!top);
                if (top && pos < src.length() && src.charAt(pos) == '\n') {
                    // a newline ends the rule when a new rule (or the end) follows; otherwise the rule goes on
                    skipSpace(true);
                    if (pos >= src.length() || atRuleStart()) {
                        return new Alt(elems.toArray());
                    }
                }
                if (pos >= src.length()) {
                    return new Alt(elems.toArray());
                }
                char c = src.charAt(pos);
                if (c == '|' || c == ')') {
                    return new Alt(elems.toArray());
                }
                List<Object> atom = atom();
                skipSpace(false);
                if (pos < src.length() && (src.charAt(pos) == '?' || src.charAt(pos) == '*' || src.charAt(pos) == '+')) {
                    char op = src.charAt(pos++);
                    Object[] body = atom.toArray();
                    int rep;
                    if (op == '?') {
                        rep = synthetic(List.of(new Alt(body), new Alt(new Object[0])));
                    } else {
                        int star = id("__g" + names.size());
                        Object[] loop = new Object[body.length + 1];
                        System.arraycopy(body, 0, loop, 0, body.length);
                        loop[body.length] = new RuleRef(star);
                        rules.set(star, List.of(new Alt(loop), new Alt(new Object[0])));
                        defined.set(star, true);
                        if (op == '+') {
                            elems.addAll(atom);
                        }
                        rep = star;
                    }
                    elems.add(new RuleRef(rep));
                } else {
                    elems.addAll(atom);
                }
            }
        }

        private List<Object> atom() {
            char c = src.charAt(pos);
            if (c == '"') {
                pos++;
                List<Object> out = new ArrayList<>();
                while (true) {
                    if (pos >= src.length()) {
                        throw error("unterminated string literal");
                    }
                    char d = src.charAt(pos);
                    if (d == '"') {
                        pos++;
                        return out;
                    }
                    int cp = d == '\\' ? escape() : src.codePointAt(pos);
                    if (d != '\\') {
                        pos += Character.charCount(cp);
                    }
                    out.add(new CharSet(new int[] {cp, cp}, false));
                }
            }
            if (c == '[') {
                pos++;
                boolean neg = false;
                if (pos < src.length() && src.charAt(pos) == '^') {
                    neg = true;
                    pos++;
                }
                List<Integer> ranges = new ArrayList<>();
                while (true) {
                    if (pos >= src.length()) {
                        throw error("unterminated character class");
                    }
                    if (src.charAt(pos) == ']') {
                        pos++;
                        break;
                    }
                    int lo = classChar();
                    int hi = lo;
                    if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                        pos++;
                        hi = classChar();
                    }
                    ranges.add(lo);
                    ranges.add(hi);
                }
                int[] r = ranges.stream().mapToInt(Integer::intValue).toArray();
                return new ArrayList<>(List.of(new CharSet(r, neg)));
            }
            if (c == '(') {
                pos++;
                List<Alt> alts = alternatives(false);
                skipSpace(true);
                expect(")");
                return new ArrayList<>(List.of(new RuleRef(synthetic(alts))));
            }
            if (nameChar(c)) {
                return new ArrayList<>(List.of(new RuleRef(id(name()))));
            }
            throw error("unexpected '" + c + "'");
        }

        private int classChar() {
            if (src.charAt(pos) == '\\') {
                return escape();
            }
            int cp = src.codePointAt(pos);
            pos += Character.charCount(cp);
            return cp;
        }

        private int escape() {
            pos++;
            if (pos >= src.length()) {
                throw error("dangling escape");
            }
            char e = src.charAt(pos++);
            return switch (e) {
                case 'n' -> '\n';
                case 't' -> '\t';
                case 'r' -> '\r';
                case 'x' -> hex(2);
                case 'u' -> hex(4);
                case 'U' -> hex(8);
                default -> e;
            };
        }

        private int hex(int n) {
            if (pos + n > src.length()) {
                throw error("truncated hex escape");
            }
            try {
                int v = Integer.parseInt(src.substring(pos, pos + n), 16);
                pos += n;
                return v;
            } catch (NumberFormatException ex) {
                throw error("bad hex escape");
            }
        }
    }
}
