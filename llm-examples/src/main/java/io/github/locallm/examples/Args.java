package io.github.locallm.examples;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line arguments: {@code --name value} or {@code --name=value} options, {@code --flag} flags and
 * positional words. Unknown options are an {@link IllegalArgumentException} that lists the known ones.
 * Immutable once parsed; not meant to be shared between threads.
 */
final class Args {
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Args() {
    }

    /**
     * @param args the command line
     * @param withValue option names that take a value, without the dashes
     * @param flags option names without a value
     * @return the parsed arguments
     */
    static Args parse(String[] args, Set<String> withValue, Set<String> flags) {
        Args out = new Args();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                out.positional.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            if (!a.startsWith("--") || a.length() == 2) {
                out.positional.add(a);
                continue;
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name) && value == null) {
                out.options.put(name, "true");
            } else if (withValue.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--" + name + " needs a value");
                    }
                    value = args[++i];
                }
                out.options.put(name, value);
            } else {
                List<String> known = new ArrayList<>();
                withValue.forEach(n -> known.add("--" + n + " VALUE"));
                flags.forEach(n -> known.add("--" + n));
                throw new IllegalArgumentException("unknown option " + a + "; known: " + String.join(", ", known));
            }
        }
        return out;
    }

    /** @return the option's value, or null */
    String option(String name) {
        return options.get(name);
    }

    /** @return whether the flag was given */
    boolean flag(String name) {
        return options.containsKey(name);
    }

    /** @return the option as a positive integer, or the default */
    int intOption(String name, int defaultValue) {
        String v = options.get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n < 1) {
                throw new IllegalArgumentException("--" + name + " must be at least 1: " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number: " + v, e);
        }
    }

    /** @return the option as a number, or null */
    Double doubleOption(String name) {
        String v = options.get(name);
        if (v == null) {
            return null;
        }
        try {
            return Double.valueOf(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number: " + v, e);
        }
    }

    /** @return the positional words */
    List<String> positional() {
        return List.copyOf(positional);
    }
}
