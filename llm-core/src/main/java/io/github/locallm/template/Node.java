package io.github.locallm.template;

import java.util.List;

/** The syntax tree of a template: statements and expressions, each knowing its source position. */
interface Node {
    /** @return offset in the normalized source, for error messages */
    int pos();

    // ---- statements ----

    record Text(int pos, String text) implements Node {
    }

    record Print(int pos, Expr expr) implements Node {
    }

    record If(int pos, List<Expr> tests, List<List<Node>> bodies, List<Node> orElse) implements Node {
    }

    record For(int pos, Expr target, Expr iter, Expr filter, List<Node> body, List<Node> orElse, boolean recursive)
            implements Node {
    }

    record Set(int pos, Expr target, Expr value) implements Node {
    }

    record SetBlock(int pos, Expr target, Expr.Filter filter, List<Node> body) implements Node {
    }

    record Macro(int pos, String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {
    }

    record CallBlock(int pos, Expr.Call call, List<String> params, List<Expr> defaults, List<Node> body)
            implements Node {
    }

    record FilterBlock(int pos, Expr.Filter filter, List<Node> body) implements Node {
    }

    record With(int pos, List<Expr> targets, List<Expr> values, List<Node> body) implements Node {
    }

    record Scope(int pos, List<Node> body) implements Node {
    }

    record Break(int pos) implements Node {
    }

    record Continue(int pos) implements Node {
    }

    /** An expression. */
    interface Expr extends Node {
        record Const(int pos, Object value) implements Expr {
        }

        record Name(int pos, String name) implements Expr {
        }

        /** {@code ns.attr} as an assignment target. */
        record NsRef(int pos, String name, String attr) implements Expr {
        }

        record ListLit(int pos, List<Expr> items) implements Expr {
        }

        record TupleLit(int pos, List<Expr> items) implements Expr {
        }

        record DictLit(int pos, List<Expr> keys, List<Expr> values) implements Expr {
        }

        record GetAttr(int pos, Expr obj, String attr) implements Expr {
        }

        record GetItem(int pos, Expr obj, Expr key) implements Expr {
        }

        record Slice(int pos, Expr start, Expr stop, Expr step) implements Expr {
        }

        /** {@code *expr} or {@code **expr} in the arguments of a call. */
        record Starred(int pos, Expr value, boolean mapping) implements Expr {
        }

        record Call(int pos, Expr fn, List<Expr> args, List<String> kwNames, List<Expr> kwValues) implements Expr {
        }

        /** A filter; {@code input} is null inside a filter block or set block. */
        record Filter(int pos, Expr input, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues)
                implements Expr {
        }

        record Test(int pos, Expr input, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues)
                implements Expr {
        }

        record Unary(int pos, String op, Expr operand) implements Expr {
        }

        record Binary(int pos, String op, Expr left, Expr right) implements Expr {
        }

        record Concat(int pos, List<Expr> parts) implements Expr {
        }

        record Compare(int pos, Expr first, List<String> ops, List<Expr> rest) implements Expr {
        }

        record And(int pos, Expr left, Expr right) implements Expr {
        }

        record Or(int pos, Expr left, Expr right) implements Expr {
        }

        record Not(int pos, Expr operand) implements Expr {
        }

        record CondExpr(int pos, Expr test, Expr then, Expr orElse) implements Expr {
        }
    }
}
