package io.github.locallm.examples;

import java.io.Console;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a program needs to know about the machine it runs on: environment variables, the working directory
 * (for {@code ./models}), where to cache the extracted demo model, whether a person is typing at a terminal,
 * and how long to wait for a local Ollama server to answer. Tests build their own; {@link #system()} is the
 * real one. Immutable and thread-safe.
 *
 * @param variables environment variables ({@code OLLAMA_HOST} is the one read)
 * @param workDir the directory whose {@code models} folder is searched for {@code .gguf} files
 * @param cacheDir where the embedded demo model is extracted
 * @param interactive whether standard input is a terminal
 * @param ollamaProbe how long the automatic choice waits for a local Ollama server
 */
record Environment(Map<String, String> variables, Path workDir, Path cacheDir, boolean interactive,
                   Duration ollamaProbe) {
    /** How long the automatic choice waits for a local Ollama server by default. */
    static final Duration DEFAULT_PROBE = Duration.ofMillis(300);

    Environment {
        variables = Map.copyOf(variables);
        Objects.requireNonNull(workDir, "workDir");
        Objects.requireNonNull(cacheDir, "cacheDir");
        Objects.requireNonNull(ollamaProbe, "ollamaProbe");
    }

    /** @return the environment of this process */
    static Environment system() {
        Map<String, String> env = System.getenv();
        return new Environment(env, Path.of("").toAbsolutePath(), defaultCacheDir(env), isTerminal(),
                DEFAULT_PROBE);
    }

    /** @return a copy that is (or is not) interactive */
    Environment withInteractive(boolean value) {
        return new Environment(variables, workDir, cacheDir, value, ollamaProbe);
    }

    /** @return the value of an environment variable, or null */
    String variable(String name) {
        String v = variables.get(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    private static Path defaultCacheDir(Map<String, String> env) {
        String explicit = System.getProperty("locallm.cache");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("locallm");
    }

    // System.console() answers "is there a terminal" on Java 17 to 21; later JDKs may return a console for
    // redirected streams too and tell the difference with Console.isTerminal().
    private static boolean isTerminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method m = Console.class.getMethod("isTerminal");
            return (Boolean) m.invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
