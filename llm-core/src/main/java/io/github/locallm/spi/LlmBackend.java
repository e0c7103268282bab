package io.github.locallm.spi;

import io.github.locallm.ChatMessage;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.List;

/**
 * One open model inside a backend: the narrow contract that core builds the user API on.
 *
 * <p>Core guarantees: {@code generate} is never called after {@link #close()}, and {@code close()} is
 * called once, after every running call returned. Core validates options before calling, measures
 * timings, and builds blocking, streaming, asynchronous and chat-session forms on top of
 * {@link #generate}.
 *
 * <p>Implementations must be thread-safe: several threads may call {@code generate} at once
 * (a backend that can serve one at a time serializes them itself).
 */
public interface LlmBackend extends AutoCloseable {

    /** @return what the model is; cheap, called often */
    ModelInfo info();

    /**
     * Generates, pushing text pieces into the sink in order, and returns when generation ended.
     *
     * <p>The finish reason means the same on every backend:
     * <ul>
     *   <li>{@link io.github.locallm.FinishReason#STOP}: the model ended on its own (an end-of-generation
     *       token, which is neither sent nor counted) or a stop sequence matched (no text of it is sent);</li>
     *   <li>{@link io.github.locallm.FinishReason#LENGTH}: {@code maxTokens} tokens were produced, or the
     *       context window is full; {@code completionTokens} then equals the budget;</li>
     *   <li>{@link io.github.locallm.FinishReason#CANCELLED}: {@code cancel} reported cancellation; the
     *       backend stops promptly (within a token or a network read) and sends nothing more.</li>
     * </ul>
     * A prompt that leaves no room for one new token is a
     * {@link io.github.locallm.ContextOverflowException} carrying the counts. Pieces never split a UTF-8
     * character. In-process backends get all of this from {@link DecodeLoop}.
     *
     * @param request prompt or messages, and options
     * @param sink where the pieces go; called on the calling thread
     * @param cancel tells whether the caller cancelled
     * @return how generation ended
     * @throws LlmException when generation fails
     * @throws UnsupportedCapabilityException when an option asks for something this model cannot do
     */
    BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel);

    /**
     * @param text text to tokenize, without special tokens added
     * @return the token ids
     * @throws UnsupportedCapabilityException when the backend cannot tokenize
     */
    default int[] tokenize(String text) {
        throw new UnsupportedCapabilityException(info().backend() + " model " + info().model()
                + " cannot tokenize; use a backend with the TOKENIZE capability");
    }

    /**
     * @param tokens token ids
     * @return their text
     * @throws UnsupportedCapabilityException when the backend cannot tokenize
     */
    default String detokenize(int[] tokens) {
        throw new UnsupportedCapabilityException(info().backend() + " model " + info().model()
                + " cannot detokenize; use a backend with the TOKENIZE capability");
    }

    /**
     * Counts the tokens of a conversation as the model will read it, chat template included and
     * generation prompt added.
     *
     * @param messages the conversation
     * @return the token count
     * @throws UnsupportedCapabilityException when the backend cannot count exactly (core then estimates)
     */
    default int countTokens(List<ChatMessage> messages) {
        throw new UnsupportedCapabilityException(info().backend() + " cannot count chat tokens");
    }

    /**
     * @param texts texts to embed
     * @return one vector per text, in order
     * @throws UnsupportedCapabilityException when the model cannot embed
     */
    default List<float[]> embed(List<String> texts) {
        throw new UnsupportedCapabilityException(info().backend() + " model " + info().model()
                + " cannot compute embeddings; open an embedding model or use a backend with EMBEDDINGS");
    }

    /** Frees the model's resources. Called once by core. */
    @Override
    void close();
}
