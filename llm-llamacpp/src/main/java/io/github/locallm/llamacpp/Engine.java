package io.github.locallm.llamacpp;

import io.github.locallm.TokenLogprob;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.DecodeEngine;
import io.github.locallm.spi.DecodeLoop;

import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * What differs between the two ways this backend drives llama.cpp: the current C API through JNA
 * ({@link NativeEngine}, {@code engine=llamacpp}) and the {@code de.kherud:llama} binding ({@link JllamaEngine},
 * {@code engine=jllama}). Everything else (settings, option validation, chat rendering and prompt escaping)
 * is {@link LlamaCppBackend}'s, once for both, and the decode loop (stop sequences, finish reasons, token
 * budget, cancellation) is core's {@link DecodeLoop}.
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
     * Starts one generation: the returned engine is driven by the shared {@link DecodeLoop}, which first
     * evaluates the whole prompt.
     *
     * @param sampling  the validated sampling settings
     * @param maxTokens the most tokens the loop will ask for
     */
    Generation start(Sampling sampling, int maxTokens);

    /**
     * Returns the embedding of a text (for a model opened with {@code embedding=true}): with pooling
     * {@code last}, {@code cls} or {@code mean} the L2-normalized sentence vector; with {@code none} every
     * token's vector, raw, one after the other; with {@code rank} the raw classifier outputs.
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

    /** Whether the library in use runs on the CPU only (a {@code gpu_layers} setting is then ignored). */
    boolean cpuOnly();

    /** One generation, freed by {@link #close()} (which also stops a native generation left running). */
    interface Generation extends DecodeEngine, AutoCloseable {
        @Override
        void close();

        /**
         * Asks for the log probability of every token sampled from now on, from the model's distribution
         * (before temperature, penalties and grammar), with the {@code top} most likely tokens at its position.
         *
         * @param top alternatives per position, 0 for none
         * @param to  receives one entry per sampled token, in order, when the token is sampled
         * @throws io.github.locallm.UnsupportedCapabilityException when the engine cannot report them
         */
        default void reportLogprobs(int top, Consumer<TokenLogprob> to) {
            throw new UnsupportedCapabilityException("log probabilities are not available with engine=jllama; use"
                    + " the llamacpp engine");
        }
    }
}
