package io.github.locallm.template;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits a template into tokens the way Jinja2's lexer does with {@code trim_blocks} and
 * {@code lstrip_blocks} on: text, tag delimiters and, inside tags, names, literals and operators.
 * Whitespace control ({@code -} and {@code +} next to a delimiter) is applied here, so the parser
 * sees text that is already trimmed.
 */
final class Lexer {
    enum Kind { DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF }

    record Token(Kind kind, String text, Object value, int pos) {
        boolean is(Kind k, String t) {
            return kind == k && text.equals(t);
        }

        boolean isName(String t) {
            return kind == Kind.NAME && text.equals(t);
        }

        boolean isOp(String t) {
            return kind == Kind.OPERATOR && text.equals(t);
        }
    }

    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    };

    private final String src;
    private final int[] lineStarts;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private boolean lineStarting = true;

    private Lexer(String src) {
        this.src = src;
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        for (int i = 0; i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                starts.add(i + 1);
            }
        }
        lineStarts = starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Normalizes line ends and drops one trailing newline, as Jinja2 does by default. */
    static String normalize(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    static Lexed tokenize(String source) {
        Lexer lx = new Lexer(normalize(source));
        lx.run();
        lx.out.add(new Token(Kind.EOF, "", "", lx.src.length()));
        return new Lexed(lx.out, lx.lineStarts);
    }

    record Lexed(List<Token> tokens, int[] lineStarts) {
        int line(int pos) {
            int i = Arrays.binarySearch(lineStarts, pos);
            return i >= 0 ? i + 1 : -i - 1;
        }

        int column(int pos) {
            return pos - lineStarts[line(pos) - 1] + 1;
        }
    }

    private TemplateException error(int at, String message) {
        Lexed l = new Lexed(out, lineStarts);
        return new TemplateException(message, l.line(at), l.column(at));
    }

    private void run() {
        int n = src.length();
        while (pos < n) {
            int idx = findTagStart(pos);
            if (idx < 0) {
                emit(Kind.DATA, src.substring(pos), pos);
                return;
            }
            String text = src.substring(pos, idx);
            char kindChar = src.charAt(idx + 1);
            int after = idx + 2;
            char sign = after < n && (src.charAt(after) == '-' || src.charAt(after) == '+') ? src.charAt(after) : 0;
            boolean raw = kindChar == '%' && isRawBegin(idx);
            if (sign == '-') {
                text = rstrip(text);
            } else if (sign != '+' && kindChar != '{') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.length() && isAllWhitespace(text, lpos)) {
                    text = text.substring(0, lpos);
                }
            }
            if (!text.isEmpty()) {
                emit(Kind.DATA, text, pos);
            }
            pos = after + (sign != 0 ? 1 : 0);
            lineStarting = false;
            if (raw) {
                rawBlock(idx);
            } else if (kindChar == '#') {
                comment(idx);
            } else {
                tag(kindChar == '{' ? Kind.VAR_BEGIN : Kind.BLOCK_BEGIN, idx);
            }
        }
    }

    private int findTagStart(int from) {
        int i = from;
        while (true) {
            int j = src.indexOf('{', i);
            if (j < 0 || j + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(j + 1);
            if (c == '{' || c == '%' || c == '#') {
                return j;
            }
            i = j + 1;
        }
    }

    private boolean isRawBegin(int idx) {
        int p = idx + 2;
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) {
            p++;
        }
        p = skipWs(p);
        if (!src.startsWith("raw", p)) {
            return false;
        }
        p = skipWs(p + 3);
        return src.startsWith("%}", p) || src.startsWith("-%}", p);
    }

    private int skipWs(int p) {
        while (p < src.length() && isPyWhitespace(src.charAt(p))) {
            p++;
        }
        return p;
    }

    private void rawBlock(int start) {
        // The opening tag ends with "%}" (no trim_blocks newline) or "-%}" plus whitespace.
        int p = skipWs(pos);
        p = skipWs(p + 3);
        if (src.startsWith("-%}", p)) {
            p = skipWs(p + 3);
        } else {
            p += 2;
        }
        lineStarting = p > 0 && src.charAt(p - 1) == '\n';
        int search = p;
        while (true) {
            int j = src.indexOf("{%", search);
            if (j < 0) {
                throw error(start, "Missing end of raw directive");
            }
            int q = j + 2;
            char sign = q < src.length() && (src.charAt(q) == '-' || src.charAt(q) == '+') ? src.charAt(q) : 0;
            if (sign != 0) {
                q++;
            }
            q = skipWs(q);
            if (!src.startsWith("endraw", q)) {
                search = j + 2;
                continue;
            }
            q = skipWs(q + 6);
            int end;
            if (src.startsWith("+%}", q)) {
                end = q + 3;
            } else if (src.startsWith("-%}", q)) {
                end = skipWs(q + 3);
            } else if (src.startsWith("%}", q)) {
                end = q + 2;
                if (end < src.length() && src.charAt(end) == '\n') {
                    end++;
                }
            } else {
                search = j + 2;
                continue;
            }
            String text = src.substring(p, j);
            if (sign == '-') {
                text = rstrip(text);
            } else if (sign != '+') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.length() && isAllWhitespace(text, lpos)) {
                    text = text.substring(0, lpos);
                }
            }
            if (!text.isEmpty()) {
                emit(Kind.DATA, text, p);
            }
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
            return;
        }
    }

    private void comment(int start) {
        int j = src.indexOf("#}", pos);
        if (j < 0) {
            throw error(start, "Missing end of comment tag");
        }
        int end;
        if (j - 1 >= pos && src.charAt(j - 1) == '-') {
            end = skipWs(j + 2);
        } else if (j - 1 >= pos && src.charAt(j - 1) == '+') {
            end = j + 2;
        } else {
            end = j + 2;
            if (end < src.length() && src.charAt(end) == '\n') {
                end++;
            }
        }
        lineStarting = src.charAt(end - 1) == '\n';
        pos = end;
    }

    private void tag(Kind begin, int start) {
        emit(begin, begin == Kind.VAR_BEGIN ? "{{" : "{%", start);
        StringBuilder balance = new StringBuilder();
        int n = src.length();
        while (true) {
            if (pos >= n) {
                throw error(start, begin == Kind.VAR_BEGIN
                        ? "unexpected end of template, expected end of print statement '}}'"
                        : "unexpected end of template, expected end of statement '%}'");
            }
            if (balance.length() == 0 && tryEnd(begin)) {
                return;
            }
            char c = src.charAt(pos);
            if (isPyWhitespace(c)) {
                pos++;
                continue;
            }
            int tokStart = pos;
            if (c >= '0' && c <= '9') {
                number();
                continue;
            }
            if (c == '_' || Character.isLetter(c)) {
                int p = pos + 1;
                while (p < n && (src.charAt(p) == '_' || Character.isLetterOrDigit(src.charAt(p)))) {
                    p++;
                }
                emit(Kind.NAME, src.substring(pos, p), tokStart);
                pos = p;
                continue;
            }
            if (c == '\'' || c == '"') {
                string(c);
                continue;
            }
            String op = null;
            for (String o : OPERATORS) {
                if (src.startsWith(o, pos)) {
                    op = o;
                    break;
                }
            }
            if (op == null) {
                throw error(pos, "unexpected char '" + c + "' at " + pos);
            }
            switch (op) {
                case "{" -> balance.append('}');
                case "(" -> balance.append(')');
                case "[" -> balance.append(']');
                case "}", ")", "]" -> {
                    if (balance.length() == 0) {
                        throw error(pos, "unexpected '" + op + "'");
                    }
                    char expected = balance.charAt(balance.length() - 1);
                    balance.setLength(balance.length() - 1);
                    if (expected != op.charAt(0)) {
                        throw error(pos, "unexpected '" + op + "', expected '" + expected + "'");
                    }
                }
                default -> {
                }
            }
            emit(Kind.OPERATOR, op, tokStart);
            pos += op.length();
        }
    }

    private boolean tryEnd(Kind begin) {
        int start = pos;
        if (begin == Kind.VAR_BEGIN) {
            if (src.startsWith("-}}", pos)) {
                pos = skipWs(pos + 3);
            } else if (src.startsWith("}}", pos)) {
                pos += 2;
            } else {
                return false;
            }
            emit(Kind.VAR_END, "}}", start);
        } else {
            if (src.startsWith("+%}", pos)) {
                pos += 3;
            } else if (src.startsWith("-%}", pos)) {
                pos = skipWs(pos + 3);
            } else if (src.startsWith("%}", pos)) {
                pos += 2;
                if (pos < src.length() && src.charAt(pos) == '\n') {
                    pos++;
                }
            } else {
                return false;
            }
            emit(Kind.BLOCK_END, "%}", start);
        }
        lineStarting = src.charAt(pos - 1) == '\n';
        return true;
    }

    private void number() {
        int start = pos;
        int n = src.length();
        // A float never directly follows a dot (so "x.0.1" is an item lookup, as in Jinja2).
        boolean afterDot = start > 0 && src.charAt(start - 1) == '.';
        if (!afterDot) {
            int p = digits(pos);
            boolean isFloat = false;
            if (p < n && src.charAt(p) == '.' && p + 1 < n && isDigit(src.charAt(p + 1))) {
                p = digits(p + 1);
                isFloat = true;
            }
            if (p < n && (src.charAt(p) == 'e' || src.charAt(p) == 'E')) {
                int q = p + 1;
                if (q < n && (src.charAt(q) == '+' || src.charAt(q) == '-')) {
                    q++;
                }
                if (q < n && isDigit(src.charAt(q))) {
                    p = digits(q);
                    isFloat = true;
                }
            }
            if (isFloat) {
                String t = src.substring(start, p);
                emit(Kind.FLOAT, t, Double.parseDouble(t.replace("_", "")), start);
                pos = p;
                return;
            }
        }
        String rest = src.substring(start, Math.min(n, start + 2)).toLowerCase(java.util.Locale.ROOT);
        int radix = rest.equals("0x") ? 16 : rest.equals("0o") ? 8 : rest.equals("0b") ? 2 : 10;
        int p;
        if (radix != 10) {
            p = start + 2;
            while (p < n && (Character.digit(src.charAt(p), radix) >= 0 || src.charAt(p) == '_')) {
                p++;
            }
        } else if (src.charAt(start) == '0') {
            p = start + 1;
            while (p < n && (src.charAt(p) == '0' || (src.charAt(p) == '_' && p + 1 < n && src.charAt(p + 1) == '0'))) {
                p++;
            }
        } else {
            p = digits(start);
        }
        String t = src.substring(start, p);
        String digits = (radix == 10 ? t : t.substring(2)).replace("_", "");
        long v;
        try {
            v = Long.parseLong(digits.isEmpty() ? "0" : digits, radix);
        } catch (NumberFormatException e) {
            throw error(start, "integer literal too large: " + t);
        }
        emit(Kind.INTEGER, t, v, start);
        pos = p;
    }

    private int digits(int p) {
        int n = src.length();
        while (p < n && (isDigit(src.charAt(p)) || (src.charAt(p) == '_' && p + 1 < n && isDigit(src.charAt(p + 1))))) {
            p++;
        }
        return p;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void string(char quote) {
        int start = pos;
        int p = pos + 1;
        StringBuilder sb = new StringBuilder();
        int n = src.length();
        while (true) {
            if (p >= n) {
                throw error(start, "unexpected char '" + quote + "' at " + start);
            }
            char c = src.charAt(p);
            if (c == quote) {
                p++;
                break;
            }
            if (c == '\\' && p + 1 < n) {
                p = escape(p + 1, sb);
                continue;
            }
            sb.append(c);
            p++;
        }
        emit(Kind.STRING, src.substring(start, p), sb.toString(), start);
        pos = p;
    }

    /** Decodes one Python escape sequence starting after the backslash; returns the next position. */
    private int escape(int p, StringBuilder sb) {
        char e = src.charAt(p);
        switch (e) {
            case '\n' -> {
                return p + 1;
            }
            case '\\' -> sb.append('\\');
            case '\'' -> sb.append('\'');
            case '"' -> sb.append('"');
            case 'a' -> sb.append('\u0007');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'v' -> sb.append('\u000b');
            case 'x', 'u', 'U' -> {
                int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (p + 1 + len > src.length()) {
                    throw error(p, "truncated \\" + e + " escape");
                }
                String hex = src.substring(p + 1, p + 1 + len);
                int cp;
                try {
                    cp = Integer.parseInt(hex, 16);
                } catch (NumberFormatException ex) {
                    throw error(p, "truncated \\" + e + " escape");
                }
                if (!Character.isValidCodePoint(cp)) {
                    throw error(p, "illegal Unicode character");
                }
                sb.appendCodePoint(cp);
                return p + 1 + len;
            }
            default -> {
                if (e >= '0' && e <= '7') {
                    int q = p;
                    int v = 0;
                    while (q < p + 3 && q < src.length() && src.charAt(q) >= '0' && src.charAt(q) <= '7') {
                        v = v * 8 + (src.charAt(q) - '0');
                        q++;
                    }
                    sb.appendCodePoint(v);
                    return q;
                }
                sb.append('\\').append(e);
            }
        }
        return p + 1;
    }

    private void emit(Kind kind, String text, int at) {
        out.add(new Token(kind, text, text, at));
    }

    private void emit(Kind kind, String text, Object value, int at) {
        out.add(new Token(kind, text, value, at));
    }

    static boolean isPyWhitespace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u001c' || c == '\u001d'
                || c == '\u001e' || c == '\u001f' || c == '\u0085';
    }

    static String rstrip(String s) {
        int e = s.length();
        while (e > 0 && isPyWhitespace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(0, e);
    }

    private static boolean isAllWhitespace(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!isPyWhitespace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
