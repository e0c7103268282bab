package io.github.locallm.tck;

/**
 * A minimal JSON syntax check (RFC 8259) for the TCK, independent of any backend's own JSON code: tells
 * whether a text is one complete JSON value, the start of one that was cut off, or neither.
 *
 * <p>Thread-safe: stateless apart from each check's own parser.
 */
final class JsonSyntax {
    /** How a text reads as JSON. */
    enum Verdict {
        /** One complete JSON value, optionally surrounded by whitespace. */
        COMPLETE,
        /** Not complete, but every character so far fits a JSON value: the text was cut off. */
        PREFIX,
        /** A character that no JSON value can have at its position. */
        INVALID
    }

    /** Why a text is not complete JSON, with its verdict. */
    record Result(Verdict verdict, String problem) {
        @Override
        public String toString() {
            return verdict + (problem.isEmpty() ? "" : ": " + problem);
        }
    }

    private static final int MAX_DEPTH = 512;

    private JsonSyntax() {
    }

    /**
     * @param text the text to check
     * @return its verdict, with the problem found for anything but {@link Verdict#COMPLETE}
     */
    static Result check(String text) {
        Parser p = new Parser(text);
        try {
            p.ws();
            p.value(0);
            p.ws();
            if (p.pos < text.length()) {
                return new Result(Verdict.INVALID, "text after the JSON value at offset " + p.pos);
            }
            return new Result(Verdict.COMPLETE, "");
        } catch (Incomplete e) {
            return new Result(Verdict.PREFIX, "the text ends inside the JSON value");
        } catch (Invalid e) {
            return new Result(Verdict.INVALID, e.getMessage());
        }
    }

    private static final class Incomplete extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Incomplete() {
            super(null, null, false, false);
        }
    }

    private static final class Invalid extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        private char peek() {
            if (pos >= s.length()) {
                throw new Incomplete();
            }
            return s.charAt(pos);
        }

        private Invalid invalid(String what) {
            return new Invalid(what + " at offset " + pos + " in " + s);
        }

        void ws() {
            while (pos < s.length() && " \t\n\r".indexOf(s.charAt(pos)) >= 0) {
                pos++;
            }
        }

        void value(int depth) {
            if (depth > MAX_DEPTH) {
                throw invalid("nesting deeper than " + MAX_DEPTH);
            }
            char c = peek();
            switch (c) {
                case '{' -> object(depth);
                case '[' -> array(depth);
                case '"' -> string();
                case 't' -> literal("true");
                case 'f' -> literal("false");
                case 'n' -> literal("null");
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        number();
                    } else {
                        throw invalid("unexpected '" + c + "'");
                    }
                }
            }
        }

        private void object(int depth) {
            pos++;
            ws();
            if (peek() == '}') {
                pos++;
                return;
            }
            while (true) {
                if (peek() != '"') {
                    throw invalid("expected a member name");
                }
                string();
                ws();
                if (peek() != ':') {
                    throw invalid("expected ':'");
                }
                pos++;
                ws();
                value(depth + 1);
                ws();
                char c = peek();
                pos++;
                if (c == '}') {
                    return;
                }
                if (c != ',') {
                    pos--;
                    throw invalid("expected ',' or '}'");
                }
                ws();
            }
        }

        private void array(int depth) {
            pos++;
            ws();
            if (peek() == ']') {
                pos++;
                return;
            }
            while (true) {
                value(depth + 1);
                ws();
                char c = peek();
                pos++;
                if (c == ']') {
                    return;
                }
                if (c != ',') {
                    pos--;
                    throw invalid("expected ',' or ']'");
                }
                ws();
            }
        }

        private void string() {
            pos++;
            while (true) {
                char c = peek();
                pos++;
                if (c == '"') {
                    return;
                }
                if (c < 0x20) {
                    pos--;
                    throw invalid("unescaped control character U+" + String.format("%04X", (int) c));
                }
                if (c == '\\') {
                    char e = peek();
                    pos++;
                    if (e == 'u') {
                        for (int i = 0; i < 4; i++) {
                            char h = peek();
                            if (Character.digit(h, 16) < 0) {
                                throw invalid("bad \\u escape");
                            }
                            pos++;
                        }
                    } else if ("\"\\/bfnrt".indexOf(e) < 0) {
                        pos--;
                        throw invalid("bad escape '\\" + e + "'");
                    }
                }
            }
        }

        private void literal(String word) {
            for (int i = 0; i < word.length(); i++) {
                if (peek() != word.charAt(i)) {
                    throw invalid("expected " + word);
                }
                pos++;
            }
        }

        // A number ending the text is complete only when it could not go on as a longer valid number
        // without being complete already; "1" and "1.5" are complete, "-", "1." and "1e+" are not.
        private void number() {
            if (s.charAt(pos) == '-') {
                pos++;
            }
            char c = peek();
            if (c == '0') {
                pos++;
            } else if (c >= '1' && c <= '9') {
                digits();
            } else {
                throw invalid("expected a digit");
            }
            if (pos < s.length() && s.charAt(pos) == '.') {
                pos++;
                char d = peek();
                if (d < '0' || d > '9') {
                    throw invalid("expected a digit after '.'");
                }
                digits();
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                pos++;
                if (peek() == '+' || peek() == '-') {
                    pos++;
                }
                char d = peek();
                if (d < '0' || d > '9') {
                    throw invalid("expected a digit in the exponent");
                }
                digits();
            }
        }

        private void digits() {
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
        }
    }
}
