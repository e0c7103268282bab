package io.github.locallm;

import java.util.Iterator;
import java.util.stream.Stream;

/**
 * A generation read as an iterator of text pieces; closing it cancels the generation.
 *
 * <p>The generation runs only a few pieces ahead of the reader: a reader that stops reading pauses it, and
 * closing the iterator ends it with {@link FinishReason#CANCELLED}. Read to the end or close it (a
 * try-with-resources block does); an iterator left open holds its generation until the model is closed.
 *
 * <pre>{@code
 * try (TokenStream tokens = llm.tokens("Explique-moi Python en une phrase")) {
 *     tokens.forEachRemaining(System.out::print);
 *     System.out.println(tokens.completion().usage());
 * }
 * }</pre>
 *
 * <p>Not thread-safe, except {@link #close()}, which may be called from any thread.
 */
public interface TokenStream extends Iterator<String>, AutoCloseable {
    /** @return the remaining pieces as a sequential stream; closing the stream closes this */
    Stream<String> stream();

    /**
     * @return the result, once the iterator is exhausted
     * @throws IllegalStateException when pieces are left to read
     */
    Completion completion();

    /** Cancels the generation if it still runs. Idempotent. */
    @Override
    void close();
}
