package io.github.locallm.llamacpp;

import io.github.locallm.FinishReason;
import io.github.locallm.spi.CancelSignal;

import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What differs between the two ways this backend drives llama.cpp: the current C API through JNA
 * ({@link NativeEngine}, {@code engine=llamacpp}) and the {@code de.kherud:llama} binding ({@link JllamaEngine},
 * {@code engine=jllama}). Everything else (settings, option validation, chat rendering and prompt escaping,
 * stop sequences, finish reasons, context checks) is {@link LlamaCppBackend}'s, once, for both.
 *
 * <p>Calls that reach native code are made with {@link #lock()} held.
 */
interface Engine {

    /** Returns the engine's name as the {@code engine} setting spells it. */
    String name();

    /** Tokenizes text, reading special-token text as special tokens, without adding BOS. */
    int[] tokenize(String text);

    /** Turns token ids (checked by the caller to be in the vocabulary) into text. */
    String detokenize(int[] tokens);

    /**
     * Generates from a prompt, sending text pieces (whole characters) to the sink until it returns
     * {@code true}, the model ends its turn, {@code maxTokens} tokens are produced, or the signal cancels.
     *
     * @return how it ended: {@code reason} is {@code null} when the sink asked to stop
     */
    Outcome generate(int[] prompt, Sampling sampling, int maxTokens, PieceSink sink, CancelSignal cancel);

    /**
     * Returns the L2-normalized sentence embedding of a text (for a model opened with {@code embedding=true}).
     *
     * @param text   the text
     * @param tokens its tokens as the backend counted them (BOS included where the model adds it)
     */
    float[] embed(String text, int[] tokens);

    /** The lock that serializes native calls on this model (fair). */
    ReentrantLock lock();

    /** Facts for {@code ModelInfo.details()}: at least {@code engine}, the build and the library path. */
    Map<String, String> details();

    /** Frees what this handle holds natively; called once, with the lock held and no generation running. */
    void release();

    /** Receives text pieces; returns {@code true} to stop. */
    interface PieceSink {
        boolean accept(String piece);
    }

    /**
     * How a generation ended.
     *
     * @param reason    {@link FinishReason#STOP} (end of turn), {@link FinishReason#LENGTH},
     *                  {@link FinishReason#CANCELLED}, or {@code null} when the sink stopped it
     * @param generated tokens produced
     */
    record Outcome(FinishReason reason, int generated) {
    }
}
