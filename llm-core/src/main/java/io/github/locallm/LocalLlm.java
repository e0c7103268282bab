package io.github.locallm;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * An open local model: the entry point of the SDK.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("ollama:llama3.2")) {
 *     System.out.println(llm.generate("Explique-moi Python en une phrase").text());
 * }
 * }</pre>
 *
 * <p>Thread-safe, costly to create, meant to be shared. {@link #close()} is idempotent, closes the
 * model's chat sessions and frees native memory; any other call after it throws
 * {@link IllegalStateException}.
 */
public final class LocalLlm implements AutoCloseable {
    // Skeleton: the implementation lands with the core work (issue 2).

    private LocalLlm() {
    }

    private static UnsupportedOperationException todo() {
        return new UnsupportedOperationException("not implemented yet");
    }

    /** @param spec {@code scheme:model[?key=value&...]} @return the open model */
    public static LocalLlm open(String spec) {
        throw todo();
    }

    /** @param spec the model spec @param options how to open it @return the open model */
    public static LocalLlm open(String spec, OpenOptions options) {
        throw todo();
    }

    /** @param path a model file or directory; the backend is chosen from what it is @return the open model */
    public static LocalLlm open(Path path) {
        throw todo();
    }

    /** @param path a model file or directory @param options how to open it @return the open model */
    public static LocalLlm open(Path path, OpenOptions options) {
        throw todo();
    }

    /** @return the installed backends, broken ones included with their error */
    public static List<ProviderInfo> providers() {
        throw todo();
    }

    /** @return what the model is */
    public ModelInfo info() {
        throw todo();
    }

    /** @param prompt raw prompt @return the completion */
    public Completion generate(String prompt) {
        throw todo();
    }

    /** @param prompt raw prompt @param options options @return the completion */
    public Completion generate(String prompt, GenerationOptions options) {
        throw todo();
    }

    /** @param messages conversation @return the assistant's reply */
    public Completion chat(List<ChatMessage> messages) {
        throw todo();
    }

    /** @param messages conversation @param options options @return the assistant's reply */
    public Completion chat(List<ChatMessage> messages, GenerationOptions options) {
        throw todo();
    }

    /** @param prompt prompt @param options options @param handler receiver @return cancel handle */
    public GenerationHandle stream(String prompt, GenerationOptions options, StreamHandler handler) {
        throw todo();
    }

    /** @param messages conversation @param options options @param handler receiver @return cancel handle */
    public GenerationHandle streamChat(List<ChatMessage> messages, GenerationOptions options, StreamHandler handler) {
        throw todo();
    }

    /** @param prompt prompt @param options options @return pieces as an iterator; closing cancels */
    public TokenStream tokens(String prompt, GenerationOptions options) {
        throw todo();
    }

    /** @param messages conversation @param options options @return pieces as an iterator; closing cancels */
    public TokenStream chatTokens(List<ChatMessage> messages, GenerationOptions options) {
        throw todo();
    }

    /** @param prompt prompt @param options options @return a cold publisher; each subscription generates */
    public Flow.Publisher<String> publisher(String prompt, GenerationOptions options) {
        throw todo();
    }

    /** @param messages conversation @param options options @return a cold publisher */
    public Flow.Publisher<String> chatPublisher(List<ChatMessage> messages, GenerationOptions options) {
        throw todo();
    }

    /** @param prompt prompt @param options options @return the future result; cancelling it cancels */
    public CompletableFuture<Completion> generateAsync(String prompt, GenerationOptions options) {
        throw todo();
    }

    /** @param messages conversation @param options options @return the future reply */
    public CompletableFuture<Completion> chatAsync(List<ChatMessage> messages, GenerationOptions options) {
        throw todo();
    }

    /** @param text text @return token ids */
    public int[] tokenize(String text) {
        throw todo();
    }

    /** @param tokens ids @return text */
    public String detokenize(int[] tokens) {
        throw todo();
    }

    /** @param text text @return its token count */
    public int countTokens(String text) {
        throw todo();
    }

    /** @param text text @return its embedding */
    public float[] embed(String text) {
        throw todo();
    }

    /** @param texts texts @return their embeddings */
    public List<float[]> embed(List<String> texts) {
        throw todo();
    }

    /** @return a chat session without system prompt */
    public ChatSession newChatSession() {
        throw todo();
    }

    /** @param systemPrompt the system prompt @return a chat session */
    public ChatSession newChatSession(String systemPrompt) {
        throw todo();
    }

    /** @return true once closed */
    public boolean isClosed() {
        throw todo();
    }

    /** Closes the model, its sessions and running generations. Idempotent. */
    @Override
    public void close() {
        throw todo();
    }
}
