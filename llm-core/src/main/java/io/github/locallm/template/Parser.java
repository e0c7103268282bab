package io.github.locallm.template;

import io.github.locallm.template.Lexer.Kind;
import io.github.locallm.template.Lexer.Token;
import io.github.locallm.template.Node.Expr;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Builds the syntax tree from tokens, following the grammar and precedence of Jinja2's parser. */
final class Parser {
    private static final int MAX_NESTING = 200;
    private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");
    private static final Set<String> REFUSED_TAGS = Set.of("include", "import", "from", "extends", "block");

    private final Lexer.Lexed lexed;
    private final List<Token> tokens;
    private int i;
    private int depth;
    /** For loops around the statement being parsed, within the current macro; break/continue need one. */
    private int loops;
    /**
     * Inside an {@code if} statement or a conditional expression (Jinja2's "soft frame"), where an unknown
     * filter or test is an error only when it is evaluated; elsewhere it fails the parse.
     */
    private boolean soft;
    private final List<TemplateException> unknownNames = new ArrayList<>();

    private Parser(Lexer.Lexed lexed) {
        this.lexed = lexed;
        this.tokens = lexed.tokens();
    }

    static List<Node> parse(Lexer.Lexed lexed) {
        Parser p = new Parser(lexed);
        List<Node> body = p.subparse(null);
        if (!p.unknownNames.isEmpty()) {
            throw p.unknownNames.get(0);
        }
        return body;
    }

    // ---- token stream ----

    private Token cur() {
        return tokens.get(i);
    }

    private Token look() {
        return tokens.get(Math.min(i + 1, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(i);
        if (i < tokens.size() - 1) {
            i++;
        }
        return t;
    }

    /** Parses statements in a new (not soft) frame, as Jinja2 compiles loop, macro and block bodies. */
    private List<Node> hardStatements(Set<String> endTokens, boolean dropNeedle) {
        boolean saved = soft;
        soft = false;
        try {
            return statements(endTokens, dropNeedle);
        } finally {
            soft = saved;
        }
    }

    private void unknownName(Token at, String message) {
        if (!soft) {
            unknownNames.add(fail(at, message));
        }
    }

    private TemplateException fail(Token at, String message) {
        return new TemplateException(message, lexed.line(at.pos()), lexed.column(at.pos()));
    }

    private static String describe(Token t) {
        return switch (t.kind()) {
            case EOF -> "end of template";
            case BLOCK_END -> "end of statement block";
            case VAR_END -> "end of print statement";
            case DATA -> "template data";
            default -> t.text();
        };
    }

    private Token expectOp(String op) {
        if (!cur().isOp(op)) {
            throw fail(cur(), "expected token '" + op + "', got '" + describe(cur()) + "'");
        }
        return next();
    }

    private Token expectName() {
        if (cur().kind() != Kind.NAME) {
            throw fail(cur(), "expected token 'name', got '" + describe(cur()) + "'");
        }
        return next();
    }

    private void expectKeyword(String name) {
        if (!cur().isName(name)) {
            throw fail(cur(), "expected token '" + name + "', got '" + describe(cur()) + "'");
        }
        next();
    }

    private void expectKind(Kind k, String what) {
        if (cur().kind() != k) {
            throw fail(cur(), "expected token '" + what + "', got '" + describe(cur()) + "'");
        }
        next();
    }

    private boolean skipOp(String op) {
        if (cur().isOp(op)) {
            next();
            return true;
        }
        return false;
    }

    private boolean skipName(String name) {
        if (cur().isName(name)) {
            next();
            return true;
        }
        return false;
    }

    // ---- statements ----

    private List<Node> subparse(Set<String> endTokens) {
        List<Node> body = new ArrayList<>();
        while (true) {
            Token t = cur();
            switch (t.kind()) {
                case DATA -> {
                    next();
                    body.add(new Node.Text(t.pos(), t.text()));
                }
                case VAR_BEGIN -> {
                    next();
                    Expr e = parseTuple(false, true, null, false);
                    expectKind(Kind.VAR_END, "end of print statement");
                    body.add(new Node.Print(t.pos(), e));
                }
                case BLOCK_BEGIN -> {
                    next();
                    if (endTokens != null && cur().kind() == Kind.NAME && endTokens.contains(cur().text())) {
                        return body;
                    }
                    body.add(parseStatement());
                    expectKind(Kind.BLOCK_END, "end of statement block");
                }
                case EOF -> {
                    if (endTokens != null) {
                        throw fail(t, "Unexpected end of template. Jinja was looking for the following tags: "
                                + String.join(" or ", endTokens.stream().sorted().map(s -> "'" + s + "'").toList())
                                + ".");
                    }
                    return body;
                }
                default -> throw fail(t, "unexpected '" + describe(t) + "'");
            }
        }
    }

    /** Parses the body after the opening tag's header, up to one of the end tags (left as current). */
    private List<Node> statements(Set<String> endTokens, boolean dropNeedle) {
        skipOp(":");
        expectKind(Kind.BLOCK_END, "end of statement block");
        List<Node> body = subparse(endTokens);
        if (cur().kind() == Kind.EOF) {
            throw fail(cur(), "unexpected end of template");
        }
        if (dropNeedle) {
            next();
        }
        return body;
    }

    private Node parseStatement() {
        Token t = cur();
        enter(t);
        try {
            return parseStatementInner(t);
        } finally {
            depth--;
        }
    }

    private Node parseStatementInner(Token t) {
        if (t.kind() != Kind.NAME) {
            throw fail(t, "tag name expected");
        }
        String name = t.text();
        if (REFUSED_TAGS.contains(name)) {
            throw fail(t, "'" + name + "' is not allowed: chat templates cannot load other templates");
        }
        switch (name) {
            case "for":
                return parseFor();
            case "if":
                return parseIf();
            case "set":
                return parseSet();
            case "macro":
                return parseMacro();
            case "call":
                return parseCallBlock();
            case "filter":
                return parseFilterBlock();
            case "with":
                return parseWith();
            case "break", "continue":
                if (loops == 0) {
                    throw fail(t, "'" + name + "' outside loop");
                }
                next();
                return name.equals("break") ? new Node.Break(t.pos()) : new Node.Continue(t.pos());
            case "generation": {
                next();
                int saved = loops;
                loops = 0;
                try {
                    return new Node.Scope(t.pos(), statements(Set.of("endgeneration"), true));
                } finally {
                    loops = saved;
                }
            }
            default:
                throw fail(t, "Encountered unknown tag '" + name + "'.");
        }
    }

    private Node parseFor() {
        Token start = next();
        Expr target = parseAssignTarget(true, false, Set.of("in"));
        expectKeyword("in");
        Expr iter = parseTuple(false, false, Set.of("recursive"), false);
        Expr filter = null;
        if (skipName("if")) {
            filter = parseExpression(true);
        }
        boolean recursive = skipName("recursive");
        loops++;
        List<Node> body;
        try {
            body = hardStatements(Set.of("endfor", "else"), false);
        } finally {
            loops--;
        }
        List<Node> orElse = List.of();
        if (next().text().equals("else")) {
            orElse = hardStatements(Set.of("endfor"), true);
        }
        return new Node.For(start.pos(), target, iter, filter, body, orElse, recursive);
    }

    private Node parseIf() {
        Token start = next();
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> orElse = List.of();
        boolean saved = soft;
        soft = true;
        try {
            while (true) {
                tests.add(parseTuple(false, false, null, false));
                bodies.add(statements(Set.of("elif", "else", "endif"), false));
                Token t = next();
                if (t.text().equals("elif")) {
                    continue;
                }
                if (t.text().equals("else")) {
                    orElse = statements(Set.of("endif"), true);
                }
                break;
            }
        } finally {
            soft = saved;
        }
        return new Node.If(start.pos(), tests, bodies, orElse);
    }

    private Node parseSet() {
        Token start = next();
        Expr target = parseAssignTarget(true, true, null);
        if (skipOp("=")) {
            return new Node.Set(start.pos(), target, parseTuple(false, true, null, false));
        }
        Expr.Filter filter = cur().isOp("|") ? parseFilter(null, false) : null;
        List<Node> body = hardStatements(Set.of("endset"), true);
        return new Node.SetBlock(start.pos(), target, filter, body);
    }

    private Node parseMacro() {
        Token start = next();
        String name = expectName().text();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parseSignature(params, defaults);
        int saved = loops;
        loops = 0;
        try {
            List<Node> body = hardStatements(Set.of("endmacro"), true);
            return new Node.Macro(start.pos(), name, params, defaults, body);
        } finally {
            loops = saved;
        }
    }

    private void parseSignature(List<String> params, List<Expr> defaults) {
        expectOp("(");
        while (!cur().isOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
            }
            Token arg = expectName();
            params.add(arg.text());
            if (skipOp("=")) {
                defaults.add(parseExpression(true));
            } else if (!defaults.isEmpty()) {
                throw fail(arg, "non-default argument follows default argument");
            }
        }
        expectOp(")");
    }

    private Node parseCallBlock() {
        Token start = next();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        if (cur().isOp("(")) {
            parseSignature(params, defaults);
        }
        Expr call = parseExpression(true);
        if (!(call instanceof Expr.Call c)) {
            throw fail(start, "expected call");
        }
        int saved = loops;
        loops = 0;
        try {
            List<Node> body = hardStatements(Set.of("endcall"), true);
            return new Node.CallBlock(start.pos(), c, params, defaults, body);
        } finally {
            loops = saved;
        }
    }

    private Node parseFilterBlock() {
        Token start = next();
        Expr.Filter f = parseFilter(null, true);
        List<Node> body = hardStatements(Set.of("endfilter"), true);
        return new Node.FilterBlock(start.pos(), f, body);
    }

    private Node parseWith() {
        Token start = next();
        List<Expr> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (cur().kind() != Kind.BLOCK_END) {
            if (!targets.isEmpty()) {
                expectOp(",");
            }
            targets.add(parseAssignTarget(false, false, null));
            expectOp("=");
            values.add(parseExpression(true));
        }
        List<Node> body = hardStatements(Set.of("endwith"), true);
        return new Node.With(start.pos(), targets, values, body);
    }

    private Expr parseAssignTarget(boolean withTuple, boolean withNamespace, Set<String> extraEnd) {
        Expr target;
        if (withNamespace && cur().kind() == Kind.NAME && look().isOp(".")) {
            Token ns = next();
            next();
            Token attr = expectName();
            target = new Expr.NsRef(ns.pos(), ns.text(), attr.text());
        } else if (withTuple) {
            target = parseTuple(true, true, extraEnd, false);
        } else {
            Token t = expectName();
            target = new Expr.Name(t.pos(), t.text());
        }
        if (!assignable(target)) {
            throw fail(cur(), "can't assign to " + target.getClass().getSimpleName().toLowerCase());
        }
        return target;
    }

    private static boolean assignable(Expr e) {
        if (e instanceof Expr.Name n) {
            return !Set.of("true", "false", "none", "True", "False", "None").contains(n.name());
        }
        if (e instanceof Expr.NsRef) {
            return true;
        }
        if (e instanceof Expr.TupleLit t) {
            return t.items().stream().allMatch(Parser::assignable);
        }
        return false;
    }

    // ---- expressions ----

    private Expr parseExpression(boolean withCondExpr) {
        return withCondExpr ? parseCondExpr() : parseOr();
    }

    private Expr parseCondExpr() {
        int mark = unknownNames.size();
        Expr expr1 = parseOr();
        while (cur().isName("if")) {
            // The whole conditional expression is a soft frame, including the part parsed before the 'if'.
            unknownNames.subList(mark, unknownNames.size()).clear();
            boolean saved = soft;
            soft = true;
            try {
                Token t = next();
                Expr expr2 = parseOr();
                Expr expr3 = null;
                if (skipName("else")) {
                    expr3 = parseCondExpr();
                }
                expr1 = new Expr.CondExpr(t.pos(), expr2, expr1, expr3);
            } finally {
                soft = saved;
            }
        }
        return expr1;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (cur().isName("or")) {
            Token t = next();
            left = new Expr.Or(t.pos(), left, parseAnd());
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (cur().isName("and")) {
            Token t = next();
            left = new Expr.And(t.pos(), left, parseNot());
        }
        return left;
    }

    private Expr parseNot() {
        if (cur().isName("not")) {
            Token t = next();
            enter(t);
            try {
                return new Expr.Not(t.pos(), parseNot());
            } finally {
                depth--;
            }
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int pos = cur().pos();
        Expr expr = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = cur();
            if (t.kind() == Kind.OPERATOR && COMPARE_OPS.contains(t.text())) {
                next();
                ops.add(t.text());
                rest.add(parseMath1());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
                rest.add(parseMath1());
            } else if (t.isName("not") && look().isName("in")) {
                next();
                next();
                ops.add("notin");
                rest.add(parseMath1());
            } else {
                break;
            }
        }
        return ops.isEmpty() ? expr : new Expr.Compare(pos, expr, ops, rest);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (cur().isOp("+") || cur().isOp("-")) {
            Token t = next();
            left = new Expr.Binary(t.pos(), t.text(), left, parseConcat());
        }
        return left;
    }

    private Expr parseConcat() {
        int pos = cur().pos();
        List<Expr> args = new ArrayList<>();
        args.add(parseMath2());
        while (cur().isOp("~")) {
            next();
            args.add(parseMath2());
        }
        return args.size() == 1 ? args.get(0) : new Expr.Concat(pos, args);
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (cur().isOp("*") || cur().isOp("/") || cur().isOp("//") || cur().isOp("%")) {
            Token t = next();
            left = new Expr.Binary(t.pos(), t.text(), left, parsePow());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (cur().isOp("**")) {
            Token t = next();
            left = new Expr.Binary(t.pos(), "**", left, parseUnary(true));
        }
        return left;
    }

    private void enter(Token t) {
        if (++depth > MAX_NESTING) {
            throw fail(t, "expressions and blocks nested more than " + MAX_NESTING + " levels deep");
        }
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = cur();
        enter(t);
        try {
            Expr node;
            if (t.isOp("-") || t.isOp("+")) {
                next();
                node = new Expr.Unary(t.pos(), t.text(), parseUnary(false));
            } else {
                node = parsePrimary();
            }
            node = parsePostfix(node);
            if (withFilter) {
                node = parseFilterExpr(node);
            }
            return node;
        } finally {
            depth--;
        }
    }

    private Expr parsePrimary() {
        Token t = cur();
        switch (t.kind()) {
            case NAME -> {
                next();
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Const(t.pos(), Boolean.TRUE);
                    case "false", "False" -> new Expr.Const(t.pos(), Boolean.FALSE);
                    case "none", "None" -> new Expr.Const(t.pos(), null);
                    default -> new Expr.Name(t.pos(), t.text());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder();
                while (cur().kind() == Kind.STRING) {
                    sb.append((String) next().value());
                }
                return new Expr.Const(t.pos(), sb.toString());
            }
            case INTEGER, FLOAT -> {
                next();
                return new Expr.Const(t.pos(), t.value());
            }
            case OPERATOR -> {
                if (t.isOp("(")) {
                    next();
                    Expr e = parseTuple(false, true, null, true);
                    expectOp(")");
                    return e;
                }
                if (t.isOp("[")) {
                    return parseList();
                }
                if (t.isOp("{")) {
                    return parseDict();
                }
                throw fail(t, "unexpected '" + describe(t) + "'");
            }
            default -> throw fail(t, "unexpected '" + describe(t) + "'");
        }
    }

    private boolean isTupleEnd(Set<String> extraEnd) {
        Token t = cur();
        if (t.kind() == Kind.VAR_END || t.kind() == Kind.BLOCK_END || t.isOp(")")) {
            return true;
        }
        return extraEnd != null && t.kind() == Kind.NAME && extraEnd.contains(t.text());
    }

    private Expr parseTuple(boolean simplified, boolean withCondExpr, Set<String> extraEnd, boolean explicitParens) {
        int pos = cur().pos();
        List<Expr> args = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!args.isEmpty()) {
                expectOp(",");
            }
            if (isTupleEnd(extraEnd)) {
                break;
            }
            args.add(simplified ? parsePrimary() : parseExpression(withCondExpr));
            if (cur().isOp(",")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (!args.isEmpty()) {
                return args.get(0);
            }
            if (!explicitParens) {
                throw fail(cur(), "Expected an expression, got '" + describe(cur()) + "'");
            }
        }
        return new Expr.TupleLit(pos, args);
    }

    private Expr parseList() {
        Token start = expectOp("[");
        List<Expr> items = new ArrayList<>();
        while (!cur().isOp("]")) {
            if (!items.isEmpty()) {
                expectOp(",");
            }
            if (cur().isOp("]")) {
                break;
            }
            items.add(parseExpression(true));
        }
        expectOp("]");
        return new Expr.ListLit(start.pos(), items);
    }

    private Expr parseDict() {
        Token start = expectOp("{");
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().isOp("}")) {
            if (!keys.isEmpty()) {
                expectOp(",");
            }
            if (cur().isOp("}")) {
                break;
            }
            keys.add(parseExpression(true));
            expectOp(":");
            values.add(parseExpression(true));
        }
        expectOp("}");
        return new Expr.DictLit(start.pos(), keys, values);
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            if (cur().isOp(".") || cur().isOp("[")) {
                node = parseSubscript(node);
            } else if (cur().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseFilterExpr(Expr node) {
        while (true) {
            if (cur().isOp("|")) {
                node = parseFilter(node, false);
            } else if (cur().isName("is")) {
                node = parseTest(node);
            } else if (cur().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr node) {
        Token t = next();
        if (t.isOp(".")) {
            Token attr = next();
            if (attr.kind() == Kind.NAME) {
                return new Expr.GetAttr(t.pos(), node, attr.text());
            }
            if (attr.kind() != Kind.INTEGER) {
                throw fail(attr, "expected name or number");
            }
            return new Expr.GetItem(t.pos(), node, new Expr.Const(attr.pos(), attr.value()));
        }
        List<Expr> args = new ArrayList<>();
        while (!cur().isOp("]")) {
            if (!args.isEmpty()) {
                expectOp(",");
            }
            args.add(parseSubscribed());
        }
        expectOp("]");
        Expr arg = args.size() == 1 ? args.get(0) : new Expr.TupleLit(t.pos(), args);
        return new Expr.GetItem(t.pos(), node, arg);
    }

    private Expr parseSubscribed() {
        int pos = cur().pos();
        Expr[] parts = new Expr[3];
        if (cur().isOp(":")) {
            next();
        } else {
            Expr node = parseExpression(true);
            if (!cur().isOp(":")) {
                return node;
            }
            next();
            parts[0] = node;
        }
        if (!cur().isOp(":") && !cur().isOp("]") && !cur().isOp(",")) {
            parts[1] = parseExpression(true);
        }
        if (cur().isOp(":")) {
            next();
            if (!cur().isOp("]") && !cur().isOp(",")) {
                parts[2] = parseExpression(true);
            }
        }
        return new Expr.Slice(pos, parts[0], parts[1], parts[2]);
    }

    private record CallArgs(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
    }

    private CallArgs parseCallArgs() {
        Token start = expectOp("(");
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        boolean requireComma = false;
        boolean dynArgs = false;
        boolean dynKwargs = false;
        while (!cur().isOp(")")) {
            if (requireComma) {
                expectOp(",");
                if (cur().isOp(")")) {
                    break;
                }
            }
            if (cur().isOp("*")) {
                if (dynArgs || dynKwargs) {
                    throw fail(start, "invalid syntax for function call expression");
                }
                Token star = next();
                args.add(new Expr.Starred(star.pos(), parseExpression(true), false));
                dynArgs = true;
            } else if (cur().isOp("**")) {
                if (dynKwargs) {
                    throw fail(start, "invalid syntax for function call expression");
                }
                Token star = next();
                kwNames.add("**");
                kwValues.add(new Expr.Starred(star.pos(), parseExpression(true), true));
                dynKwargs = true;
            } else if (cur().kind() == Kind.NAME && look().isOp("=")) {
                if (dynKwargs) {
                    throw fail(start, "invalid syntax for function call expression");
                }
                kwNames.add(next().text());
                next();
                kwValues.add(parseExpression(true));
            } else {
                if (!kwNames.isEmpty() || dynArgs || dynKwargs) {
                    throw fail(start, "invalid syntax for function call expression");
                }
                args.add(parseExpression(true));
            }
            requireComma = true;
        }
        expectOp(")");
        return new CallArgs(args, kwNames, kwValues);
    }

    private Expr parseCall(Expr node) {
        int pos = cur().pos();
        CallArgs a = parseCallArgs();
        return new Expr.Call(pos, node, a.args(), a.kwNames(), a.kwValues());
    }

    private Expr.Filter parseFilter(Expr node, boolean startInline) {
        Expr.Filter result = null;
        while (cur().isOp("|") || startInline) {
            if (!startInline) {
                next();
            }
            Token name = expectName();
            String n = name.text();
            while (cur().isOp(".")) {
                next();
                n += "." + expectName().text();
            }
            if (!Builtins.FILTERS.contains(n)) {
                unknownName(name, "No filter named '" + n + "'.");
            }
            CallArgs a = cur().isOp("(") ? parseCallArgs() : new CallArgs(List.of(), List.of(), List.of());
            result = new Expr.Filter(name.pos(), node, n, a.args(), a.kwNames(), a.kwValues());
            node = result;
            startInline = false;
        }
        return result;
    }

    private Expr parseTest(Expr node) {
        Token is = next();
        boolean negated = skipName("not");
        Token name = expectName();
        String n = name.text();
        while (cur().isOp(".")) {
            next();
            n += "." + expectName().text();
        }
        if (!Builtins.TESTS.contains(n)) {
            unknownName(name, "No test named '" + n + "'.");
        }
        CallArgs a;
        Token c = cur();
        boolean argStart = c.kind() == Kind.NAME || c.kind() == Kind.STRING || c.kind() == Kind.INTEGER
                || c.kind() == Kind.FLOAT || c.isOp("(") || c.isOp("[") || c.isOp("{");
        if (c.isOp("(")) {
            a = parseCallArgs();
        } else if (argStart && !c.isName("else") && !c.isName("or") && !c.isName("and")) {
            if (c.isName("is")) {
                throw fail(c, "You cannot chain multiple tests with is");
            }
            Expr arg = parsePostfix(parsePrimary());
            a = new CallArgs(List.of(arg), List.of(), List.of());
        } else {
            a = new CallArgs(List.of(), List.of(), List.of());
        }
        Expr test = new Expr.Test(is.pos(), node, n, a.args(), a.kwNames(), a.kwValues());
        return negated ? new Expr.Not(is.pos(), test) : test;
    }
}
