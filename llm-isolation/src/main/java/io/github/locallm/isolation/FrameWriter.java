package io.github.locallm.isolation;

import java.io.DataOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The engine process's writer of frames to the caller. Answers (results, errors, values) are sent at once.
 * Streamed pieces (token text, thinking text, log probabilities) are sent at once too when they come slower
 * than one per hold interval, and the first piece of a call always is; when they come faster, they are gathered
 * and the piece that comes one hold interval after the previous send sends them all, on the thread that
 * produced it. When the pieces stop before that (a pause in a stream), a flushing thread sends what is held two
 * hold intervals after the previous send. A piece is therefore never held longer than two hold intervals (plus
 * the time the operating system takes to schedule the flushing thread), never held when pieces are slow, and
 * never held past the answer that ends its call, which goes out right behind it.
 *
 * <p>Why: every send wakes the caller's reader and consumer threads. When a model produces a token in a
 * fraction of a millisecond, a send per token puts two more runnable threads on the machine per token, and
 * on a machine whose cores are all busy with the engine's own worker threads each of those wake-ups takes a
 * core from a worker that the others then wait for. Gathering the pieces of a few milliseconds bounds those
 * wake-ups to a few hundred per second whatever the token rate. Sending from the producing thread, between two
 * decoding steps, rather than from the flushing thread, keeps the engine process from waking a thread of its
 * own in the middle of a step. The bytes on the wire are the same frames in the same order; only the moments
 * they are flushed change.
 *
 * <p>The hold interval is {@value #DEFAULT_HOLD_MILLIS} ms unless the system property
 * {@code locallm.isolation.holdMillis} (0 to {@value #MAX_HOLD_MILLIS}; 0 sends every piece at once) says
 * otherwise; the caller passes its {@code locallm.*} properties on to the engine process. Thread-safe.
 */
final class FrameWriter implements AutoCloseable {
    /** The hold interval unless configured. */
    static final int DEFAULT_HOLD_MILLIS = 4;
    /** The longest hold interval accepted. */
    static final int MAX_HOLD_MILLIS = 50;
    /** The system property that sets the hold interval in milliseconds. */
    static final String HOLD_PROPERTY = "locallm.isolation.holdMillis";

    /** What to do when the caller can no longer be written to. */
    interface Failure {
        void failed(IOException e);
    }

    private final DataOutputStream out;
    private final long holdNanos;
    private final Failure failure;
    private final LongSupplier clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition pieceHeld = lock.newCondition();
    private final Thread flusher;
    /** When the stream was last flushed ({@link System#nanoTime}). */
    private long lastFlush;
    /** Whether pieces were written and not flushed yet. */
    private boolean holding;
    /** Whether the flushing thread is in a timed wait, so it looks at the held pieces without being told. */
    private boolean flusherTimed;
    private boolean closed;

    /**
     * @param out the buffered stream to the caller
     * @param holdMillis the hold interval, 0 to send every piece at once
     * @param failure called (under this writer's lock) when a write fails
     */
    FrameWriter(DataOutputStream out, long holdMillis, Failure failure) {
        this(out, holdMillis, failure, System::nanoTime);
    }

    /**
     * @param out the buffered stream to the caller
     * @param holdMillis the hold interval, 0 to send every piece at once
     * @param failure called (under this writer's lock) when a write fails
     * @param clock the time in nanoseconds ({@link System#nanoTime} but in tests)
     */
    FrameWriter(DataOutputStream out, long holdMillis, Failure failure, LongSupplier clock) {
        if (holdMillis < 0 || holdMillis > MAX_HOLD_MILLIS) {
            throw new IllegalArgumentException("the hold interval must be 0 to " + MAX_HOLD_MILLIS + " ms, got "
                    + holdMillis);
        }
        this.out = out;
        this.holdNanos = TimeUnit.MILLISECONDS.toNanos(holdMillis);
        this.failure = failure;
        this.clock = clock;
        this.lastFlush = clock.getAsLong() - holdNanos;
        if (holdNanos > 0) {
            flusher = new Thread(this::flushLoop, "locallm-engine-flusher");
            flusher.setDaemon(true);
            flusher.start();
        } else {
            flusher = null;
        }
    }

    /**
     * Returns the hold interval the system property sets, or the default.
     *
     * @return the interval in milliseconds
     * @throws IllegalArgumentException when the property is not a whole number from 0 to {@value #MAX_HOLD_MILLIS}
     */
    static int configuredHoldMillis() {
        String v = System.getProperty(HOLD_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_HOLD_MILLIS;
        }
        int ms;
        try {
            ms = Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            ms = -1;
        }
        if (ms < 0 || ms > MAX_HOLD_MILLIS) {
            throw new IllegalArgumentException(HOLD_PROPERTY + " must be a whole number of milliseconds from 0 to "
                    + MAX_HOLD_MILLIS + ", got '" + v + "'");
        }
        return ms;
    }

    /** Writes a frame and sends it, with every piece held before it, at once. */
    void answer(byte type, int id, EngineConnection.Payload payload) {
        lock.lock();
        try {
            write(type, id, payload);
            flush();
        } catch (IOException e) {
            failure.failed(e);
        } finally {
            lock.unlock();
        }
    }

    /** Writes a streamed piece's frame: sent at once when the last send is a hold interval old, else held. */
    void piece(byte type, int id, EngineConnection.Payload payload) {
        piece(type, id, payload, false);
    }

    /**
     * Writes a streamed piece's frame: sent at once when it is the first of its call (the time to the first
     * token is never lengthened) or when the last send is a hold interval old, else held.
     */
    void piece(byte type, int id, EngineConnection.Payload payload, boolean first) {
        lock.lock();
        try {
            write(type, id, payload);
            if (first || clock.getAsLong() - lastFlush >= holdNanos) {
                flush();
            } else {
                holding = true;
                if (!flusherTimed) {
                    pieceHeld.signal();
                }
            }
        } catch (IOException e) {
            failure.failed(e);
        } finally {
            lock.unlock();
        }
    }

    private void write(byte type, int id, EngineConnection.Payload payload) throws IOException {
        out.writeByte(type);
        out.writeInt(id);
        payload.write(out);
    }

    private void flush() throws IOException {
        holding = false;
        out.flush();
        lastFlush = clock.getAsLong();
    }

    private void flushLoop() {
        lock.lock();
        try {
            while (!closed) {
                if (!holding) {
                    flusherTimed = false;
                    pieceHeld.awaitUninterruptibly();
                    continue;
                }
                // the producing thread sends held pieces itself one interval after the last send; this thread
                // only sends them when no piece came to do so, one interval later
                long wait = lastFlush + 2 * holdNanos - clock.getAsLong();
                if (wait <= 0) {
                    try {
                        flush();
                    } catch (IOException e) {
                        failure.failed(e);
                        return;
                    }
                } else {
                    flusherTimed = true;
                    try {
                        pieceHeld.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Sends what is held and stops the flushing thread. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            pieceHeld.signalAll();
            if (holding) {
                flush();
            }
        } catch (IOException e) {
            failure.failed(e);
        } finally {
            lock.unlock();
        }
    }
}
