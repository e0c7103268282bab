package io.github.locallm.template;

import io.github.locallm.template.Node.Expr;
import io.github.locallm.template.Py.Args;
import io.github.locallm.template.Py.RenderError;
import io.github.locallm.template.Py.Undefined;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Renders one template once: walks the syntax tree with a scope chain and an output buffer. */
final class Interpreter {
    private enum Signal { NORMAL, BREAK, CONTINUE }

    static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Object v = s.vars.get(name);
                if (v != null || s.vars.containsKey(name)) {
                    return v;
                }
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    /** A macro bound to the scope it was defined in. */
    static final class Macro implements Py.Callable {
        final String name;
        final List<String> params;
        final List<Expr> defaults;
        final List<Node> body;
        final Scope closure;

        Macro(String name, List<String> params, List<Expr> defaults, List<Node> body, Scope closure) {
            this.name = name;
            this.params = params;
            this.defaults = defaults;
            this.body = body;
            this.closure = closure;
        }

        @Override
        public Object call(Interpreter in, Args args) {
            return in.callMacro(this, args);
        }

        @Override
        public String name() {
            return name;
        }
    }

    final TemplateLimits limits;
    private final Lexer.Lexed lexed;
    private StringBuilder out = new StringBuilder();
    private long iterations;
    private int callDepth;

    final java.time.Clock clock;

    Interpreter(TemplateLimits limits, Lexer.Lexed lexed, java.time.Clock clock) {
        this.limits = limits;
        this.clock = clock;
        this.lexed = lexed;
    }

    String render(List<Node> body, Map<String, Object> context) {
        Scope globals = new Scope(null);
        Builtins.installGlobals(globals.vars);
        Scope root = new Scope(globals);
        root.vars.putAll(context);
        int[] printLimit = Py.PRINT_LIMIT.get();
        int savedLimit = printLimit[0];
        printLimit[0] = limits.maxOutputChars();
        long[] work = Py.WORK.get();
        long[] savedWork = work.clone();
        work[0] = 0;
        work[1] = limits.maxLoopIterations() > Long.MAX_VALUE / 100 ? Long.MAX_VALUE : limits.maxLoopIterations() * 100;
        try {
            execBody(body, root);
        } catch (RenderError e) {
            if (e.raised) {
                throw new TemplateException(e.getMessage());
            }
            if (e.pos >= 0) {
                throw new TemplateException(e.getMessage(), lexed.line(e.pos), lexed.column(e.pos));
            }
            throw new TemplateException(e.getMessage());
        } catch (StackOverflowError e) {
            throw new TemplateException("template recursion too deep: the Java stack overflowed");
        } finally {
            printLimit[0] = savedLimit;
            work[0] = savedWork[0];
            work[1] = savedWork[1];
        }
        return out.toString();
    }

    private static RenderError at(RenderError e, Node n) {
        if (e.pos < 0) {
            e.pos = n.pos();
        }
        return e;
    }

    private void emit(String s) {
        if (out.length() + (long) s.length() > limits.maxOutputChars()) {
            throw new RenderError("rendered output exceeds the limit of " + limits.maxOutputChars()
                    + " characters (TemplateLimits.maxOutputChars)");
        }
        out.append(s);
    }

    // ---- statements ----

    private Signal execBody(List<Node> body, Scope scope) {
        for (Node n : body) {
            Signal s = exec(n, scope);
            if (s != Signal.NORMAL) {
                return s;
            }
        }
        return Signal.NORMAL;
    }

    private Signal exec(Node n, Scope scope) {
        try {
            if (n instanceof Node.Text t) {
                emit(t.text());
            } else if (n instanceof Node.Print p) {
                emit(Py.str(eval(p.expr(), scope)));
            } else if (n instanceof Node.If f) {
                for (int i = 0; i < f.tests().size(); i++) {
                    if (Py.truthy(eval(f.tests().get(i), scope))) {
                        return execBody(f.bodies().get(i), scope);
                    }
                }
                return execBody(f.orElse(), scope);
            } else if (n instanceof Node.For f) {
                return execFor(f, scope);
            } else if (n instanceof Node.Set s) {
                assign(s.target(), eval(s.value(), scope), scope);
            } else if (n instanceof Node.SetBlock s) {
                // Set and filter blocks run inline: a break or continue inside them reaches the loop.
                StringBuilder saved = out;
                out = new StringBuilder();
                Signal sig;
                Object value;
                try {
                    sig = execBody(s.body(), new Scope(scope));
                    value = out.toString();
                } finally {
                    out = saved;
                }
                if (sig != Signal.NORMAL) {
                    return sig;
                }
                if (s.filter() != null) {
                    value = applyFilterChain(s.filter(), value, scope);
                }
                assign(s.target(), value, scope);
            } else if (n instanceof Node.Macro m) {
                scope.vars.put(m.name(), new Macro(m.name(), m.params(), m.defaults(), m.body(), scope));
            } else if (n instanceof Node.CallBlock c) {
                Macro caller = new Macro("caller", c.params(), c.defaults(), c.body(), scope);
                Object fn = eval(c.call().fn(), scope);
                Args args = evalArgs(c.call().args(), c.call().kwNames(), c.call().kwValues(), scope);
                Map<String, Object> kw = new LinkedHashMap<>(args.keywords());
                kw.put("caller", caller);
                emit(Py.str(call(fn, new Args(args.positional(), kw))));
            } else if (n instanceof Node.FilterBlock f) {
                StringBuilder saved = out;
                out = new StringBuilder();
                Signal sig;
                String body;
                try {
                    sig = execBody(f.body(), scope);
                    body = out.toString();
                } finally {
                    out = saved;
                }
                if (sig != Signal.NORMAL) {
                    return sig;
                }
                emit(Py.str(applyFilterChain(f.filter(), body, scope)));
            } else if (n instanceof Node.With w) {
                Scope inner = new Scope(scope);
                for (int i = 0; i < w.targets().size(); i++) {
                    assign(w.targets().get(i), eval(w.values().get(i), scope), inner);
                }
                return execBody(w.body(), inner);
            } else if (n instanceof Node.Scope s) {
                // A generation block is a call block in transformers: its assignments stay inside.
                emit(capture(s.body(), new Scope(scope)));
            } else if (n instanceof Node.Break) {
                return Signal.BREAK;
            } else if (n instanceof Node.Continue) {
                return Signal.CONTINUE;
            }
            return Signal.NORMAL;
        } catch (RenderError e) {
            throw at(e, n);
        }
    }

    private String capture(List<Node> body, Scope scope) {
        StringBuilder saved = out;
        out = new StringBuilder();
        try {
            execBody(body, scope);
            return out.toString();
        } finally {
            out = saved;
        }
    }

    private Signal execFor(Node.For f, Scope scope) {
        return runLoop(f, eval(f.iter(), scope), scope, 0);
    }

    private Signal runLoop(Node.For f, Object iterable, Scope scope, int depth0) {
        List<Object> items = Py.iterate(iterable);
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                countIteration();
                Scope s = new Scope(scope);
                assign(f.target(), item, s);
                if (Py.truthy(eval(f.filter(), s))) {
                    kept.add(item);
                }
            }
            items = kept;
        } else {
            items = new ArrayList<>(items);
        }
        LoopContext loop = new LoopContext(items, depth0);
        if (f.recursive()) {
            loop.recurse = nested -> {
                if (++callDepth > limits.maxRecursionDepth()) {
                    callDepth--;
                    throw new RenderError("recursive loop nested more than " + limits.maxRecursionDepth()
                            + " deep (TemplateLimits.maxRecursionDepth)");
                }
                StringBuilder saved = out;
                out = new StringBuilder();
                try {
                    runLoop(f, nested, scope, depth0 + 1);
                    return out.toString();
                } finally {
                    out = saved;
                    callDepth--;
                }
            };
        }
        for (int i = 0; i < items.size(); i++) {
            countIteration();
            loop.index0 = i;
            Scope s = new Scope(scope);
            assign(f.target(), items.get(i), s);
            s.vars.put("loop", loop);
            if (execBody(f.body(), s) == Signal.BREAK) {
                break;
            }
        }
        if (items.isEmpty()) {
            return execBody(f.orElse(), new Scope(scope));
        }
        return Signal.NORMAL;
    }

    private void countIteration() {
        if (++iterations > limits.maxLoopIterations()) {
            throw new RenderError("template ran more than " + limits.maxLoopIterations()
                    + " loop iterations and macro calls (TemplateLimits.maxLoopIterations)");
        }
    }

    private void assign(Expr target, Object value, Scope scope) {
        if (target instanceof Expr.Name n) {
            scope.vars.put(n.name(), value);
        } else if (target instanceof Expr.NsRef r) {
            Object ns = scope.lookup(r.name());
            if (!(ns instanceof Py.Namespace namespace)) {
                throw new RenderError("cannot assign attribute on non-namespace object");
            }
            namespace.attrs.put(r.attr(), value);
        } else if (target instanceof Expr.TupleLit t) {
            List<Object> values = Py.iterate(value);
            if (values.size() != t.items().size()) {
                throw new RenderError(values.size() > t.items().size()
                        ? "too many values to unpack (expected " + t.items().size() + ")"
                        : "not enough values to unpack (expected " + t.items().size() + ", got " + values.size() + ")");
            }
            for (int i = 0; i < values.size(); i++) {
                assign(t.items().get(i), values.get(i), scope);
            }
        } else {
            throw new RenderError("cannot assign to this expression");
        }
    }

    Object callMacro(Macro m, Args args) {
        countIteration();
        if (++callDepth > limits.maxRecursionDepth()) {
            callDepth--;
            throw new RenderError("macro calls nested more than " + limits.maxRecursionDepth()
                    + " deep (TemplateLimits.maxRecursionDepth)");
        }
        try {
            Scope s = new Scope(m.closure);
            Map<String, Object> kw = new LinkedHashMap<>(args.keywords());
            int firstDefault = m.params.size() - m.defaults.size();
            for (int i = 0; i < m.params.size(); i++) {
                String p = m.params.get(i);
                if (i < args.size()) {
                    s.vars.put(p, args.positional().get(i));
                } else if (kw.containsKey(p)) {
                    s.vars.put(p, kw.remove(p));
                } else if (i >= firstDefault) {
                    s.vars.put(p, eval(m.defaults.get(i - firstDefault), s));
                } else {
                    s.vars.put(p, new Undefined("parameter '" + p + "' was not provided"));
                }
            }
            Py.Tuple varargs = new Py.Tuple(args.size() > m.params.size()
                    ? args.positional().subList(m.params.size(), args.size()) : List.of());
            if (kw.containsKey("caller")) {
                s.vars.put("caller", kw.remove("caller"));
            }
            s.vars.put("varargs", varargs);
            s.vars.put("kwargs", kw);
            return capture(m.body, s);
        } finally {
            callDepth--;
        }
    }

    // ---- expressions ----

    Object eval(Expr e, Scope scope) {
        try {
            return evalInner(e, scope);
        } catch (RenderError err) {
            throw at(err, e);
        }
    }

    private Object evalInner(Expr e, Scope scope) {
        if (e instanceof Expr.Const c) {
            return c.value();
        }
        if (e instanceof Expr.Name n) {
            return scope.lookup(n.name());
        }
        if (e instanceof Expr.GetAttr g) {
            return Builtins.getattr(eval(g.obj(), scope), g.attr());
        }
        if (e instanceof Expr.GetItem g) {
            Object obj = eval(g.obj(), scope);
            if (g.key() instanceof Expr.Slice sl) {
                return Py.slice(obj, optional(sl.start(), scope), optional(sl.stop(), scope),
                        optional(sl.step(), scope));
            }
            return Builtins.getitem(obj, eval(g.key(), scope));
        }
        if (e instanceof Expr.Filter f) {
            return applyFilterChain(f, null, scope);
        }
        if (e instanceof Expr.Test t) {
            Object v = eval(t.input(), scope);
            return Builtins.test(this, t.name(), v, evalArgs(t.args(), t.kwNames(), t.kwValues(), scope));
        }
        if (e instanceof Expr.Call c) {
            Object fn = eval(c.fn(), scope);
            return call(fn, evalArgs(c.args(), c.kwNames(), c.kwValues(), scope));
        }
        if (e instanceof Expr.And a) {
            Object l = eval(a.left(), scope);
            return Py.truthy(l) ? eval(a.right(), scope) : l;
        }
        if (e instanceof Expr.Or o) {
            Object l = eval(o.left(), scope);
            return Py.truthy(l) ? l : eval(o.right(), scope);
        }
        if (e instanceof Expr.Not n) {
            return !Py.truthy(eval(n.operand(), scope));
        }
        if (e instanceof Expr.CondExpr c) {
            if (Py.truthy(eval(c.test(), scope))) {
                return eval(c.then(), scope);
            }
            return c.orElse() == null ? new Undefined("the inline if-expression evaluated to false and no else "
                    + "section was defined.") : eval(c.orElse(), scope);
        }
        if (e instanceof Expr.Compare c) {
            Object left = eval(c.first(), scope);
            for (int i = 0; i < c.ops().size(); i++) {
                Object right = eval(c.rest().get(i), scope);
                if (!compare(c.ops().get(i), left, right)) {
                    return false;
                }
                left = right;
            }
            return true;
        }
        if (e instanceof Expr.Binary b) {
            Object left = eval(b.left(), scope);
            Object right = eval(b.right(), scope);
            if (b.op().equals("**") && Py.isNumber(left) && Py.asDouble(left) < 0 && foldsToNumber(b.left())
                    && !foldsToNumber(b.right())) {
                // Jinja2 folds a constant base into a literal and prints "-3 ** x", which Python reads as
                // -(3 ** x); the rendered result follows that reading.
                return Py.negate(Py.binary("**", Py.negate(left), right, limits.maxOutputChars()));
            }
            return Py.binary(b.op(), left, right, limits.maxOutputChars());
        }
        if (e instanceof Expr.Unary u) {
            Object v = eval(u.operand(), scope);
            return u.op().equals("-") ? Py.negate(v) : Py.positive(v);
        }
        if (e instanceof Expr.Concat c) {
            StringBuilder sb = new StringBuilder();
            for (Expr part : c.parts()) {
                sb.append(Py.str(eval(part, scope)));
                if (sb.length() > limits.maxOutputChars()) {
                    throw new RenderError("string exceeds the output limit of " + limits.maxOutputChars()
                            + " characters (TemplateLimits.maxOutputChars)");
                }
            }
            Py.work(sb.length() / 16);
            return sb.toString();
        }
        if (e instanceof Expr.ListLit l) {
            List<Object> items = new ArrayList<>(l.items().size());
            for (Expr x : l.items()) {
                items.add(eval(x, scope));
            }
            return items;
        }
        if (e instanceof Expr.TupleLit t) {
            List<Object> items = new ArrayList<>(t.items().size());
            for (Expr x : t.items()) {
                items.add(eval(x, scope));
            }
            return new Py.Tuple(items);
        }
        if (e instanceof Expr.DictLit d) {
            Map<Object, Object> map = new LinkedHashMap<>();
            for (int i = 0; i < d.keys().size(); i++) {
                Object k = eval(d.keys().get(i), scope);
                Py.hashCheck(k);
                Object v = eval(d.values().get(i), scope);
                if (Py.isNumber(k)) {
                    // Python dicts treat 1, 1.0 and True as the same key; the first spelling stays.
                    for (Object existing : map.keySet()) {
                        if (Py.isNumber(existing) && Py.eq(existing, k)) {
                            k = existing;
                            break;
                        }
                    }
                }
                map.put(k, v);
            }
            return map;
        }
        if (e instanceof Expr.Slice || e instanceof Expr.Starred) {
            throw new RenderError("a slice or starred argument is only allowed inside [] or a call");
        }
        if (e instanceof Expr.NsRef r) {
            return Builtins.getattr(scope.lookup(r.name()), r.attr());
        }
        throw new RenderError("cannot evaluate " + e.getClass().getSimpleName());
    }

    /** Whether Jinja2's optimizer turns this expression into a numeric constant. */
    private static boolean foldsToNumber(Expr e) {
        if (e instanceof Expr.Const c) {
            return Py.isNumber(c.value());
        }
        if (e instanceof Expr.Unary u) {
            return foldsToNumber(u.operand());
        }
        if (e instanceof Expr.Binary b) {
            return !b.op().equals("%") && foldsToNumber(b.left()) && foldsToNumber(b.right());
        }
        return false;
    }

    private Object optional(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private boolean compare(String op, Object a, Object b) {
        return switch (op) {
            case "==" -> Py.eq(a, b);
            case "!=" -> !Py.eq(a, b);
            case "<" -> Py.compare(a, b, op) < 0;
            case "<=" -> Py.compare(a, b, op) <= 0;
            case ">" -> Py.compare(a, b, op) > 0;
            case ">=" -> Py.compare(a, b, op) >= 0;
            case "in" -> Py.contains(b, a);
            case "notin" -> !Py.contains(b, a);
            default -> throw new RenderError("unknown comparison " + op);
        };
    }

    Object applyFilterChain(Expr.Filter f, Object seed, Scope scope) {
        Object input;
        if (f.input() == null) {
            input = seed;
        } else if (f.input() instanceof Expr.Filter inner && seed != null) {
            input = applyFilterChain(inner, seed, scope);
        } else {
            input = eval(f.input(), scope);
        }
        try {
            return Builtins.filter(this, f.name(), input, evalArgs(f.args(), f.kwNames(), f.kwValues(), scope));
        } catch (RenderError err) {
            throw at(err, f);
        }
    }

    private Args evalArgs(List<Expr> args, List<String> kwNames, List<Expr> kwValues, Scope scope) {
        if (args.isEmpty() && kwNames.isEmpty()) {
            return Args.NONE;
        }
        List<Object> pos = new ArrayList<>(args.size());
        for (Expr a : args) {
            if (a instanceof Expr.Starred st) {
                pos.addAll(Py.iterate(eval(st.value(), scope)));
            } else {
                pos.add(eval(a, scope));
            }
        }
        Map<String, Object> kw = new LinkedHashMap<>();
        for (int i = 0; i < kwNames.size(); i++) {
            if (kwValues.get(i) instanceof Expr.Starred st) {
                Object m = eval(st.value(), scope);
                if (!(m instanceof Map<?, ?> map)) {
                    throw new RenderError("argument after ** must be a mapping, not " + Py.typeName(m));
                }
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String k)) {
                        throw new RenderError("keywords must be strings");
                    }
                    kw.put(k, e.getValue());
                }
            } else {
                kw.put(kwNames.get(i), eval(kwValues.get(i), scope));
            }
        }
        return new Args(pos, kw);
    }

    Object call(Object fn, Args args) {
        if (fn instanceof Py.Callable c) {
            return c.call(this, args);
        }
        if (fn instanceof Undefined u) {
            throw u.error();
        }
        throw new RenderError("'" + Py.typeName(fn) + "' object is not callable");
    }
}
