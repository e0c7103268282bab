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
 */
public record ChatMessage(Role role, String content, List<ToolCall> toolCalls, List<String> images, String name) {

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
     */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = List.copyOf(Objects.requireNonNull(toolCalls, "toolCalls"));
        images = List.copyOf(Objects.requireNonNull(images, "images"));
        Objects.requireNonNull(name, "name");
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
     * @param toolName the tool whose result this is
     * @param content the result
     * @return a tool-result message
     */
    public static ChatMessage tool(String toolName, String content) {
        return new ChatMessage(Role.TOOL, content, List.of(), List.of(), toolName);
    }
}
