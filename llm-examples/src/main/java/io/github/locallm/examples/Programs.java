package io.github.locallm.examples;

import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Set;

/**
 * What every example program shares: the {@code --model} option, generation settings, and turning failures
 * into a message and an exit code. Stateless and thread-safe.
 */
final class Programs {
    /** Exit code of a run that ended normally. */
    static final int OK = 0;
    /** Exit code of a run that failed (model not found, server down...). */
    static final int FAILED = 1;
    /** Exit code of a bad command line. */
    static final int USAGE = 2;
    /** Most tokens of an answer unless {@code --max-tokens} says otherwise. */
    static final int DEFAULT_MAX_TOKENS = 256;

    /** Options that every program that opens a model takes. */
    static final Set<String> MODEL_OPTIONS = Set.of("model", "max-tokens", "temperature", "repeat-penalty");
    static final String MODEL_HELP = "  --model SPEC        a spec (ollama:qwen2.5:0.5b, llamacpp:/m.gguf?ctx=4096, djl:/dir)\n"
            + "                      or a path to a .gguf file or checkpoint directory; default: automatic\n"
            + "                      (local Ollama server, else ./models/*.gguf, else the embedded demo model)\n"
            + "  --max-tokens N      most tokens per answer (default " + DEFAULT_MAX_TOKENS + ")\n"
            + "  --temperature T     sampling temperature in [0, 2] (default: the backend's; 0 for the demo model)\n"
            + "  --repeat-penalty P  repetition penalty, 1 for none (default: the backend's; 1 for the demo model)\n";

    /** A program body that may throw. */
    @FunctionalInterface
    interface Body {
        /** @return the exit code */
        int run() throws Exception;
    }

    private Programs() {
    }

    /**
     * Runs a program body, turning a bad command line into exit code {@value #USAGE} and a failure into
     * {@value #FAILED}, each with its message on {@code err}.
     */
    static int guard(String program, PrintStream err, Body body) {
        try {
            return body.run();
        } catch (IllegalArgumentException e) {
            err.println(program + ": " + e.getMessage());
            err.println("Run with --help for the options.");
            return USAGE;
        } catch (LlmException | UncheckedIOException | IllegalStateException e) {
            err.println(program + ": " + e.getMessage());
            return FAILED;
        } catch (Exception e) {
            err.println(program + ": " + e);
            return FAILED;
        }
    }

    /**
     * @param choice the chosen model
     * @param args the command line
     * @return the generation options: {@code --max-tokens}, {@code --temperature}, {@code --repeat-penalty};
     *     greedy without repetition penalty for the embedded model
     */
    static GenerationOptions generationOptions(ModelChoice choice, Args args) {
        return generationOptions(choice.source().embedded(), args);
    }

    /**
     * Checks {@code --max-tokens}, {@code --temperature} and {@code --repeat-penalty} before any model is chosen,
     * so that a bad value is reported at once, not after a model was searched for and announced.
     *
     * @param args the command line
     * @throws IllegalArgumentException naming the bad value
     */
    static void checkGenerationOptions(Args args) {
        generationOptions(false, args);
    }

    private static GenerationOptions generationOptions(boolean embedded, Args args) {
        GenerationOptions.Builder b = GenerationOptions.builder()
                .maxTokens(args.intOption("max-tokens", DEFAULT_MAX_TOKENS));
        // The demo model gives its trained answers under greedy decoding without repetition penalty.
        Double t = args.doubleOption("temperature");
        if (t != null) {
            b.temperature(t);
        } else if (embedded) {
            b.temperature(0.0);
        }
        Double penalty = args.doubleOption("repeat-penalty");
        if (penalty != null) {
            b.repeatPenalty(penalty);
        } else if (embedded) {
            b.repeatPenalty(1.0);
        }
        return b.build();
    }

    /** Prints which model was chosen, on the error stream so that standard output holds only answers. */
    static void announce(ModelChoice choice, PrintStream err) {
        err.println("Model: " + choice);
    }
}
