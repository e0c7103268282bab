package io.github.locallm.spi;

import io.github.locallm.GenerationOptions;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Typed reading of string options, the one way every backend reads its settings (the spec's query and
 * {@link io.github.locallm.OpenOptions}, see {@link OpenRequest#values()}) and its per-call options
 * ({@link GenerationOptions#backendOptions(String)}, see {@link #backendOptions}).
 *
 * <p>One policy for every backend: an unknown key is rejected with a message that lists the known ones,
 * and a bad value with a message that names the key, the value, what was expected and the model. A
 * per-call key that repeats a shared option (such as {@code temperature}) is unknown too, and the message
 * says where the shared option is set, so a backend option never silently overrides it.
 *
 * <pre>{@code
 * OptionValues v = OptionValues.backendOptions(request.options(), "mybackend", "mybackend model " + name,
 *         Set.of("mirostat", "keep_alive"));
 * int mirostat = v.integer("mirostat", 0, 2).orElse(0);
 * Optional<Duration> keepAlive = v.duration("keep_alive");
 * }</pre>
 *
 * <p>Values are stripped of surrounding white space before they are read. Immutable and thread-safe.
 */
public final class OptionValues {
    /**
     * The context window a local backend opens when the {@code ctx} setting is not given and the model
     * allows more: large enough for chats, small enough that the key/value cache stays in memory.
     */
    public static final int DEFAULT_CONTEXT_CAP = 4096;

    /** Keys that name shared {@link GenerationOptions}; a backend option of that name is refused. */
    private static final Set<String> SHARED = Set.of("temperature", "top_p", "top_k", "min_p", "repeat_penalty",
            "seed", "stop", "max_tokens", "num_predict", "n_predict", "response_format", "format", "tools");

    private final String what;
    private final String model;
    private final Map<String, String> values;

    /**
     * @param what what the keys are, for messages, such as {@code "setting"} or {@code "llamacpp option"}
     * @param model the model, for messages, such as {@code "llamacpp model /m.gguf"}
     * @param values the keys and their text values
     */
    public OptionValues(String what, String model, Map<String, String> values) {
        this.what = Objects.requireNonNull(what, "what");
        this.model = Objects.requireNonNull(model, "model");
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(values, "values")));
    }

    /**
     * Reads the per-call options of one backend and rejects the keys it does not know.
     *
     * @param options the call's options
     * @param backend the backend's namespace, such as {@code "ollama"}
     * @param model the model, for messages
     * @param known the keys the backend accepts per call; may be empty
     * @return the backend's options
     * @throws IllegalArgumentException for an unknown key
     */
    public static OptionValues backendOptions(GenerationOptions options, String backend, String model,
                                              Collection<String> known) {
        OptionValues v = new OptionValues(backend + " option", model, options.backendOptions(backend));
        v.requireKnown(known);
        return v;
    }

    /**
     * Rejects keys outside {@code known}.
     *
     * @param known the accepted keys
     * @return this
     * @throws IllegalArgumentException naming the unknown keys and the known ones
     */
    public OptionValues requireKnown(Collection<String> known) {
        TreeSet<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(known);
        if (unknown.isEmpty()) {
            return this;
        }
        String shared = unknown.stream().filter(SHARED::contains).collect(Collectors.joining(", "));
        throw new IllegalArgumentException("unknown " + what + (unknown.size() > 1 ? "s " : " ") + unknown + " for "
                + model + "; known: " + (known.isEmpty() ? "none" : new TreeSet<>(known))
                + (shared.isEmpty() ? "" : ". " + shared + " " + (shared.contains(",") ? "are" : "is")
                + " set with GenerationOptions (temperature(), topP(), maxTokens(), stop(), ...), the same way"
                + " for every backend"));
    }

    /** @return the keys given */
    public Set<String> keys() {
        return values.keySet();
    }

    /**
     * @param key a key
     * @return true when the key was given
     */
    public boolean has(String key) {
        return values.containsKey(key);
    }

    /**
     * @param key a key
     * @return its text as given, if given
     */
    public Optional<String> string(String key) {
        return Optional.ofNullable(values.get(key));
    }

    /**
     * @param key a key
     * @param min the smallest accepted value
     * @param max the largest accepted value
     * @return the value as an integer, if given
     * @throws IllegalArgumentException when it is not an integer in {@code [min, max]}
     */
    public OptionalInt integer(String key, int min, int max) {
        String v = values.get(key);
        if (v == null) {
            return OptionalInt.empty();
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= max) {
                return OptionalInt.of(n);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(key, v, "an integer in " + range(min, max));
    }

    /**
     * @param key a key
     * @param min the smallest accepted value
     * @param max the largest accepted value
     * @return the value as a finite decimal number, if given
     * @throws IllegalArgumentException when it is not a finite number in {@code [min, max]}
     */
    public OptionalDouble decimal(String key, double min, double max) {
        String v = values.get(key);
        if (v == null) {
            return OptionalDouble.empty();
        }
        try {
            double d = Double.parseDouble(v.strip());
            if (Double.isFinite(d) && d >= min && d <= max) {
                return OptionalDouble.of(d);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw bad(key, v, "a finite number in [" + min + ", " + max + "]");
    }

    /**
     * @param key a key
     * @return the value as a boolean ({@code true/false/1/0/yes/no/on/off}, any case), if given
     * @throws IllegalArgumentException when it is not a boolean
     */
    public Optional<Boolean> bool(String key) {
        String v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes", "on":
                return Optional.of(Boolean.TRUE);
            case "false", "0", "no", "off":
                return Optional.of(Boolean.FALSE);
            default:
                throw bad(key, v, "true or false");
        }
    }

    /**
     * Reads a duration, as {@link #parseDuration(String)} writes it.
     *
     * @param key a key
     * @return the value as a duration, not negative, if given
     * @throws IllegalArgumentException when it is not a duration or is negative
     */
    public Optional<Duration> duration(String key) {
        String v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        return Optional.of(parseDuration(v).orElseThrow(
                () -> bad(key, v, "a duration such as 250ms, 30s, 5m, 2h or PT30S")));
    }

    /**
     * Parses a duration the one way every setting of the project (backend options, HTTP limits) writes it: a
     * number with a unit ({@code 250ms}, {@code 1.5s}, {@code 5m}, {@code 2h}), a plain number of seconds, or
     * ISO-8601 ({@code PT30S}); case and surrounding white space do not matter.
     *
     * @param text the text
     * @return the duration, when the text is one that is not negative and at most a billion seconds (and at
     *     most 64 characters long)
     */
    public static Optional<Duration> parseDuration(String text) {
        Objects.requireNonNull(text, "text");
        String v = text.strip().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.length() > 64) {
            return Optional.empty();
        }
        try {
            Duration d;
            if (v.startsWith("p")) {
                d = Duration.parse(v.toUpperCase(Locale.ROOT));
            } else {
                String unit = v.endsWith("ms") ? "ms" : Character.isLetter(v.charAt(v.length() - 1))
                        ? v.substring(v.length() - 1) : "";
                String number = v.substring(0, v.length() - unit.length()).strip();
                if (number.isEmpty() || !number.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.')) {
                    return Optional.empty();
                }
                double n = Double.parseDouble(number);
                double seconds = switch (unit) {
                    case "ms" -> n / 1000;
                    case "", "s" -> n;
                    case "m" -> n * 60;
                    case "h" -> n * 3600;
                    default -> Double.NaN;
                };
                if (!(seconds <= 1e9)) {
                    return Optional.empty();
                }
                d = unit.equals("ms") && number.indexOf('.') < 0 ? Duration.ofMillis(Long.parseLong(number))
                        : Duration.ofNanos(Math.round(seconds * 1e9));
            }
            if (d.isNegative() || d.getSeconds() > 1_000_000_000L) {
                return Optional.empty();
            }
            return Optional.of(d);
        } catch (DateTimeParseException | ArithmeticException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Reads one of an enum's constants by name, in any case, with {@code -} read as {@code _}.
     *
     * @param key a key
     * @param type the enum
     * @param <E> the enum
     * @return the constant, if given
     * @throws IllegalArgumentException when the value names no constant (the message lists them)
     */
    public <E extends Enum<E>> Optional<E> choice(String key, Class<E> type) {
        String v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        String name = v.strip().replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(name)) {
                return Optional.of(e);
            }
        }
        throw bad(key, v, "one of " + Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    private IllegalArgumentException bad(String key, String value, String expected) {
        return new IllegalArgumentException(what + " " + key + " must be " + expected + ": '" + value + "' ("
                + model + ")");
    }

    private static String range(int min, int max) {
        return "[" + (min == Integer.MIN_VALUE ? "-inf" : Integer.toString(min)) + ", "
                + (max == Integer.MAX_VALUE ? "inf" : Integer.toString(max)) + "]";
    }
}
