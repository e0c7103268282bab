package io.github.locallm;

import java.util.List;
import java.util.Objects;

/**
 * One message of a conversation.
 *
 * @param role who speaks
 * @param content the text (may be empty, for example an assistant message holding only tool calls)
 * @param toolCalls tool calls an assistant message made; empty otherwise
 * @param images base64-encoded images attached to a user message, for vision models; usually empty
 * @param name for a {@link Role#TOOL} message, the tool whose result this is; otherwise empty
 * @param toolCallId for a {@link Role#TOOL} message, the {@link ToolCall#id()} of the call it answers; otherwise
 *     empty (also empty where the backend gave the call no id)
 */
public record ChatMessage(Role role, String content, List<ToolCall> toolCalls, List<String> images, String name,
                          String toolCallId) {

    /** Who speaks in a message. */
    public enum Role {
        /** Instructions that frame the conversation. */
        SYSTEM,
        /** The person. */
        USER,
        /** The model. */
        ASSISTANT,
        /** The result of a tool call. */
        TOOL;

        /** @return the lower-case name used by chat templates and wire formats ({@code "user"}) */
        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Validates and copies the values.
     *
     * @param role who speaks
     * @param content the text (may be empty, for example an assistant message holding only tool calls)
     * @param toolCalls tool calls an assistant message made; empty otherwise
     * @param images base64-encoded images attached to a user message, for vision models; usually empty
     * @param name for a {@link Role#TOOL} message, the tool whose result this is; otherwise empty
     * @param toolCallId for a {@link Role#TOOL} message, the id of the call it answers; otherwise empty
     */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = List.copyOf(Objects.requireNonNull(toolCalls, "toolCalls"));
        images = List.copyOf(Objects.requireNonNull(images, "images"));
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(toolCallId, "toolCallId");
    }

    /**
     * A message that answers no particular tool call.
     *
     * @param role who speaks
     * @param content the text
     * @param toolCalls tool calls an assistant message made; empty otherwise
     * @param images base64-encoded images attached to a user message; usually empty
     * @param name for a {@link Role#TOOL} message, the tool whose result this is; otherwise empty
     */
    public ChatMessage(Role role, String content, List<ToolCall> toolCalls, List<String> images, String name) {
        this(role, content, toolCalls, images, name, "");
    }

    /**
     * @param content the text
     * @return a system message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content, List.of(), List.of(), "");
    }

    /**
     * @param content the text
     * @return a user message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content, List.of(), List.of(), "");
    }

    /**
     * @param content the text
     * @return an assistant message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content, List.of(), List.of(), "");
    }

    /**
     * @param content the text (may be empty)
     * @param toolCalls the tool calls the model made in this turn
     * @return an assistant message carrying tool calls
     */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage(Role.ASSISTANT, content, toolCalls, List.of(), "");
    }

    /**
     * A tool result with no call id; prefer {@link #toolResult(ToolCall, String)}, which ties the result to its call.
     *
     * @param toolName the tool whose result this is
     * @param content the result
     * @return a tool-result message
     */
    public static ChatMessage tool(String toolName, String content) {
        return new ChatMessage(Role.TOOL, content, List.of(), List.of(), toolName, "");
    }

    /**
     * The result of one tool call, tied to that call by its id and tool name.
     *
     * <pre>{@code
     * for (ToolCall call : completion.toolCalls()) {
     *     history.add(ChatMessage.toolResult(call, runTool(call)));
     * }
     * }</pre>
     *
     * @param call the call this result answers
     * @param content the result
     * @return a tool-result message
     */
    public static ChatMessage toolResult(ToolCall call, String content) {
        Objects.requireNonNull(call, "call");
        return new ChatMessage(Role.TOOL, content, List.of(), List.of(), call.name(), call.id());
    }
}
