package io.github.locallm.template;

import java.util.List;

/** The {@code loop} variable of a for loop; calling it recurses in a {@code recursive} loop. */
final class LoopContext implements Py.Callable {
    final List<Object> items;
    final int depth0;
    int index0;
    private Object lastChanged = NOT_SET;
    private static final Object NOT_SET = new Object();
    java.util.function.Function<Object, String> recurse;

    LoopContext(List<Object> items, int depth0) {
        this.items = items;
        this.depth0 = depth0;
    }

    @Override
    public Object call(Interpreter in, Py.Args args) {
        if (recurse == null) {
            throw new Py.RenderError("The loop must have the 'recursive' marker to be called recursively.");
        }
        if (args.size() != 1) {
            throw new Py.RenderError("loop() takes exactly one argument, the items to loop over");
        }
        return recurse.apply(args.positional().get(0));
    }

    @Override
    public String name() {
        return "loop";
    }

    Object attribute(String name) {
        int n = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> (long) depth0 + 1;
            case "depth0" -> (long) depth0;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Py.Undefined("there is no previous item");
            case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Py.Undefined("there is no next item");
            case "cycle" -> new Py.Callable() {
                @Override
                public Object call(Interpreter in, Py.Args args) {
                    if (args.size() == 0) {
                        throw new Py.RenderError("no items for cycling given");
                    }
                    return args.positional().get(index0 % args.size());
                }

                @Override
                public String name() {
                    return "cycle";
                }
            };
            case "changed" -> new Py.Callable() {
                @Override
                public Object call(Interpreter in, Py.Args args) {
                    Object value = Py.Tuple.of(args.positional().toArray());
                    if (lastChanged == NOT_SET || !Py.eq(lastChanged, value)) {
                        lastChanged = value;
                        return true;
                    }
                    return false;
                }

                @Override
                public String name() {
                    return "changed";
                }
            };
            default -> new Py.Undefined("'LoopContext object' has no attribute '" + name + "'");
        };
    }
}
