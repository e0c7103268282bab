package io.github.locallm.spi;

/**
 * The part of a local generation that depends on the engine, for {@link DecodeLoop}: evaluate tokens,
 * sample the next one, tell an end-of-generation token, give a token's bytes.
 *
 * <p>The loop calls {@link #evaluate(int[])} once with the whole prompt, then alternates
 * {@link #sample()} and {@link #evaluate(int[])} with the one token just sampled. An engine whose native
 * side evaluates each sampled token itself may treat that second kind of call as a no-op. Everything else
 * (the context check, the token budget, stop sequences, cancellation, the finish reason, UTF-8-safe
 * pieces) is the loop's.
 *
 * <pre>{@code
 * DecodeLoop loop = DecodeLoop.plan(model, promptTokens, contextLength, request.options(), 0);
 * return loop.run(new MyEngine(session), sink, cancel);
 * }</pre>
 *
 * <p>Implementations are used by one generation at a time, on the generating thread; they need not be
 * thread-safe.
 */
public interface DecodeEngine {

    /**
     * Appends tokens to the sequence and computes the state the next {@link #sample()} reads.
     *
     * @param tokens the prompt on the first call, then the token just sampled
     */
    void evaluate(int[] tokens);

    /** @return the next token, chosen from the state after the last {@link #evaluate(int[])} */
    int sample();

    /**
     * @param token a sampled token
     * @return true when the token ends the generation (end of sequence, end of turn); its text is never sent
     */
    boolean isEndOfGeneration(int token);

    /**
     * @param token a sampled token that does not end the generation
     * @return the UTF-8 bytes the token stands for, possibly part of a character; empty for a control token
     */
    byte[] tokenBytes(int token);

    /**
     * Returns the text decoder of one generation. The default joins {@link #tokenBytes(int)} through a
     * {@link Utf8Decoder}; an engine whose tokenizer decodes text in context (a tokenizer library that
     * strips or merges spaces) returns its own.
     *
     * @return a new decoder for one generation
     */
    default PieceDecoder newPieceDecoder() {
        return PieceDecoder.ofBytes(this::tokenBytes);
    }
}
