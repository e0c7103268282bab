package io.github.locallm.template;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A parsed Hugging Face chat template, rendered exactly as {@code transformers} renders it.
 *
 * <p>Checkpoints ship their prompt format as a Jinja2 template ({@code chat_template} in
 * {@code tokenizer_config.json}, {@code tokenizer.chat_template} in GGUF files). This class
 * parses such a template once and renders it any number of times, producing the same text as
 * {@code apply_chat_template}: Jinja2's sandboxed environment with {@code trim_blocks} and
 * {@code lstrip_blocks}, {@code break}/{@code continue}, and the {@code tojson} filter and
 * {@code raise_exception}/{@code strftime_now} functions that {@code transformers} adds.
 *
 * <pre>{@code
 * ChatTemplate template = ChatTemplate.parse(tokenizerConfigChatTemplate);
 * String prompt = template.render(
 *         List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi!")),
 *         RenderOptions.builder().addGenerationPrompt(true).bosToken("<s>").build());
 * }</pre>
 *
 * <p>Templates are untrusted input. A template sees only plain values (strings, numbers,
 * booleans, {@code None}, lists, dicts) and the Python methods of strings, lists and dicts
 * that read them; it cannot reach Java objects, classes or resources, cannot include or import
 * other templates, cannot modify the values passed in, and text inside messages is printed,
 * never rendered. Output size, loop iterations and macro recursion are bounded by
 * {@link TemplateLimits}; exceeding them, like any rendering error, raises a
 * {@link TemplateException}.
 *
 * <p>{@code |safe} and {@code |escape} return a markup string with Jinja2's {@code Markup} semantics:
 * a plain string added to it ({@code +}, {@code %}, {@code format}, {@code join}) is HTML-escaped, and
 * inside a list it prints as {@code Markup('...')} (the functionary v3.1 template relies on this). As in
 * Jinja2, a filter or test name the engine does not know fails the parse, except inside an {@code if}
 * statement or conditional expression, where it fails only if it is evaluated.
 *
 * <p>Known differences from Jinja2: Jinja2 folds constant expressions at compile time, so a few invalid
 * constant expressions (such as slicing {@code false}) that it turns into undefined values fail here;
 * {@code str.format} takes plain fields without format specifications; the filters {@code striptags},
 * {@code wordwrap}, {@code urlencode}, {@code xmlattr}, {@code pprint}, {@code filesizeformat} and
 * {@code random}, the globals {@code cycler} and {@code lipsum}, and the tags {@code block},
 * {@code extends}, {@code include}, {@code import} and {@code autoescape} are not available;
 * integers are 64-bit (an overflow is an error, not a big integer) and a negative number to a
 * fractional power is an error, not a complex number; error messages other than the template's
 * own {@code raise_exception} text are worded differently. The published templates of
 * {@code ../shared/chat-templates} render byte for byte as jinja2 renders them (a reference test checks
 * every one of them on a set of conversations).
 *
 * <p>Instances are immutable and thread-safe: one parsed template can be rendered from many
 * threads at once.
 */
public final class ChatTemplate {
    private final String source;
    private final Lexer.Lexed lexed;
    private final List<Node> body;
    private final TemplateLimits limits;
    private final Clock clock;

    private ChatTemplate(String source, Lexer.Lexed lexed, List<Node> body, TemplateLimits limits, Clock clock) {
        this.source = source;
        this.lexed = lexed;
        this.body = body;
        this.limits = limits;
        this.clock = clock;
    }

    /**
     * Parses a template with the default {@link TemplateLimits}.
     *
     * @param source the Jinja2 template text
     * @return the parsed template
     * @throws TemplateException if the template has a syntax error (the message gives line and column)
     *     or uses a tag the sandbox refuses ({@code include}, {@code import}, {@code extends})
     */
    public static ChatTemplate parse(String source) {
        return parse(source, TemplateLimits.defaults());
    }

    /**
     * Parses a template.
     *
     * @param source the Jinja2 template text
     * @param limits bounds on each rendering
     * @return the parsed template
     * @throws TemplateException if the template has a syntax error or uses a refused tag
     */
    public static ChatTemplate parse(String source, TemplateLimits limits) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(limits, "limits");
        try {
            Lexer.Lexed lexed = Lexer.tokenize(source);
            List<Node> body = Parser.parse(lexed);
            return new ChatTemplate(source, lexed, body, limits, Clock.systemDefaultZone());
        } catch (StackOverflowError e) {
            throw new TemplateException("template nested too deeply to parse: the Java stack overflowed");
        }
    }

    /**
     * @param newLimits bounds on each rendering
     * @return this template with other limits
     */
    public ChatTemplate withLimits(TemplateLimits newLimits) {
        return new ChatTemplate(source, lexed, body, Objects.requireNonNull(newLimits, "limits"), clock);
    }

    /**
     * Returns this template reading another clock in {@code strftime_now}, which by default reads the
     * system clock in the default time zone (as Python's {@code datetime.now()} does).
     *
     * @param newClock the clock {@code strftime_now} reads
     * @return this template with that clock
     */
    public ChatTemplate withClock(Clock newClock) {
        return new ChatTemplate(source, lexed, body, limits, Objects.requireNonNull(newClock, "clock"));
    }

    /** @return the template text this was parsed from */
    public String source() {
        return source;
    }

    /** @return the bounds on each rendering */
    public TemplateLimits limits() {
        return limits;
    }

    /**
     * Renders the template with the given variables.
     *
     * @param context variables: String, Number, Boolean, {@code null}, and List, Map or arrays of these;
     *     the values are copied, never modified
     * @return the rendered text
     * @throws TemplateException if rendering fails, the template calls {@code raise_exception}, or a limit
     *     is hit
     * @throws IllegalArgumentException if a value has another type
     */
    public String render(Map<String, ?> context) {
        Objects.requireNonNull(context, "context");
        Map<String, Object> vars = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : context.entrySet()) {
            vars.put(Objects.requireNonNull(e.getKey(), "context key"), fromJava(e.getValue(), e.getKey(), 0));
        }
        return new Interpreter(limits, lexed, clock).render(body, vars);
    }

    /**
     * Renders a conversation as {@code apply_chat_template} does.
     *
     * <p>The template sees {@code messages} (see {@link #contextOf}), {@code tools},
     * {@code documents} ({@code None}), {@code add_generation_prompt}, {@code bos_token} and
     * {@code eos_token} when given, and the extra variables of the options.
     *
     * @param messages the conversation
     * @param options generation prompt, tools, special tokens and extra variables
     * @return the prompt text
     * @throws TemplateException if rendering fails or the template rejects the conversation
     */
    public String render(List<ChatMessage> messages, RenderOptions options) {
        return render(contextOf(messages, options));
    }

    /**
     * Builds the variables {@link #render(List, RenderOptions)} passes to a template.
     *
     * <p>Each message becomes {@code {"role": ..., "content": ...}} (a message with images gets
     * the multimodal form {@code "content": [{"type": "image"}, ..., {"type": "text", "text": ...}]},
     * one image part per image, the image data itself is not part of the prompt text); an assistant message with tool
     * calls adds {@code "tool_calls": [{"type": "function", "function": {"name": ..., "arguments":
     * {...}}}]} (with {@code "id"} when the call has one, and the arguments parsed from JSON, or
     * kept as text when they are not valid JSON); a tool message adds {@code "name"} and, when the
     * call it answers has an id, {@code "tool_call_id"} (its {@link ChatMessage#toolCallId()}, or else the
     * tool messages after an assistant message answer its calls in order). Each tool
     * becomes {@code {"type": "function", "function": {"name", "description", "parameters"}}};
     * no tools gives {@code tools = None}, as {@code transformers} passes when none are given.
     *
     * @param messages the conversation
     * @param options generation prompt, tools, special tokens and extra variables
     * @return a new mutable map of template variables
     * @throws IllegalArgumentException if a tool's parameter schema is not valid JSON
     */
    public static Map<String, Object> contextOf(List<ChatMessage> messages, RenderOptions options) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(options, "options");
        List<Object> msgs = new ArrayList<>();
        java.util.ArrayDeque<String> pendingCallIds = new java.util.ArrayDeque<>();
        for (ChatMessage m : messages) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("role", m.role().wireName());
            if (m.images().isEmpty()) {
                d.put("content", m.content());
            } else {
                List<Object> parts = new ArrayList<>();
                for (int i = 0; i < m.images().size(); i++) {
                    parts.add(new LinkedHashMap<>(Map.of("type", "image")));
                }
                Map<String, Object> text = new LinkedHashMap<>();
                text.put("type", "text");
                text.put("text", m.content());
                parts.add(text);
                d.put("content", parts);
            }
            if (!m.toolCalls().isEmpty()) {
                List<Object> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    Map<String, Object> call = new LinkedHashMap<>();
                    if (!c.id().isEmpty()) {
                        call.put("id", c.id());
                    }
                    call.put("type", "function");
                    Map<String, Object> fn = new LinkedHashMap<>();
                    fn.put("name", c.name());
                    Object args;
                    try {
                        args = JsonCodec.parse(c.argumentsJson());
                    } catch (PythonJson.JsonException e) {
                        args = c.argumentsJson();
                    }
                    fn.put("arguments", args);
                    call.put("function", fn);
                    calls.add(call);
                }
                d.put("tool_calls", calls);
            }
            if (m.role() == ChatMessage.Role.TOOL) {
                // Results answer the calls of the last assistant message, in order.
                String callId;
                if (!m.toolCallId().isEmpty()) {
                    callId = m.toolCallId();
                    pendingCallIds.remove(callId);
                } else {
                    callId = pendingCallIds.poll();
                }
                if (callId != null && !callId.isEmpty()) {
                    d.put("tool_call_id", callId);
                }
                if (!m.name().isEmpty()) {
                    d.put("name", m.name());
                }
            } else {
                pendingCallIds.clear();
                m.toolCalls().forEach(c -> pendingCallIds.add(c.id()));
            }
            msgs.add(d);
        }
        Object tools = null;
        if (!options.tools().isEmpty()) {
            List<Object> list = new ArrayList<>();
            for (ToolSpec t : options.tools()) {
                Map<String, Object> fn = new LinkedHashMap<>();
                fn.put("name", t.name());
                fn.put("description", t.description());
                try {
                    fn.put("parameters", JsonCodec.parse(t.parametersSchema()));
                } catch (PythonJson.JsonException e) {
                    throw new IllegalArgumentException("parameters schema of tool '" + t.name()
                            + "' is not valid JSON: " + e.getMessage(), e);
                }
                Map<String, Object> tool = new LinkedHashMap<>();
                tool.put("type", "function");
                tool.put("function", fn);
                list.add(tool);
            }
            tools = list;
        }
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("messages", msgs);
        ctx.put("tools", tools);
        ctx.put("documents", null);
        ctx.put("add_generation_prompt", options.addGenerationPrompt());
        options.bosToken().ifPresent(b -> ctx.put("bos_token", b));
        options.eosToken().ifPresent(e -> ctx.put("eos_token", e));
        ctx.putAll(options.variables());
        return ctx;
    }

    /** Copies a Java value into the template's value model, refusing anything that is not plain data. */
    private static Object fromJava(Object v, String path, int depth) {
        if (depth > JsonCodec.MAX_DEPTH) {
            throw new IllegalArgumentException("template variable nested deeper than " + JsonCodec.MAX_DEPTH
                    + " levels (or circular) at " + path);
        }
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return Double.parseDouble(f.toString());
        }
        if (v instanceof BigInteger b) {
            if (b.bitLength() < 64) {
                return b.longValue();
            }
            return b.doubleValue();
        }
        if (v instanceof BigDecimal b) {
            return b.doubleValue();
        }
        if (v instanceof Character c) {
            return c.toString();
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                Object k = fromJava(e.getKey(), path + " key", depth + 1);
                if (k instanceof List || k instanceof Map) {
                    throw new IllegalArgumentException("template map keys must be plain values at " + path);
                }
                out.put(k, fromJava(e.getValue(), path + "." + e.getKey(), depth + 1));
            }
            return out;
        }
        if (v instanceof Collection<?> c) {
            List<Object> out = new ArrayList<>(c.size());
            int i = 0;
            for (Object o : c) {
                out.add(fromJava(o, path + "[" + i++ + "]", depth + 1));
            }
            return out;
        }
        if (v.getClass().isArray()) {
            int n = Array.getLength(v);
            List<Object> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(fromJava(Array.get(v, i), path + "[" + i + "]", depth + 1));
            }
            return out;
        }
        throw new IllegalArgumentException("template variable " + path + " has type " + v.getClass().getName()
                + "; use String, Number, Boolean, null, List or Map");
    }
}
