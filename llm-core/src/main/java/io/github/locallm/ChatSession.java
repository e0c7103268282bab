package io.github.locallm;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A conversation with a model that keeps its history. Not thread-safe: use one session per
 * conversation, from one thread at a time; only {@link #history()} and {@link #isClosed()} may be called from
 * any thread at any time, also while a streamed turn runs.
 *
 * <pre>{@code
 * try (ChatSession chat = llm.newChatSession("You answer in one sentence.")) {
 *     System.out.println(chat.send("What is Java?").text());
 *     System.out.println(chat.send("And Python?").text());
 * }
 * }</pre>
 *
 * <p>Before each turn the history is trimmed to a token budget: the system prompt always stays, and the
 * oldest turns (a user message with its reply) are dropped until the prompt plus the room kept for the
 * reply fits the model's context length. The room for the reply is the session options'
 * {@link GenerationOptions#maxTokens()} when set, otherwise a quarter of the context, at most
 * {@value #DEFAULT_REPLY_ROOM} tokens. Prompt sizes are exact where the backend can count a conversation
 * ({@code LlmBackend.countTokens}); otherwise they are estimated: the exact token count of each message's
 * text plus {@value #MESSAGE_OVERHEAD} tokens per message (and once more for the reply's header) when the
 * backend can tokenize, else one token per byte of UTF-8 text plus the same overhead. Byte-level and
 * byte-fallback tokenizers never produce more than one token per byte, so the estimate errs on the safe
 * side: it may drop turns that would have fit, never keep turns that do not. When even the system prompt and the new message do not fit, the turn fails with
 * {@link ContextOverflowException} and the history is left as it was.
 *
 * <p>Closing the session, or the {@link LocalLlm} it belongs to, ends it; {@link #send} and
 * {@link #stream} then throw {@link IllegalStateException}.
 */
public final class ChatSession implements AutoCloseable {
    /** Most tokens kept for the reply when the options set no {@code maxTokens}. */
    public static final int DEFAULT_REPLY_ROOM = 512;
    /** Estimated chat-template tokens per message when the backend cannot count a conversation. */
    public static final int MESSAGE_OVERHEAD = 16;

    private final LocalLlm llm;
    private final ChatMessage system;
    private final GenerationOptions options;
    // Replaced whole, never changed in place: history() reads it from any thread while a stream records a turn.
    private volatile List<ChatMessage> turns = List.of();
    private boolean closed;
    private volatile boolean closedByModel;
    private volatile boolean busy;

    ChatSession(LocalLlm llm, String systemPrompt, GenerationOptions options) {
        this.llm = llm;
        this.system = systemPrompt == null ? null : ChatMessage.system(systemPrompt);
        this.options = options;
    }

    /**
     * Sends a user message and waits for the reply.
     *
     * @param userText the user's message
     * @return the reply, already added to the history
     * @throws ContextOverflowException when the system prompt and this message alone do not fit the context
     * @throws UnsupportedCapabilityException when the model cannot chat
     * @throws IllegalStateException when the session or its model is closed, or a streamed turn still runs
     */
    public Completion send(String userText) {
        return send(userText, options);
    }

    /**
     * Sends a user message with options for this turn only (for example tools or a tool choice that differ
     * from the session's) and waits for the reply.
     *
     * @param userText the user's message
     * @param turnOptions the options of this turn, in place of the session's
     * @return the reply, already added to the history
     * @throws ContextOverflowException when the system prompt and this message alone do not fit the context
     * @throws UnsupportedCapabilityException when the model cannot chat
     * @throws IllegalStateException when the session or its model is closed, or a streamed turn still runs
     */
    public Completion send(String userText, GenerationOptions turnOptions) {
        Objects.requireNonNull(userText, "userText");
        Objects.requireNonNull(turnOptions, "turnOptions");
        ChatMessage user = ChatMessage.user(userText);
        List<ChatMessage> prompt = prepare(List.of(user), turns.size());
        return complete(prompt, List.of(user), turnOptions);
    }

    /**
     * Answers the tool calls of the last reply with their results and waits for the model's next reply (which
     * may call tools again). Each result names the call it answers ({@link ChatMessage#toolResult}); the
     * results join the history with the calls, and trimming never separates a call from its result: the
     * current turn (the last user message, the calls and the results) is never dropped.
     *
     * <pre>{@code
     * Completion c = chat.send("What is the weather in Paris?");
     * while (c.finishReason() == FinishReason.TOOL_CALLS) {
     *     List<ChatMessage> results = new ArrayList<>();
     *     for (ToolCall call : c.toolCalls()) {
     *         results.add(ChatMessage.toolResult(call, runTool(call)));
     *     }
     *     c = chat.sendToolResults(results);
     * }
     * }</pre>
     *
     * @param results one {@link ChatMessage.Role#TOOL} message per answered call
     * @return the reply, already added to the history
     * @throws IllegalArgumentException when a message is not a tool result, or names no call of the last reply
     * @throws IllegalStateException when the last reply asked for no tool call, the session or its model is
     *     closed, or a streamed turn still runs
     * @throws ContextOverflowException when the current turn alone does not fit the context
     */
    public Completion sendToolResults(List<ChatMessage> results) {
        return sendToolResults(results, options);
    }

    /**
     * Answers the tool calls of the last reply, with options for this turn only.
     *
     * @param results one {@link ChatMessage.Role#TOOL} message per answered call
     * @param turnOptions the options of this turn, in place of the session's
     * @return the reply, already added to the history
     * @see #sendToolResults(List)
     */
    public Completion sendToolResults(List<ChatMessage> results, GenerationOptions turnOptions) {
        Objects.requireNonNull(turnOptions, "turnOptions");
        List<ChatMessage> given = List.copyOf(Objects.requireNonNull(results, "results"));
        if (given.isEmpty()) {
            throw new IllegalArgumentException("give at least one tool result");
        }
        ChatMessage last = turns.isEmpty() ? null : turns.get(turns.size() - 1);
        if (last == null || last.role() != ChatMessage.Role.ASSISTANT || last.toolCalls().isEmpty()) {
            throw new IllegalStateException("the last reply of this chat session asked for no tool call; send tool "
                    + "results only after a reply with finish reason TOOL_CALLS");
        }
        List<String> ids = last.toolCalls().stream().map(ToolCall::id).toList();
        for (ChatMessage m : given) {
            if (m.role() != ChatMessage.Role.TOOL) {
                throw new IllegalArgumentException("a tool result must be a TOOL message (ChatMessage.toolResult), "
                        + "not " + m.role());
            }
            if (!m.toolCallId().isEmpty() && !ids.contains(m.toolCallId())) {
                throw new IllegalArgumentException("tool result for call id '" + m.toolCallId() + "' answers no call "
                        + "of the last reply; its calls are " + ids);
            }
        }
        int current = turns.size() - 1;
        while (current > 0 && turns.get(current).role() != ChatMessage.Role.USER) {
            current--;
        }
        List<ChatMessage> prompt = prepare(given, current);
        return complete(prompt, given, turnOptions);
    }

    private Completion complete(List<ChatMessage> prompt, List<ChatMessage> added, GenerationOptions turnOptions) {
        busy = true;
        try {
            Completion c = llm.runBlocking(llm.chatRequest(prompt, turnOptions));
            record(added, c);
            return c;
        } finally {
            busy = false;
        }
    }

    /**
     * Sends a user message and streams the reply; the reply joins the history before the handler's
     * {@link StreamHandler#onComplete} is called.
     *
     * @param userText the user's message
     * @param handler receiver of the pieces
     * @return cancel handle; a cancelled reply is kept in the history as far as it went
     * @throws ContextOverflowException when the system prompt and this message alone do not fit the context
     * @throws UnsupportedCapabilityException when the model cannot chat
     * @throws IllegalStateException when the session or its model is closed, or another streamed turn runs
     */
    public GenerationHandle stream(String userText, StreamHandler handler) {
        Objects.requireNonNull(handler, "handler");
        Objects.requireNonNull(userText, "userText");
        ChatMessage user = ChatMessage.user(userText);
        List<ChatMessage> prompt = prepare(List.of(user), turns.size());
        busy = true;
        try {
            return llm.startCallback(llm.chatRequest(prompt, options), new StreamHandler() {
                @Override
                public void onToken(String text) {
                    handler.onToken(text);
                }

                @Override
                public void onThinking(String text) {
                    handler.onThinking(text);
                }

                @Override
                public void onLogprobs(List<TokenLogprob> entries) {
                    handler.onLogprobs(entries);
                }

                @Override
                public void onComplete(Completion completion) {
                    record(List.of(user), completion);
                    busy = false;
                    handler.onComplete(completion);
                }

                @Override
                public void onError(Throwable error) {
                    busy = false;
                    handler.onError(error);
                }
            });
        } catch (RuntimeException e) {
            busy = false;
            throw e;
        }
    }

    /**
     * Returns the history as of the last completed turn: a snapshot, system prompt first, that does not change
     * with the session. Safe from any thread at any time: while a streamed turn runs, the snapshot holds the
     * turns before it; the streamed turn (the user message and the reply together) joins the history just
     * before its handler's {@link StreamHandler#onComplete} is called.
     *
     * @return the history, unmodifiable
     */
    public List<ChatMessage> history() {
        List<ChatMessage> now = turns;
        List<ChatMessage> all = new ArrayList<>(now.size() + 1);
        if (system != null) {
            all.add(system);
        }
        all.addAll(now);
        return List.copyOf(all);
    }

    /** @return the system prompt, if the session has one */
    public Optional<String> systemPrompt() {
        return Optional.ofNullable(system).map(ChatMessage::content);
    }

    /** @return the options every turn uses */
    public GenerationOptions options() {
        return options;
    }

    /**
     * Forgets every turn; the system prompt stays.
     *
     * @throws IllegalStateException when a streamed turn still runs (it would join the history afterwards)
     */
    public void reset() {
        if (busy) {
            throw new IllegalStateException("a streamed turn of this chat session is still running; wait for it "
                    + "to end (or cancel it) before resetting the history");
        }
        turns = List.of();
    }

    /** @return true once the session or its model was closed */
    public boolean isClosed() {
        return closed || closedByModel;
    }

    /** Ends the session. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            llm.forget(this);
        }
    }

    void closedByModel() {
        closedByModel = true;
    }

    /**
     * Counts the tokens of a conversation as this session does when it trims the history.
     *
     * @param messages a conversation
     * @return the exact count where the backend can count, otherwise the documented estimate
     */
    public int countTokens(List<ChatMessage> messages) {
        Objects.requireNonNull(messages, "messages");
        try {
            return llm.engine().countTokens(List.copyOf(messages));
        } catch (UnsupportedCapabilityException e) {
            return estimate(messages);
        }
    }

    private int estimate(List<ChatMessage> messages) {
        int total = MESSAGE_OVERHEAD;
        for (ChatMessage m : messages) {
            total += MESSAGE_OVERHEAD + textTokens(m.content());
        }
        return total;
    }

    private int textTokens(String text) {
        if (text.isEmpty()) {
            return 0;
        }
        try {
            return llm.countTokens(text);
        } catch (UnsupportedCapabilityException e) {
            return text.getBytes(StandardCharsets.UTF_8).length;
        }
    }

    /** @return the room kept for the reply when the history is trimmed */
    public int replyRoom() {
        int ctx = llm.info().contextLength();
        return options.maxTokens().orElse(Math.max(1, Math.min(DEFAULT_REPLY_ROOM, ctx / 4)));
    }

    /**
     * The prompt for the next reply: system prompt, history and the new messages, with the oldest turns dropped
     * until it fits; turns from {@code keepFrom} on (the current turn) are never dropped.
     */
    private List<ChatMessage> prepare(List<ChatMessage> added, int keepFrom) {
        if (isClosed()) {
            throw new IllegalStateException("this chat session is closed" + (closedByModel
                    ? " because its model was closed" : "") + "; start a new one with LocalLlm.newChatSession()");
        }
        if (busy) {
            throw new IllegalStateException("a streamed turn of this chat session is still running; wait for it "
                    + "to end (or cancel it) before sending the next message");
        }
        List<ChatMessage> past = this.turns;
        ModelInfo info = llm.info();
        // before counting: a model without a chat template may not be able to count a conversation either
        LocalLlm.require(info, Capability.CHAT, "chat");
        int ctx = info.contextLength();
        int room = replyRoom();
        int dropped = 0;
        while (true) {
            List<ChatMessage> prompt = new ArrayList<>(past.size() - dropped + 2);
            if (system != null) {
                prompt.add(system);
            }
            prompt.addAll(past.subList(dropped, past.size()));
            prompt.addAll(added);
            int tokens = countTokens(prompt);
            if (tokens + room <= ctx) {
                if (dropped > 0) {
                    this.turns = List.copyOf(past.subList(dropped, past.size()));
                }
                return prompt;
            }
            if (dropped >= keepFrom) {
                throw new ContextOverflowException("The message does not fit the context of " + info.backend()
                        + " model " + info.model() + ": " + tokens + " prompt tokens" + (system != null
                        ? " (system prompt and current turn alone)" : " (current turn alone)") + " + " + room
                        + " tokens kept for the reply > context length " + ctx + ". Shorten the message or "
                        + "the system prompt, lower maxTokens, or open the model with a larger context (ctx).",
                        tokens, room, ctx);
            }
            dropped += oldestTurnLength(past, dropped);
        }
    }

    // A turn is a user message and everything up to the next user message (the reply).
    private static int oldestTurnLength(List<ChatMessage> turns, int from) {
        int i = from + 1;
        while (i < turns.size() && turns.get(i).role() != ChatMessage.Role.USER) {
            i++;
        }
        return i - from;
    }

    private void record(List<ChatMessage> added, Completion c) {
        List<ChatMessage> next = new ArrayList<>(turns.size() + added.size() + 1);
        next.addAll(turns);
        next.addAll(added);
        next.add(new ChatMessage(ChatMessage.Role.ASSISTANT, c.text(), c.toolCalls(), List.of(), ""));
        turns = List.copyOf(next);
    }
}
