package io.github.locallm.llamacpp;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trigger patterns for llama.cpp's lazy grammars ({@code llama_sampler_init_grammar_lazy_patterns}). llama.cpp
 * matches a pattern against the whole text generated so far (ECMAScript {@code std::regex_match}, after every
 * token until one matches) and hands the grammar the text from the pattern's first group on. The patterns made
 * here are anchored at the start of the reply and accept only a start of a grammar opener, so that:
 * <ul>
 *   <li>matching stays cheap and shallow whatever the length of the text (it fails at the first character that
 *       cannot begin a call), where a pattern that skips any text first would scan, and recurse over, all of it
 *       after every token;</li>
 *   <li>the text handed to the grammar is always one the grammar accepts (a rejected text is a native error).</li>
 * </ul>
 *
 * <p>Stateless; thread-safe.
 */
final class TriggerPattern {
    private TriggerPattern() {
    }

    /**
     * Builds the pattern of one trigger.
     *
     * @param trigger the text that opens a call
     * @param rests what may follow the trigger in the grammar's openers (any start of one is accepted)
     * @return {@code \s*(trigger + start of a rest)}, or {@code null} when the texts hold characters the pattern
     *         does not write (non-ASCII or control characters other than newline, tab and carriage return)
     */
    static String anchored(String trigger, List<String> rests) {
        String head = literal(trigger);
        if (head == null) {
            return null;
        }
        Node root = new Node();
        for (String rest : rests) {
            if (literal(rest) == null) {
                return null;
            }
            Node n = root;
            for (int i = 0; i < rest.length(); i++) {
                n = n.next.computeIfAbsent(rest.charAt(i), c -> new Node());
            }
        }
        return "\\s*(" + head + prefixes(root) + ")";
    }

    /** A regular expression for any start (empty included) of the strings of a trie. */
    private static String prefixes(Node n) {
        if (n.next.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("(?:");
        boolean first = true;
        for (Map.Entry<Character, Node> e : n.next.entrySet()) {
            if (!first) {
                sb.append('|');
            }
            first = false;
            sb.append(literal(String.valueOf(e.getKey()))).append(prefixes(e.getValue()));
        }
        return sb.append(")?").toString();
    }

    /** The text as an ECMAScript literal: the pattern syntax characters escaped, other printable ASCII as it is. */
    private static String literal(String text) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
                sb.append(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if ("^$\\.*+?()[]{}|/".indexOf(c) >= 0) {
                sb.append('\\').append(c);
            } else if (c >= ' ' && c < 0x7f) {
                sb.append(c);
            } else {
                return null;
            }
        }
        return sb.toString();
    }

    private static final class Node {
        final Map<Character, Node> next = new TreeMap<>();
    }
}
