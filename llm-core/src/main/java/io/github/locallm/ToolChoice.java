package io.github.locallm;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether the model may, must or must not call one of the offered tools ({@link GenerationOptions#toolChoice()}).
 *
 * <ul>
 *   <li>{@link #AUTO}: the model decides (the default when nothing is set);</li>
 *   <li>{@link #NONE}: the model answers in text; the tools are not offered for this call;</li>
 *   <li>{@link #REQUIRED}: the reply is a call of one of the offered tools;</li>
 *   <li>{@link #function(String)}: the reply is a call of that tool.</li>
 * </ul>
 *
 * <p>A required call answers the user: it applies when the conversation ends with a user message. Once tool
 * results follow, the model answers freely ({@link #AUTO}), so that a loop that feeds results back ends instead of
 * calling tools forever. Forcing a call needs a model with {@link Capability#TOOL_CHOICE}.
 *
 * <pre>{@code
 * GenerationOptions o = GenerationOptions.builder()
 *         .tool(weather)
 *         .toolChoice(ToolChoice.function("get_weather"))
 *         .build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ToolChoice {
    /** What a tool choice asks of the model. */
    public enum Mode {
        /** The model decides whether to call a tool. */
        AUTO,
        /** The model does not call tools. */
        NONE,
        /** The model calls a tool (a given one, when {@link ToolChoice#function()} is set). */
        REQUIRED
    }

    /** The model decides whether to call a tool. */
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    /** The model answers in text; the tools are not offered. */
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    /** The model's reply is a call of one of the offered tools. */
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    private final Mode mode;
    private final String function;

    private ToolChoice(Mode mode, String function) {
        this.mode = mode;
        this.function = function;
    }

    /**
     * A required call of one tool.
     *
     * @param name the name of one of the offered tools
     * @return the choice
     */
    public static ToolChoice function(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("the tool name of a tool choice must not be blank");
        }
        return new ToolChoice(Mode.REQUIRED, name);
    }

    /** @return what this choice asks of the model */
    public Mode mode() {
        return mode;
    }

    /** @return the one tool the reply must call, empty when any offered tool will do */
    public Optional<String> function() {
        return Optional.ofNullable(function);
    }

    /** @return true when the reply must be a tool call */
    public boolean forcesCall() {
        return mode == Mode.REQUIRED;
    }

    /**
     * The tools a forced call may name.
     *
     * @param offered the offered tools
     * @return the named tool when {@link #function()} is set, else all offered tools
     * @throws IllegalArgumentException when the named tool is not offered
     */
    public List<ToolSpec> callable(List<ToolSpec> offered) {
        Objects.requireNonNull(offered, "offered");
        if (function == null) {
            return offered;
        }
        for (ToolSpec t : offered) {
            if (t.name().equals(function)) {
                return List.of(t);
            }
        }
        throw new IllegalArgumentException("the tool choice names '" + function + "', which is not among the offered "
                + "tools " + offered.stream().map(ToolSpec::name).toList() + ": offer it with tool(...)");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ToolChoice c && c.mode == mode && Objects.equals(c.function, function);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, function);
    }

    @Override
    public String toString() {
        return function == null ? mode.name() : "function(" + function + ")";
    }
}
