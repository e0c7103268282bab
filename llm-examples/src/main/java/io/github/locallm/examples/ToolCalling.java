package io.github.locallm.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ChatSession;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import io.github.locallm.ToolSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * A model calls a weather tool and answers with its result: the loop an agent runs, on any model that can
 * call tools (a GGUF or a checkpoint in-process, or Ollama).
 *
 * <pre>{@code
 * ToolSpec weather = new ToolSpec("get_weather", "Current weather of a city", schema);
 * try (ChatSession chat = llm.newChatSession(null, GenerationOptions.builder().tool(weather).build())) {
 *     Completion c = chat.send("What's the weather in Paris?");
 *     while (c.finishReason() == FinishReason.TOOL_CALLS) {
 *         List<ChatMessage> results = new ArrayList<>();
 *         for (ToolCall call : c.toolCalls()) {
 *             results.add(ChatMessage.toolResult(call, runTool(call)));
 *         }
 *         c = chat.sendToolResults(results);
 *     }
 *     System.out.println(c.text());
 * }
 * }</pre>
 *
 * <p>Run with
 * {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.ToolCalling}
 * ({@code --question TEXT} asks something else; {@code --require-tool} makes the first reply a tool call, with
 * {@code ToolChoice.REQUIRED}, which the in-process backends force with a grammar: a small model that would not call on its own still
 * shows the loop). The weather is made up from the city's name, so that runs are repeatable. Stateless; each
 * run opens and closes its model.
 */
public final class ToolCalling {
    /** The question asked by default. */
    public static final String QUESTION = "What's the weather in Paris?";
    /** The weather tool offered to the model. */
    public static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the current weather in a city",
            "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": "
                    + "\"The city, e.g. Paris\", \"maxLength\": 24}, \"unit\": {\"type\": \"string\", \"enum\": "
                    + "[\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"]}");
    /** Most tool rounds before the program stops the loop. */
    static final int MAX_ROUNDS = 4;

    private static final String HELP = "Usage: ToolCalling [options]\n"
            + "Lets the model call a weather tool and answer with the result.\n"
            + Programs.MODEL_HELP
            + "  --question TEXT     what to ask (default: " + QUESTION + ")\n"
            + "  --require-tool      make the first reply a tool call (ToolChoice.REQUIRED)\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolCalling() {
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
     * @param out where the conversation goes
     * @param err where notes and errors go
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Environment.system());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("tool-calling", err, () -> {
            Set<String> withValue = new TreeSet<>(Programs.MODEL_OPTIONS);
            withValue.add("question");
            Args a = Args.parse(args, withValue, Set.of("help", "require-tool"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                ModelInfo info = llm.info();
                if (!info.supports(Capability.TOOLS)) {
                    out.println("Tool calling: not available. The " + info.backend() + " model " + info.model()
                            + " cannot call tools (it lacks the TOOLS capability; it has "
                            + new TreeSet<>(info.capabilities()) + "). In-process models need a chat template.");
                    return Programs.OK;
                }
                String question = a.option("question") != null ? a.option("question") : QUESTION;
                GenerationOptions base = Programs.generationOptions(choice, a).toBuilder().tool(WEATHER).build();
                loop(llm, question, base, a.flag("require-tool"), out);
            }
            return Programs.OK;
        });
    }

    private static void loop(LocalLlm llm, String question, GenerationOptions base, boolean requireTool,
                             PrintStream out) throws IOException {
        String format = llm.info().details().get("chat_format");
        out.println("User: " + question + (format != null ? "   [chat format: " + format + "]" : ""));
        GenerationOptions first = requireTool ? base.toBuilder().toolChoice(ToolChoice.REQUIRED).build() : base;
        try (ChatSession chat = llm.newChatSession(null, base)) {
            Completion c = chat.send(question, first);
            int rounds = 0;
            while (c.finishReason() == FinishReason.TOOL_CALLS && rounds++ < MAX_ROUNDS) {
                List<ChatMessage> results = new ArrayList<>();
                for (ToolCall call : c.toolCalls()) {
                    String result = weather(call);
                    out.println("Model calls " + call.name() + call.argumentsJson() + " (id " + call.id() + ")");
                    out.println("Tool result: " + result);
                    results.add(ChatMessage.toolResult(call, result));
                }
                c = chat.sendToolResults(results);
            }
            if (!c.thinking().isEmpty()) {
                out.println("Model thought: " + c.thinking().strip());
            }
            out.println("Assistant: " + c.text().strip());
            out.println("(" + c.finishReason() + ", " + chat.history().size() + " messages in the history)");
        }
    }

    /** The made-up weather tool: repeatable values from the city's name. */
    static String weather(ToolCall call) throws IOException {
        JsonNode args = JSON.readTree(call.argumentsJson());
        if (!call.name().equals(WEATHER.name()) || !args.path("city").isTextual()) {
            return "{\"error\": \"unknown tool or missing city\"}";
        }
        String city = args.path("city").asText();
        int h = Math.floorMod(city.toLowerCase(Locale.ROOT).hashCode(), 1000);
        int celsius = 5 + h % 25;
        boolean fahrenheit = "fahrenheit".equals(args.path("unit").asText());
        String sky = List.of("clear", "cloudy", "rainy", "windy").get(h % 4);
        return "{\"city\": " + JSON.writeValueAsString(city) + ", \"temperature\": "
                + (fahrenheit ? celsius * 9 / 5 + 32 : celsius) + ", \"unit\": \""
                + (fahrenheit ? "fahrenheit" : "celsius") + "\", \"sky\": \"" + sky + "\"}";
    }
}
