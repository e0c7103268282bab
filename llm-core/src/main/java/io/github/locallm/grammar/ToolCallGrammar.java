package io.github.locallm.grammar;

import io.github.locallm.ToolSpec;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.template.PythonJson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A GBNF grammar for one tool call in a {@link ChatFormat}'s syntax: the call names one of the offered tools
 * and its arguments are valid against that tool's parameter schema ({@link JsonSchemaGrammar}'s subset).
 *
 * <p>Two uses: the whole output when a tool call is required, or lazily, from the moment the model writes
 * the format's first {@linkplain ChatFormat#toolCallTriggers() trigger} (the grammar then starts with that
 * trigger's text, so a backend feeds the trigger and what follows to the grammar).
 *
 * <p>Thread-safe: the methods are static and keep no state.
 */
public final class ToolCallGrammar {
    private ToolCallGrammar() {
    }

    /**
     * Builds the grammar.
     *
     * @param format the model's chat format
     * @param templateSource the model's chat template (Mistral writes calls in two ways; the template tells which)
     * @param tools the tools offered; not empty
     * @param wholeOutput true when the output is the call from its first character (a required call), false
     *     when the grammar applies from the format's first trigger on (then, in the Hermes and Qwen3 formats,
     *     several calls may follow one another, as a model writes parallel calls)
     * @return GBNF text with a {@code root} rule
     * @throws IllegalArgumentException if there are no tools or a parameter schema is outside the supported subset
     */
    public static String of(ChatFormat format, String templateSource, List<ToolSpec> tools, boolean wholeOutput) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(templateSource, "templateSource");
        if (Objects.requireNonNull(tools, "tools").isEmpty()) {
            throw new IllegalArgumentException("a tool-call grammar needs at least one tool");
        }
        Map<String, String> rules = new LinkedHashMap<>();
        List<String> alternatives = new ArrayList<>();
        int i = 0;
        for (ToolSpec t : tools) {
            String args;
            try {
                args = JsonSchemaGrammar.embed(t.parametersSchema(), "tool" + i, rules);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the parameters of tool '" + t.name() + "': " + e.getMessage(), e);
            }
            String[] around = around(format.name(), templateSource, t.name(), wholeOutput);
            alternatives.add(JsonSchemaGrammar.literal(around[0]) + " " + args + " "
                    + JsonSchemaGrammar.literal(around[1]));
            if (format.name().equals(ChatFormat.GENERIC)) {
                // the generic format also reads the Hermes form
                String[] hermes = around(ChatFormat.HERMES, templateSource, t.name(), wholeOutput);
                alternatives.add(JsonSchemaGrammar.literal(hermes[0]) + " " + args + " "
                        + JsonSchemaGrammar.literal(hermes[1]));
            }
            i++;
        }
        String calls = String.join(" | ", alternatives);
        if (format.name().equals(ChatFormat.LLAMA3)) {
            calls = "\"<|python_tag|>\"? (" + calls + ")";
        }
        if (!wholeOutput && (format.name().equals(ChatFormat.HERMES) || format.name().equals(ChatFormat.QWEN3))) {
            // these formats write parallel calls as one block after the other, a line break between them
            calls = "(" + calls + ") (\"\\n\"? (" + calls + "))*";
        }
        StringBuilder sb = new StringBuilder("root ::= ").append(calls).append('\n');
        rules.forEach((k, v) -> sb.append(k).append(" ::= ").append(v).append('\n'));
        return sb + JsonSchemaGrammar.BASE_RULES;
    }

    /**
     * The texts with which a call begins in the lazy grammar of {@link #of}: everything before the arguments of
     * a call of each tool (tool name included), in each form the grammar accepts. Whatever starts such a text is
     * a valid start of the grammar, which lets a backend hand the grammar the text that triggered it.
     *
     * @param format the model's chat format
     * @param templateSource the model's chat template
     * @param tools the tools offered
     * @return the openers, one or more per tool
     */
    public static List<String> openers(ChatFormat format, String templateSource, List<ToolSpec> tools) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(templateSource, "templateSource");
        List<String> out = new ArrayList<>();
        for (ToolSpec t : Objects.requireNonNull(tools, "tools")) {
            String opener = around(format.name(), templateSource, t.name(), false)[0];
            out.add(opener);
            if (format.name().equals(ChatFormat.LLAMA3)) {
                out.add("<|python_tag|>" + opener);
            }
            if (format.name().equals(ChatFormat.GENERIC)) {
                out.add(around(ChatFormat.HERMES, templateSource, t.name(), false)[0]);
            }
        }
        return out;
    }

    /** The text before and after the arguments of a call of {@code name}. */
    private static String[] around(String family, String template, String name, boolean whole) {
        String json = jsonString(name);
        return switch (family) {
            case ChatFormat.HERMES, ChatFormat.QWEN3 ->
                    new String[] {"<tool_call>\n{\"name\": " + json + ", \"arguments\": ", "}\n</tool_call>"};
            case ChatFormat.LLAMA3 -> new String[] {"{\"name\": " + json + ", \"parameters\": ", "}"};
            case ChatFormat.MISTRAL -> template.contains("[ARGS]")
                    ? new String[] {"[TOOL_CALLS]" + name + "[ARGS]", ""}
                    : new String[] {"[TOOL_CALLS][{\"name\": " + json + ", \"arguments\": ", "}]"};
            case ChatFormat.DEEPSEEK_R1 -> new String[] {"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>"
                    + name + "\n```json\n", "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"};
            case ChatFormat.FUNCTIONARY_V3_1 -> new String[] {"<function=" + name + ">", "</function>"};
            case ChatFormat.FUNCTIONARY_V3_2 -> new String[] {(whole ? "" : ">>>") + name + "\n", ""};
            case ChatFormat.COMMAND_R7B -> new String[] {"<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": "
                    + json + ", \"parameters\": ", "}]<|END_ACTION|>"};
            case ChatFormat.GPT_OSS -> new String[] {"<|channel|>commentary to=functions." + name
                    + " <|constrain|>json<|message|>", ""};
            default -> new String[] {"{\"tool_call\": {\"name\": " + json + ", \"arguments\": ", "}}"};
        };
    }

    private static String jsonString(String s) {
        return PythonJson.dumps(s);
    }
}
