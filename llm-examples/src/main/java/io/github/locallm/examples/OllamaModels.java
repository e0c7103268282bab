package io.github.locallm.examples;

import io.github.locallm.ollama.OllamaClient;
import java.io.PrintStream;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Manages the models of an Ollama server: list them, pull one with a progress bar, delete one.
 *
 * <pre>{@code
 * OllamaClient ollama = OllamaClient.fromEnvironment();
 * ollama.pull("qwen2.5:0.5b", p -> System.out.printf("%s %.0f%%%n", p.status(), 100 * p.fraction()));
 * ollama.list().forEach(m -> System.out.println(m.name()));
 * }</pre>
 *
 * <p>Run with {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.OllamaModels
 * -Dexec.args="pull qwen2.5:0.5b"}; commands {@code list} (the default), {@code pull NAME},
 * {@code delete NAME}; {@code --host URL} names the server (default {@code OLLAMA_HOST}, else
 * {@code 127.0.0.1:11434}). Stateless.
 */
public final class OllamaModels {
    private static final String HELP = "Usage: OllamaModels [--host URL] [list | pull NAME | delete NAME]\n"
            + "Lists, pulls (with a progress bar) or deletes the models of an Ollama server.\n"
            + "  --host URL          the server (default: OLLAMA_HOST, else " + ModelChooser.DEFAULT_OLLAMA + ")\n";
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
            .withZone(ZoneOffset.UTC);

    private OllamaModels() {
    }

    /**
     * Runs the program on the process's streams and exits with a non-zero code on failure.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        Logs.configure();
        int code = run(args, System.out, System.err);
        if (code != Programs.OK) {
            System.exit(code);
        }
    }

    /**
     * Runs the program on the given streams.
     *
     * @param args the command line
     * @param out where the listing and the progress go
     * @param err where errors go
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Environment.system());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("ollama-models", err, () -> {
            Args a = Args.parse(args, Set.of("host"), Set.of("help"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            List<String> words = a.positional();
            String command = words.isEmpty() ? "list" : words.get(0).toLowerCase(Locale.ROOT);
            String host = a.option("host") != null ? a.option("host")
                    : env.variable("OLLAMA_HOST") != null ? env.variable("OLLAMA_HOST") : ModelChooser.DEFAULT_OLLAMA;
            OllamaClient ollama = OllamaClient.builder().baseUrl(host).build();
            switch (command) {
                case "list":
                    expect(words, 1, "list");
                    list(ollama, out);
                    return Programs.OK;
                case "pull": {
                    expect(words, 2, "pull NAME");
                    ProgressBar bar = new ProgressBar(out, env.interactive());
                    try {
                        ollama.pull(words.get(1), bar::update);
                    } finally {
                        bar.finishLine();
                    }
                    out.println("Pulled " + words.get(1) + " into " + ollama.baseUrl() + ".");
                    return Programs.OK;
                }
                case "delete":
                    expect(words, 2, "delete NAME");
                    ollama.delete(words.get(1));
                    out.println("Deleted " + words.get(1) + " from " + ollama.baseUrl() + ".");
                    return Programs.OK;
                default:
                    throw new IllegalArgumentException("unknown command " + command + "; the commands are list, "
                            + "pull NAME and delete NAME");
            }
        });
    }

    private static void expect(List<String> words, int count, String form) {
        if (words.size() != Math.max(count, 1) && !(count == 1 && words.isEmpty())) {
            throw new IllegalArgumentException("the command is: " + form);
        }
    }

    private static void list(OllamaClient ollama, PrintStream out) {
        List<OllamaClient.LocalModel> models = ollama.list();
        if (models.isEmpty()) {
            out.println("The Ollama server at " + ollama.baseUrl() + " has no models. Pull one with: "
                    + "OllamaModels pull qwen2.5:0.5b");
            return;
        }
        int width = Math.max(4, models.stream().mapToInt(m -> m.name().length()).max().orElse(4));
        out.printf(Locale.ROOT, "%-" + width + "s  %9s  %-16s  %s%n", "NAME", "SIZE", "MODIFIED (UTC)", "DETAILS");
        for (OllamaClient.LocalModel m : models) {
            String modified = m.modifiedAt() == null ? "-" : DATE.format(m.modifiedAt());
            String details = String.join(" ", new java.util.TreeMap<>(m.details()).values());
            out.printf(Locale.ROOT, "%-" + width + "s  %9s  %-16s  %s%n", m.name(), ProgressBar.size(m.size()),
                    modified, details);
        }
    }
}
