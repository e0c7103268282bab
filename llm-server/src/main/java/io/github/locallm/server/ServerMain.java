package io.github.locallm.server;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code llm-server} command:
 * {@code java -jar llm-server.jar --model NAME=SPEC [--model ...] [--host H] [--port P] [--api-key K] ...}.
 * Prints one startup line that says what is served where, and stops gracefully on SIGINT/SIGTERM.
 */
public final class ServerMain {
    private static final String USAGE = String.join("\n",
            "usage: java -jar llm-server.jar --model NAME=SPEC [--model NAME=SPEC ...] [options]",
            "  --model NAME=SPEC          serve the model SPEC (e.g. llamacpp:/models/m.gguf) as NAME",
            "  --host HOST                address to bind (default 127.0.0.1; 0.0.0.0 for every interface)",
            "  --port PORT                port (default 11434)",
            "  --api-key KEY              require 'Authorization: Bearer KEY' (default: $LOCALLM_API_KEY, else none)",
            "  --max-tokens N             most tokens per request, also the default (default 4096)",
            "  --max-body-bytes N         largest request body (default 8388608)",
            "  --max-prompt-chars N       longest prompt (default 1000000)",
            "  --concurrency N            generations per model at once (default 1)",
            "  --queue N                  requests waiting per model before 503 (default 16)",
            "  --cors-origin ORIGIN       allow a browser origin (repeatable; '*' for any); CORS is off by default",
            "  --allowed-host NAME        accept this Host name while bound to loopback (repeatable)",
            "  --shutdown-grace SECONDS   time running generations get at shutdown (default 10)");

    private ServerMain() {
    }

    /**
     * Runs the server until the JVM is asked to stop.
     *
     * @param args the command line
     * @throws InterruptedException when interrupted while serving
     */
    public static void main(String[] args) throws InterruptedException {
        LlmServer server;
        try {
            server = configure(args, System.getenv("LOCALLM_API_KEY")).start();
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("llm-server: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        } catch (RuntimeException e) {
            System.err.println("llm-server: could not start: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "llm-server-shutdown"));
        System.out.println(startupLine(server, args));
        System.out.flush();
        server.awaitStop();
    }

    static String startupLine(LlmServer server, String[] args) {
        List<String> served = new ArrayList<>();
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("--model")) {
                served.add(args[i + 1]);
            }
        }
        return "llm-server: serving " + String.join(", ", served) + " on " + server.baseUri()
                + " (OpenAI API " + server.baseUri() + "/v1, Ollama API " + server.baseUri() + "/api)";
    }

    static LlmServer.Builder configure(String[] args, String envKey) {
        LlmServer.Builder b = LlmServer.builder();
        if (envKey != null && !envKey.isBlank()) {
            b.apiKey(envKey);
        }
        if (args.length == 0) {
            throw new IllegalArgumentException("no model given");
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(USAGE);
                System.exit(0);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--model":
                    int eq = v.indexOf('=');
                    if (eq <= 0 || eq == v.length() - 1) {
                        throw new IllegalArgumentException("--model wants NAME=SPEC: " + v);
                    }
                    b.model(v.substring(0, eq), v.substring(eq + 1));
                    break;
                case "--host":
                    b.host(v);
                    break;
                case "--port":
                    b.port(integer(a, v));
                    break;
                case "--api-key":
                    b.apiKey(v);
                    break;
                case "--max-tokens":
                    b.maxTokens(integer(a, v));
                    break;
                case "--max-body-bytes":
                    b.maxBodyBytes(integer(a, v));
                    break;
                case "--max-prompt-chars":
                    b.maxPromptChars(integer(a, v));
                    break;
                case "--concurrency":
                    b.concurrency(integer(a, v));
                    break;
                case "--queue":
                    b.queue(integer(a, v));
                    break;
                case "--cors-origin":
                    b.corsOrigin(v);
                    break;
                case "--allowed-host":
                    b.allowedHost(v);
                    break;
                case "--shutdown-grace":
                    b.shutdownGrace(Duration.ofSeconds(integer(a, v)));
                    break;
                default:
                    throw new IllegalArgumentException("unknown option: " + a);
            }
        }
        return b;
    }

    private static int integer(String option, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants an integer: " + v, e);
        }
    }

    static void printUsage(PrintStream out) {
        out.println(USAGE);
    }
}
