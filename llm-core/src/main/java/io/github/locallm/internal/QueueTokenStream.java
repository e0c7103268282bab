package io.github.locallm.internal;

import io.github.locallm.Completion;
import io.github.locallm.GenerationCancelledException;
import io.github.locallm.TokenStream;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A generation read as an iterator: the generating thread queues pieces, the reader takes them. The
 * generation runs at most {@link #AHEAD} pieces ahead of the reader and then waits for it, so a reader that
 * stops reading holds the generation (and its memory) until it reads on or closes the iterator.
 *
 * <p>Not thread-safe, except {@link #close()}.
 */
public final class QueueTokenStream implements TokenStream, GenerationListener {
    /** Pieces the generation may produce before the reader took them. */
    public static final int AHEAD = 8;

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Semaphore room = new Semaphore(AHEAD);
    private final Cancellation cancellation;
    private volatile Generation generation;
    private volatile boolean closed;
    private String peeked;
    private Terminal terminal;

    private record Terminal(Completion completion, Throwable error) {
    }

    /** @param cancellation the generation's cancel signal */
    public QueueTokenStream(Cancellation cancellation) {
        this.cancellation = cancellation;
    }

    /** @param g the running generation, to wait for on close */
    public void bind(Generation g) {
        this.generation = g;
    }

    @Override
    public void onToken(String text) {
        try {
            while (!room.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                if (closed || cancellation.isCancelled()) {
                    // nobody reads any more: the piece is dropped and the backend sees the cancel next
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancellation.cancel();
            return;
        }
        queue.add(text);
    }

    @Override
    public void onComplete(Completion completion) {
        queue.add(new Terminal(completion, null));
    }

    @Override
    public void onError(Throwable error) {
        queue.add(new Terminal(null, error));
    }

    @Override
    public boolean hasNext() {
        if (closed) {
            return false;
        }
        if (peeked != null) {
            return true;
        }
        if (terminal != null) {
            throwIfFailed();
            return false;
        }
        Object item = take();
        if (item instanceof Terminal t) {
            terminal = t;
            throwIfFailed();
            return false;
        }
        peeked = (String) item;
        return true;
    }

    @Override
    public String next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the generation has ended");
        }
        String s = peeked;
        peeked = null;
        return s;
    }

    @Override
    public Stream<String> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this,
                Spliterator.ORDERED | Spliterator.NONNULL), false).onClose(this::close);
    }

    @Override
    public Completion completion() {
        if (terminal == null && closed) {
            // after close, the remaining pieces are dropped and the result is still available
            while (terminal == null) {
                Object item = take();
                if (item instanceof Terminal t) {
                    terminal = t;
                }
            }
        }
        if (terminal == null || (peeked != null && !closed)) {
            throw new IllegalStateException("pieces are left to read: exhaust the iterator (or close it) "
                    + "before asking for the completion");
        }
        throwIfFailed();
        return terminal.completion();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cancellation.cancel();
        Generation g = generation;
        if (g != null) {
            g.awaitBackendReturn(Engine.CLOSE_WAIT);
        }
    }

    private Object take() {
        try {
            Object item = queue.take();
            if (item instanceof String) {
                room.release();
            }
            return item;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancellation.cancel();
            throw new GenerationCancelledException("interrupted while waiting for the next piece; "
                    + "the generation was cancelled", e);
        }
    }

    private void throwIfFailed() {
        Throwable e = terminal.error();
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        if (e != null) {
            throw new io.github.locallm.LlmException("generation failed: " + e, e);
        }
    }
}
