package io.github.locallm.examples;

import io.github.locallm.ChatMessage;
import io.github.locallm.ChatSession;
import io.github.locallm.Completion;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.StreamHandler;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.terminal.impl.DumbTerminal;

/**
 * The local Python assistant: a chat that keeps its history, answers in a stream, and runs on any backend.
 *
 * <pre>{@code
 * mvn -q -pl llm-examples exec:java
 * mvn -q -pl llm-examples exec:java -Dexec.args="--model ollama:qwen2.5:0.5b --system 'Tu réponds en une phrase.'"
 * echo "Explique-moi Python en une phrase" | mvn -q -pl llm-examples exec:java
 * }</pre>
 *
 * <p>At a terminal it prompts with {@code >}, with line editing and a history of the lines typed (JLine), and
 * understands {@code /reset} (forget the conversation, keep
 * the system prompt), {@code /model} (what model this is), {@code /help} and {@code /exit}. When standard
 * input is not a terminal it reads one message per line, prints each answer on standard output and exits at
 * the end of input; the commands work there too. The history is trimmed to the model's context by
 * {@link ChatSession}: the oldest turns go first, the system prompt stays.
 *
 * <p>Options: {@code --model SPEC}, {@code --system TEXT} (default {@value #DEFAULT_SYSTEM_PROMPT}),
 * {@code --max-tokens N}, {@code --temperature T}. Not thread-safe: one run at a time per set of streams.
 */
public final class Assistant {
    /** The system prompt unless {@code --system} gives another. */
    public static final String DEFAULT_SYSTEM_PROMPT = "Tu es un assistant Python utile.";

    private static final String NAME = "assistant";
    private static final String HELP = "Usage: Assistant [options]\n"
            + "Chat with a local model; reads one message per line when standard input is not a terminal.\n"
            + Programs.MODEL_HELP
            + "  --system TEXT       the system prompt (default: " + DEFAULT_SYSTEM_PROMPT + ")\n"
            + "Commands: /reset (forget the conversation), /model (model info), /help, /exit\n";

    private final ModelChoice choice;
    private final LocalLlm llm;
    private final ChatSession session;
    private final PrintStream out;
    private final PrintStream err;

    private Assistant(ModelChoice choice, LocalLlm llm, ChatSession session, PrintStream out, PrintStream err) {
        this.choice = choice;
        this.llm = llm;
        this.session = session;
        this.out = out;
        this.err = err;
    }

    /**
     * Runs the assistant on the process's streams and exits with a non-zero code on failure.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        Logs.configure();
        int code = run(args, System.in, System.out, System.err);
        if (code != Programs.OK) {
            System.exit(code);
        }
    }

    /**
     * Runs the assistant on the given streams, interactive when this process has a terminal.
     *
     * @param args the command line
     * @param in where the messages come from
     * @param out where the answers go
     * @param err where notes and errors go
     * @return the exit code: 0, 1 when a model could not be opened or an answer failed, 2 for a bad command line
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        return run(args, in, out, err, Environment.system());
    }

    static int run(String[] args, InputStream in, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard(NAME, err, () -> {
            Set<String> withValue = new TreeSet<>(Programs.MODEL_OPTIONS);
            withValue.add("system");
            Args a = Args.parse(args, withValue, Set.of("help"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            if (!a.positional().isEmpty()) {
                throw new IllegalArgumentException("unexpected argument " + a.positional().get(0)
                        + "; type your messages after the program starts, or pipe them in");
            }
            String system = a.option("system") != null ? a.option("system") : DEFAULT_SYSTEM_PROMPT;
            Programs.checkGenerationOptions(a);
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                GenerationOptions options = fitToContext(Programs.generationOptions(choice, a), llm.info());
                try (ChatSession session = llm.newChatSession(system.isBlank() ? null : system, options)) {
                    Assistant assistant = new Assistant(choice, llm, session, out, err);
                    if (!env.interactive()) {
                        return assistant.batch(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
                    }
                    try (Terminal terminal = terminal(in, out)) {
                        LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("locallm-assistant")
                                .variable(LineReader.HISTORY_SIZE, 500).build();
                        return assistant.interactive(reader);
                    }
                }
            }
        });
    }

    // The reply room of a chat session is its maxTokens: keep half of the context for the conversation.
    private static GenerationOptions fitToContext(GenerationOptions options, ModelInfo info) {
        int most = Math.max(1, info.contextLength() / 2);
        if (options.maxTokens().orElse(most) > most) {
            return options.toBuilder().maxTokens(most).build();
        }
        return options;
    }

    /**
     * The process's terminal, or for other streams (a test's) a plain terminal over them. JLine gives line editing
     * and a history (arrows, Ctrl-R) to the prompt.
     */
    private static Terminal terminal(InputStream in, PrintStream out) throws IOException {
        if (in == System.in && out == System.out) {
            return TerminalBuilder.builder().system(true).dumb(true).build();
        }
        return new DumbTerminal("locallm-assistant", Terminal.TYPE_DUMB, in, out, StandardCharsets.UTF_8);
    }

    private int interactive(LineReader reader) {
        out.println("Local Python assistant on " + llm.info().backend() + " model " + llm.info().model() + ".");
        out.println("Type a question (arrows edit and recall earlier lines); /reset forgets the conversation, "
                + "/model describes the model, /exit quits.");
        while (true) {
            String line;
            try {
                line = reader.readLine("> ");
            } catch (UserInterruptException e) {
                continue;   // Ctrl-C at the prompt drops the line being typed
            } catch (EndOfFileException e) {
                out.println();
                return Programs.OK;
            }
            if (!handle(line.strip())) {
                return Programs.OK;
            }
        }
    }

    private int batch(BufferedReader reader) throws IOException {
        err.println("Reading one message per line from standard input.");
        int failures = 0;
        int answers = 0;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            String text = line.strip();
            if (text.isEmpty() || text.startsWith("/")) {
                if (!handle(text)) {
                    break;
                }
                continue;
            }
            if (answer(text)) {
                answers++;
            } else {
                failures++;
            }
        }
        if (failures > 0) {
            err.println(failures + " of " + (answers + failures) + " messages got no answer.");
            return Programs.FAILED;
        }
        return Programs.OK;
    }

    /** @return false when the user asked to leave */
    private boolean handle(String text) {
        if (text.isEmpty()) {
            return true;
        }
        switch (text) {
            case "/exit":
            case "/quit":
                return false;
            case "/reset":
                session.reset();
                out.println("Conversation reset; the system prompt stays.");
                return true;
            case "/model":
                describeModel();
                return true;
            case "/help":
                out.println("Commands: /reset (forget the conversation), /model (model info), /help, /exit.");
                return true;
            default:
                if (text.startsWith("/")) {
                    err.println("Unknown command " + text + "; the commands are /reset, /model, /help and /exit.");
                    return true;
                }
                answer(text);
                return true;
        }
    }

    private void describeModel() {
        ModelInfo info = llm.info();
        List<ChatMessage> history = session.history();
        out.println("Model: " + choice.display() + " (" + choice.source().label() + ")");
        out.println("  backend: " + info.backend());
        out.println("  model: " + info.model());
        out.println("  context: " + info.contextLength() + " tokens, " + session.replyRoom() + " kept for each answer");
        out.println("  capabilities: " + new TreeSet<>(info.capabilities()));
        new java.util.TreeMap<>(info.details()).forEach((k, v) -> out.println("  " + k + ": " + v));
        out.println("  system prompt: " + session.systemPrompt().orElse("(none)"));
        out.println("  history: " + history.size() + " messages, about " + session.countTokens(history) + " tokens");
    }

    /** Streams the answer to one message; @return whether an answer came */
    private boolean answer(String text) {
        CompletableFuture<Completion> done = new CompletableFuture<>();
        try {
            session.stream(text, new StreamHandler() {
                @Override
                public void onToken(String piece) {
                    out.print(piece);
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
            Completion c = done.get();
            out.println();
            if (c.text().isBlank()) {
                err.println("(the model ended its answer without any text)");
                return false;
            }
            if (c.finishReason() == FinishReason.LENGTH) {
                err.println("(answer cut at " + c.usage().completionTokens() + " tokens; raise --max-tokens for more)");
            }
            return true;
        } catch (ContextOverflowException e) {
            err.println(e.getMessage());
            return false;
        } catch (ExecutionException e) {
            out.println();
            Throwable cause = e.getCause();
            err.println("The model failed to answer: " + (cause instanceof LlmException ? cause.getMessage() : cause));
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("Interrupted.");
            return false;
        }
    }
}
