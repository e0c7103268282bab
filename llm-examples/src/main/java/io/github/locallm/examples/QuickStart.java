package io.github.locallm.examples;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.LocalLlm;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/**
 * One prompt, one answer: the smallest use of the SDK.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("ollama:qwen2.5:0.5b")) {
 *     System.out.println(llm.chat(List.of(ChatMessage.user("Explique-moi Python en une phrase"))).text());
 * }
 * }</pre>
 *
 * <p>Run with {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.QuickStart};
 * words after the options replace the prompt. Stateless; each run opens and closes its model.
 */
public final class QuickStart {
    /** The prompt unless the command line gives one. */
    public static final String DEFAULT_PROMPT = "Explique-moi Python en une phrase";

    private static final String HELP = "Usage: QuickStart [options] [prompt words...]\n"
            + "Asks one question (default: " + DEFAULT_PROMPT + ") and prints the answer.\n" + Programs.MODEL_HELP;

    private QuickStart() {
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
     * @param out where the answer goes
     * @param err where notes and errors go
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Environment.system());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("quickstart", err, () -> {
            Args a = Args.parse(args, Programs.MODEL_OPTIONS, Set.of("help"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            String prompt = a.positional().isEmpty() ? DEFAULT_PROMPT : String.join(" ", a.positional());
            Programs.checkGenerationOptions(a);
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                Completion answer = llm.chat(List.of(ChatMessage.user(prompt)), Programs.generationOptions(choice, a));
                out.println(answer.text().strip());
                return answer.text().isBlank() ? Programs.FAILED : Programs.OK;
            }
        });
    }
}
