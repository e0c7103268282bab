package io.github.locallm.examples;

import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.langchain4j.service.tool.ToolExecution;
import io.github.locallm.Capability;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.langchain4j.LocalLlmChatModel;
import java.io.PrintStream;
import java.util.Set;
import java.util.TreeSet;

/**
 * A LangChain4j AI Service with a {@code @Tool} method and chat memory, running on a model of this SDK in the
 * program's own process (the embedded demo model when nothing else is there).
 *
 * <pre>{@code
 * ChatModel model = LocalLlmChatModel.of(llm);
 * Agent agent = AiServices.builder(Agent.class).chatModel(model)
 *         .chatMemory(MessageWindowChatMemory.withMaxMessages(20)).tools(new Weather()).build();
 * Result<String> answer = agent.chat("What's the weather in Paris?");
 * }</pre>
 *
 * <p>Run with {@code mvn -B -q -DskipTests -Prun package
 * -Dexec.mainClass=io.github.locallm.examples.LangChain4jAgent -Dexec.args="--require-tool"}. {@code --question}
 * asks something else; {@code --require-tool} asks for {@code ToolChoice.REQUIRED} on the user's turn (which the
 * in-process backends force with a grammar) and {@code ToolChoice.NONE} once the tool's result is in, so that a
 * small model that would not call a tool on its own still shows the loop, and answers in text.
 * The weather is the same made-up function as in {@link ToolCalling}.
 */
public final class LangChain4jAgent {

    /** What the AI Service offers: one question, one answer (tools run in between). */
    interface Agent {
        Result<String> chat(String question);
    }

    /** The tool LangChain4j calls when the model asks for it. */
    static final class Weather {
        @Tool("Get the current weather in a city")
        String getWeather(@P("the city, e.g. Paris") String city) throws java.io.IOException {
            return ToolCalling.weather(new io.github.locallm.ToolCall("", "get_weather",
                    new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("city", city).toString()));
        }
    }

    private static final String HELP = "Usage: LangChain4jAgent [options]\n"
            + "A LangChain4j AI Service with a weather @Tool and chat memory on a LocalLLM model.\n"
            + Programs.MODEL_HELP
            + "  --question TEXT     what to ask (default: " + ToolCalling.QUESTION + ")\n"
            + "  --require-tool      ToolChoice.REQUIRED on the user's turn (in-process backends)\n";

    private LangChain4jAgent() {
    }

    /**
     * Runs the program on the process's streams and exits with a non-zero code on failure.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        Logs.configure();
        int code = run(args, System.out, System.err, Environment.system());
        if (code != Programs.OK) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("langchain4j-agent", err, () -> {
            Set<String> withValue = new TreeSet<>(Programs.MODEL_OPTIONS);
            withValue.add("question");
            Args a = Args.parse(args, withValue, Set.of("help", "require-tool"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            Programs.checkGenerationOptions(a);
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                ModelInfo info = llm.info();
                if (!info.supports(Capability.TOOLS)) {
                    out.println("Tool calling: not available. The " + info.backend() + " model " + info.model()
                            + " cannot call tools; it has " + new TreeSet<>(info.capabilities()) + ".");
                    return Programs.OK;
                }
                ChatModel model = LocalLlmChatModel.builder(llm)
                        .defaultOptions(Programs.generationOptions(choice, a)).build();
                AiServices<Agent> builder = AiServices.builder(Agent.class).chatModel(model)
                        .chatMemory(MessageWindowChatMemory.withMaxMessages(20)).tools(new Weather());
                if (a.flag("require-tool")) {
                    // the user's question must be answered with a call; once its result is in, the answer is text
                    builder.chatRequestTransformer(r -> ChatRequest.builder().messages(r.messages())
                            .parameters(r.parameters().overrideWith(ChatRequestParameters.builder()
                                    .toolChoice(r.messages().get(r.messages().size() - 1)
                                            instanceof dev.langchain4j.data.message.UserMessage
                                            ? ToolChoice.REQUIRED : ToolChoice.NONE).build()))
                            .build());
                }
                String question = a.option("question") != null ? a.option("question") : ToolCalling.QUESTION;
                out.println("User: " + question);
                Result<String> result = builder.build().chat(question);
                for (ToolExecution e : result.toolExecutions()) {
                    out.println("Tool " + e.request().name() + e.request().arguments() + " (id " + e.request().id()
                            + ") returned " + e.result());
                }
                out.println("Assistant: " + result.content());
                out.println("(" + result.finishReason() + ", " + result.toolExecutions().size() + " tool call"
                        + (result.toolExecutions().size() == 1 ? "" : "s") + ")");
            }
            return Programs.OK;
        });
    }
}
