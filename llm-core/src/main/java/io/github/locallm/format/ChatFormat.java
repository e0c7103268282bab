package io.github.locallm.format;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.PythonJson;
import io.github.locallm.template.RenderOptions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How one model family writes tools, tool calls, tool results and reasoning: rendered through the model's
 * own chat template, and parsed back out of the text the model generates.
 *
 * <p>A backend that runs a model in-process renders the conversation with
 * {@link #render(ChatTemplate, List, List, RenderOptions, Boolean)} (tools are passed to the template as
 * {@code transformers} passes them: a {@code tools} list of JSON-schema function descriptions; the
 * {@code think} option becomes the template's {@code enable_thinking} variable where the family has one),
 * then feeds the generated text to an {@link OutputParser} from {@link #newParser(String, OutputParser.Listener)},
 * which separates answer text, reasoning and tool calls while streaming.
 *
 * <pre>{@code
 * ChatFormat format = ChatFormat.detect(template.source());
 * String prompt = format.render(template, messages, tools, RenderOptions.builder().addGenerationPrompt(true).build(), null);
 * OutputParser parser = format.newParser(prompt, listener);
 * // for each generated piece: parser.accept(piece);
 * ParsedOutput out = parser.finish();
 * }</pre>
 *
 * <p>Families: {@value #HERMES} ({@code <tool_call>} JSON: Hermes 2/3, Qwen2.5), {@value #QWEN3} (the same
 * with {@code <think>} reasoning and {@code enable_thinking}), {@value #LLAMA3} (Llama 3.1-3.3: a JSON
 * object or {@code <|python_tag|>}), {@value #MISTRAL} ({@code [TOOL_CALLS]}, {@code [THINK]}),
 * {@value #DEEPSEEK_R1} (DeepSeek R1 and V3 tool-call tokens, {@code <think>}), {@value #FUNCTIONARY_V3_1}
 * ({@code <function=name>}), {@value #FUNCTIONARY_V3_2} ({@code >>>recipient}), {@value #COMMAND_R7B}
 * ({@code <|START_ACTION|>}, {@code <|START_THINKING|>}), {@value #GPT_OSS} (harmony channels: analysis is
 * reasoning, commentary to {@code functions.x} a tool call) and {@value #GENERIC} (any template: a JSON
 * tool-call object, or {@code <tool_call>}).
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ChatFormat {
    /** Hermes 2/3 and Qwen2.5: {@code <tool_call>{"name": ..., "arguments": {...}}</tool_call>}. */
    public static final String HERMES = "hermes";
    /** Qwen3 and QwQ: Hermes tool calls with {@code <think>} reasoning and the {@code enable_thinking} variable. */
    public static final String QWEN3 = "qwen3";
    /** Llama 3.1 to 3.3: {@code {"name": ..., "parameters": {...}}} or {@code <|python_tag|>}. */
    public static final String LLAMA3 = "llama3";
    /** Mistral and Mixtral: {@code [TOOL_CALLS]} followed by calls; {@code [THINK]} reasoning. */
    public static final String MISTRAL = "mistral";
    /** DeepSeek R1 and V3: tool-call tokens with a JSON block; {@code <think>} reasoning. */
    public static final String DEEPSEEK_R1 = "deepseek_r1";
    /** functionary v3.1: {@code <function=name>{...}</function>}. */
    public static final String FUNCTIONARY_V3_1 = "functionary_v3_1";
    /** functionary v3.2: {@code >>>recipient\ncontent} segments. */
    public static final String FUNCTIONARY_V3_2 = "functionary_v3_2";
    /** Command R7B: {@code <|START_ACTION|>} JSON and {@code <|START_THINKING|>} reasoning. */
    public static final String COMMAND_R7B = "command_r7b";
    /** gpt-oss (harmony): the analysis channel is reasoning, commentary to {@code functions.name} a call. */
    public static final String GPT_OSS = "gpt_oss";
    /** Any other template: a JSON tool-call object or {@code <tool_call>}, with tools described in a system message when the template has no place for them. */
    public static final String GENERIC = "generic";

    private static final List<String> NAMES = List.of(HERMES, QWEN3, LLAMA3, MISTRAL, DEEPSEEK_R1, FUNCTIONARY_V3_1,
            FUNCTIONARY_V3_2, COMMAND_R7B, GPT_OSS, GENERIC);

    private final String name;
    private final OutputParser.Syntax syntax;

    private ChatFormat(String name) {
        this.name = name;
        this.syntax = Formats.syntax(name);
    }

    /** @return the names of the supported families */
    public static List<String> names() {
        return NAMES;
    }

    /**
     * Returns a family by name.
     *
     * @param name one of {@link #names()}, case-insensitive
     * @return the family
     * @throws IllegalArgumentException if there is no such family (the message lists them)
     */
    public static ChatFormat named(String name) {
        Objects.requireNonNull(name, "name");
        String n = name.strip().toLowerCase(Locale.ROOT).replace('-', '_').replace('.', '_');
        if (!NAMES.contains(n)) {
            throw new IllegalArgumentException("unknown chat format '" + name + "'; known: " + NAMES);
        }
        return new ChatFormat(n);
    }

    /**
     * Finds the family a chat template belongs to from the markup it writes.
     *
     * @param templateSource the chat template's text
     * @return the family; {@value #GENERIC} when none matches
     */
    public static ChatFormat detect(String templateSource) {
        String t = Objects.requireNonNull(templateSource, "templateSource");
        String n;
        if (t.contains("<|channel|>") && t.contains("<|message|>")) {
            n = GPT_OSS;
        } else if (t.contains("<|START_ACTION|>")) {
            n = COMMAND_R7B;
        } else if (t.contains(">>>all") || t.contains(">>>' + tool_call")) {
            n = FUNCTIONARY_V3_2;
        } else if (t.contains("<function=")) {
            n = FUNCTIONARY_V3_1;
        } else if (t.contains("tool▁calls▁begin") || t.contains("tool▁call▁begin")) {
            n = DEEPSEEK_R1;
        } else if (t.contains("[TOOL_CALLS]")) {
            n = MISTRAL;
        } else if (t.contains("<tool_call>")) {
            n = t.contains("<think>") || t.contains("enable_thinking") ? QWEN3 : HERMES;
        } else if (t.contains("<|python_tag|>") || t.contains("<|start_header_id|>") && t.contains("tools")) {
            n = LLAMA3;
        } else {
            n = GENERIC;
        }
        return new ChatFormat(n);
    }

    /** @return the family's name, one of {@link #names()} */
    public String name() {
        return name;
    }

    /**
     * The texts of this family's markup: what opens and closes reasoning, tool calls and channels, and the
     * separators inside a call. Real vocabularies often hold them as special (control) tokens, which a tokenizer
     * leaves out of decoded text by default; a backend writes the control tokens with these texts as text while
     * an {@link OutputParser} reads the output (the parser keeps the markup away from the answer).
     *
     * @return the markup texts, none blank
     */
    public List<String> markup() {
        return Formats.markup(name);
    }

    /**
     * The strings with which this family's tool calls begin, for a grammar that starts constraining the output
     * when one of them appears (empty for families whose tool calls are the whole output).
     *
     * @return the opening strings
     */
    public List<String> toolCallTriggers() {
        return switch (name) {
            case HERMES, QWEN3 -> List.of("<tool_call>");
            case LLAMA3 -> List.of("<|python_tag|>", "{\"name\"");
            case MISTRAL -> List.of("[TOOL_CALLS]");
            case DEEPSEEK_R1 -> List.of("<｜tool▁calls▁begin｜>");
            case FUNCTIONARY_V3_1 -> List.of("<function=");
            case FUNCTIONARY_V3_2 -> List.of(">>>");
            case COMMAND_R7B -> List.of("<|START_ACTION|>");
            case GPT_OSS -> List.of("to=functions.");
            default -> List.of("<tool_call>", "{\"tool_call\"");
        };
    }

    /**
     * Builds the template variables for a conversation in this family: {@link ChatTemplate#contextOf} with the
     * tools, plus what the family needs ({@code enable_thinking} from {@code think} for templates that read it,
     * tool-call arguments as JSON text for functionary v3.2, and, for a template with no place for tools, the
     * tools and calls written into the messages in the {@value #GENERIC} format).
     *
     * @param templateSource the chat template's text (to see which variables it reads)
     * @param messages the conversation
     * @param tools the tools offered to the model; may be empty
     * @param options generation prompt, special tokens and extra variables
     * @param think whether the model should reason first, or {@code null} for the template's default
     * @return a new mutable map of template variables
     */
    public Map<String, Object> context(String templateSource, List<ChatMessage> messages, List<ToolSpec> tools,
                                       RenderOptions options, Boolean think) {
        Objects.requireNonNull(templateSource, "templateSource");
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(tools, "tools");
        Objects.requireNonNull(options, "options");
        boolean templateTakesTools = templateSource.contains("tools");
        List<ChatMessage> msgs = messages;
        RenderOptions.Builder b = options.toBuilder();
        if (name.equals(GENERIC) && !templateTakesTools) {
            msgs = genericMessages(messages, tools, !templateSource.contains("System role not supported")
                    && templateSource.contains("system"));
            b.tools(List.of());
        } else {
            b.tools(tools);
        }
        if (think != null && templateSource.contains("enable_thinking")
                && !options.variables().containsKey("enable_thinking")) {
            b.variable("enable_thinking", think);
        }
        Map<String, Object> ctx = ChatTemplate.contextOf(msgs, b.build());
        if (name.equals(FUNCTIONARY_V3_2)) {
            argumentsAsText(ctx);
        }
        return ctx;
    }

    /**
     * The render options for a generation in this family: the base options with the generation prompt, the
     * tools, and {@code enable_thinking} from {@code think} when the template reads it. A renderer given these
     * options renders through {@link #render(ChatTemplate, List, List, RenderOptions, Boolean)} with
     * {@code options.tools()} and a {@code null} think.
     *
     * @param templateSource the chat template's text
     * @param base special tokens and variables
     * @param tools the tools offered to the model; may be empty
     * @param think whether the model should reason first, or {@code null} for the template's default
     * @return the options
     */
    public RenderOptions renderOptions(String templateSource, RenderOptions base, List<ToolSpec> tools,
                                       Boolean think) {
        RenderOptions.Builder b = base.toBuilder().addGenerationPrompt(true).tools(tools);
        if (think != null && templateSource.contains("enable_thinking")
                && !base.variables().containsKey("enable_thinking")) {
            b.variable("enable_thinking", think);
        }
        return b.build();
    }

    /**
     * Renders a conversation through the model's template in this family's way.
     *
     * @param template the model's chat template
     * @param messages the conversation
     * @param tools the tools offered to the model; may be empty
     * @param options generation prompt, special tokens and extra variables
     * @param think whether the model should reason first, or {@code null} for the template's default
     * @return the prompt text
     * @throws io.github.locallm.template.TemplateException if the template rejects the conversation
     */
    public String render(ChatTemplate template, List<ChatMessage> messages, List<ToolSpec> tools,
                         RenderOptions options, Boolean think) {
        return template.render(context(template.source(), messages, tools, options, think));
    }

    /**
     * Starts parsing one generation.
     *
     * @param prompt the rendered prompt the generation continues (its end tells whether the output starts
     *     inside a reasoning block, a harmony header or a functionary recipient)
     * @param listener receives answer text and reasoning as they are recognised
     * @return a new parser
     */
    public OutputParser newParser(String prompt, OutputParser.Listener listener) {
        return newParser(prompt, listener, true);
    }

    /**
     * Whether a generation needs parsing at all: when tools are offered, or the template writes reasoning
     * markup. Otherwise the output is plain answer text and passes through unchanged.
     *
     * @param templateSource the chat template's text
     * @param toolsOffered whether the request offers tools
     * @return true when the output should go through an {@link OutputParser}
     */
    public boolean needsParsing(String templateSource, boolean toolsOffered) {
        if (toolsOffered) {
            return true;
        }
        for (OutputParser.Region r : syntax.regions()) {
            if (r.kind() == OutputParser.Kind.THINKING && templateSource.contains(r.open())) {
                return true;
            }
        }
        return name.equals(GPT_OSS);
    }

    /**
     * Starts parsing one generation.
     *
     * @param prompt the rendered prompt the generation continues
     * @param listener receives answer text and reasoning as they are recognised
     * @param toolsOffered whether the request offered tools; without tools no tool call is read (markup that
     *     looks like one stays text); with tools a call to any name is read (see
     *     {@link #newParser(String, OutputParser.Listener, Collection)} to read only offered ones)
     * @return a new parser
     */
    public OutputParser newParser(String prompt, OutputParser.Listener listener, boolean toolsOffered) {
        return newParser(prompt, listener, toolsOffered, null);
    }

    /**
     * Starts parsing one generation of a request that offered these tools: only a call that names one of them
     * is read as a tool call; a call to any other name (and, without tools, any call) stays answer text, markup
     * included.
     *
     * @param prompt the rendered prompt the generation continues
     * @param listener receives answer text and reasoning as they are recognised
     * @param offeredTools the names of the tools the request offered, possibly none
     * @return a new parser
     */
    public OutputParser newParser(String prompt, OutputParser.Listener listener, Collection<String> offeredTools) {
        Objects.requireNonNull(offeredTools, "offeredTools");
        return newParser(prompt, listener, !offeredTools.isEmpty(), Set.copyOf(offeredTools));
    }

    private OutputParser newParser(String prompt, OutputParser.Listener listener, boolean toolsOffered,
                                   Set<String> offered) {
        Objects.requireNonNull(prompt, "prompt");
        String tail = prompt.stripTrailing();
        OutputParser.Region initial = null;
        if (name.equals(GPT_OSS) && tail.endsWith("<|start|>assistant")) {
            initial = Formats.harmonyHeader("");
        } else if (name.equals(FUNCTIONARY_V3_2) && tail.endsWith(">>>")) {
            initial = Formats.functionaryRecipient();
        } else {
            for (OutputParser.Region r : syntax.regions()) {
                if (r.kind() == OutputParser.Kind.THINKING && tail.endsWith(r.open())) {
                    initial = r;
                }
            }
        }
        OutputParser.Syntax used = syntax;
        if (!toolsOffered) {
            used = new OutputParser.Syntax(syntax.regions().stream()
                    .filter(r -> r.kind() != OutputParser.Kind.TOOL).toList(), null);
        }
        return new OutputParser(used, initial, listener, offered);
    }

    /**
     * Parses a complete output.
     *
     * @param prompt the rendered prompt the output continues
     * @param output the generated text
     * @return the answer, reasoning and tool calls
     */
    public ParsedOutput parse(String prompt, String output) {
        OutputParser p = newParser(prompt, OutputParser.Listener.NONE);
        p.accept(output);
        return p.finish();
    }

    @SuppressWarnings("unchecked")
    private static void argumentsAsText(Map<String, Object> ctx) {
        for (Object m : (List<Object>) ctx.get("messages")) {
            Object calls = ((Map<String, Object>) m).get("tool_calls");
            if (calls instanceof List<?> l) {
                for (Object c : l) {
                    Map<String, Object> fn = (Map<String, Object>) ((Map<String, Object>) c).get("function");
                    Object args = fn.get("arguments");
                    if (!(args instanceof String)) {
                        fn.put("arguments", PythonJson.dumps(args));
                    }
                }
            }
        }
    }

    /**
     * For a template without tool support: tools described in a system message, calls written as the JSON the
     * model is asked to produce, results as user messages naming the call.
     */
    private static List<ChatMessage> genericMessages(List<ChatMessage> messages, List<ToolSpec> tools,
                                                     boolean systemRole) {
        List<ChatMessage> out = new ArrayList<>();
        if (!tools.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            sb.append("You can call these tools:\n");
            for (ToolSpec t : tools) {
                Map<String, Object> fn = new LinkedHashMap<>();
                fn.put("name", t.name());
                fn.put("description", t.description());
                fn.put("parameters", PythonJson.loads(t.parametersSchema()));
                sb.append(PythonJson.dumps(fn)).append('\n');
            }
            sb.append("To call a tool, reply with only a JSON object of the form "
                    + "{\"tool_call\": {\"name\": <tool name>, \"arguments\": {<arguments>}}}. "
                    + "Otherwise reply with your answer as plain text.");
            boolean merged = false;
            if (!messages.isEmpty() && messages.get(0).role() == ChatMessage.Role.SYSTEM) {
                sb.insert(0, messages.get(0).content() + "\n\n");
                merged = true;
            }
            messages = merged ? messages.subList(1, messages.size()) : messages;
            if (systemRole) {
                out.add(ChatMessage.system(sb.toString()));
            } else if (!messages.isEmpty() && messages.get(0).role() == ChatMessage.Role.USER) {
                // A template that refuses a system message gets the description at the top of the first user turn.
                out.add(ChatMessage.user(sb + "\n\n" + messages.get(0).content()));
                messages = messages.subList(1, messages.size());
            } else {
                out.add(ChatMessage.user(sb.toString()));
            }
        }
        for (ChatMessage m : messages) {
            if (m.role() == ChatMessage.Role.ASSISTANT && !m.toolCalls().isEmpty()) {
                StringBuilder sb = new StringBuilder(m.content());
                for (ToolCall c : m.toolCalls()) {
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("name", c.name());
                    call.put("arguments", PythonJson.loads(c.argumentsJson()));
                    if (sb.length() > 0) {
                        sb.append('\n');
                    }
                    sb.append(PythonJson.dumps(Map.of("tool_call", call)));
                }
                out.add(ChatMessage.assistant(sb.toString()));
            } else if (m.role() == ChatMessage.Role.TOOL) {
                out.add(ChatMessage.user("Result of tool " + (m.name().isEmpty() ? "call" : m.name())
                        + (m.toolCallId().isEmpty() ? "" : " (call " + m.toolCallId() + ")") + ": " + m.content()));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "ChatFormat[" + name + "]";
    }
}
