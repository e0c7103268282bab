package io.github.locallm.examples;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import io.github.locallm.Timings;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Prints an answer piece by piece as the model produces it, then the time to the first token and the speed.
 *
 * <pre>{@code
 * llm.streamChat(List.of(ChatMessage.user("Explique-moi Python en une phrase")), options, new StreamHandler() {
 *     public void onToken(String text) { System.out.print(text); }
 *     public void onComplete(Completion c) { System.out.println(c.timings()); }
 *     public void onError(Throwable e) { e.printStackTrace(); }
 * });
 * }</pre>
 *
 * <p>Run with
 * {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.StreamingDemo}; words
 * after the options replace the prompt. Stateless; each run opens and closes its model.
 */
public final class StreamingDemo {
    private static final String HELP = "Usage: StreamingDemo [options] [prompt words...]\n"
            + "Streams one answer (default prompt: " + QuickStart.DEFAULT_PROMPT + "), then prints its timings.\n"
            + Programs.MODEL_HELP;

    private StreamingDemo() {
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
     * @param out where the answer and its timings go
     * @param err where notes and errors go
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Environment.system());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("streaming", err, () -> {
            Args a = Args.parse(args, Programs.MODEL_OPTIONS, Set.of("help"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            String prompt = a.positional().isEmpty() ? QuickStart.DEFAULT_PROMPT : String.join(" ", a.positional());
            Programs.checkGenerationOptions(a);
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                CompletableFuture<Completion> done = new CompletableFuture<>();
                int[] pieces = {0};
                llm.streamChat(List.of(ChatMessage.user(prompt)), Programs.generationOptions(choice, a),
                        new StreamHandler() {
                            @Override
                            public void onToken(String text) {
                                pieces[0]++;
                                out.print(text);
                                out.flush();
                            }

                            @Override
                            public void onComplete(Completion completion) {
                                done.complete(completion);
                            }

                            @Override
                            public void onError(Throwable error) {
                                done.completeExceptionally(error);
                            }
                        });
                Completion c;
                try {
                    c = done.get();
                } catch (ExecutionException e) {
                    out.println();
                    throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
                out.println();
                out.println(summary(c, pieces[0]));
                return c.text().isBlank() ? Programs.FAILED : Programs.OK;
            }
        });
    }

    /** @return one line with the time to first token, the speed and the counts */
    static String summary(Completion c, int pieces) {
        Timings t = c.timings();
        return String.format(Locale.ROOT,
                "--- time to first token: %d ms, %.1f tokens/s, %d tokens in %d pieces, total %d ms (%s)",
                t.timeToFirstToken().toMillis(), t.tokensPerSecond(), c.usage().completionTokens(), pieces,
                t.total().toMillis(), c.finishReason());
    }
}
