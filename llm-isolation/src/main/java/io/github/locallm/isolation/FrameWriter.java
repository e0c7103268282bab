package io.github.locallm.isolation;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The engine process's writer of frames to the caller. Answers (results, errors, values) are sent at once by
 * the thread that gives them. Streamed pieces (token text, thinking text, log probabilities) are sent by a
 * flushing thread of their own: at once (the producing thread only wakes it) when a piece is the first of its
 * call or comes a hold interval or more after the previous send; when they come faster, they are gathered, and
 * the first piece that comes a hold interval after the previous send has them all sent. When the pieces stop
 * before that (a pause in a stream), the flushing thread sends what is held two hold intervals after the
 * previous send. A piece is therefore never held longer than two hold intervals (plus the time the operating
 * system takes to schedule the flushing thread), never held when pieces are slow, and never held past the
 * answer that ends its call, which goes out right behind it.
 *
 * <p>Why: every send wakes the caller's reader and consumer threads. When a model produces a token in a
 * fraction of a millisecond, a send per token puts two more runnable threads on the machine per token, and
 * on a machine whose cores are all busy with the engine's own worker threads each of those wake-ups takes a
 * core from a worker that the others then wait for. Gathering the pieces of a few milliseconds bounds those
 * wake-ups to a few hundred per second whatever the token rate. The send itself is left to the flushing
 * thread because a thread that writes to a socket has the operating system place the woken reader on its own
 * core, expecting the writer to wait next: the decoding thread would then be pushed aside by the caller's
 * reader at every send, while the flushing thread does wait next. Frames are gathered in memory and written
 * to the socket outside the lock that pieces take, so a producing thread never waits for a send. The bytes on
 * the wire are the same frames in the same order; only the moments they are flushed change.
 *
 * <p>The hold interval is {@value #DEFAULT_HOLD_MILLIS} ms unless the system property
 * {@code locallm.isolation.holdMillis} (0 to {@value #MAX_HOLD_MILLIS}; 0 sends every piece at once, from the
 * producing thread) says otherwise; the caller passes its {@code locallm.*} properties on to the engine
 * process. Thread-safe.
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
    /** Guards the gathered frames and the state below; taken before {@link #sendLock}, never after it. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Held while gathered bytes are written to the socket, so that sends keep the order they were taken in. */
    private final ReentrantLock sendLock = new ReentrantLock();
    private final ByteArrayOutputStream gatheredBytes = new ByteArrayOutputStream(8192);
    private final DataOutputStream gathered = new DataOutputStream(gatheredBytes);
    private final Thread flusher;
    /** When gathered frames were last taken to be sent ({@link System#nanoTime}). */
    private long lastSend;
    /** Whether pieces were gathered and not taken to be sent yet. */
    private boolean holding;
    /** Whether the gathered pieces are to be sent at once. */
    private boolean sendNow;
    /** Whether the flushing thread is in a timed wait, so it looks at the held pieces without being told. */
    private boolean flusherTimed;
    private boolean closed;
    /** Whether a write to the caller failed; nothing more is written then. */
    private boolean failed;

    /**
     * @param out the buffered stream to the caller
     * @param holdMillis the hold interval, 0 to send every piece at once
     * @param failure called when a write fails
     */
    FrameWriter(DataOutputStream out, long holdMillis, Failure failure) {
        this(out, holdMillis, failure, System::nanoTime);
    }

    /**
     * @param out the buffered stream to the caller
     * @param holdMillis the hold interval, 0 to send every piece at once
     * @param failure called when a write fails
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
        this.lastSend = clock.getAsLong() - holdNanos;
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

    /** Writes a frame and sends it, with every piece held before it, at once, from the calling thread. */
    void answer(byte type, int id, EngineConnection.Payload payload) {
        lock.lock();
        byte[] bytes;
        try {
            if (!gather(type, id, payload)) {
                return;
            }
            bytes = take();
            sendLock.lock();
        } finally {
            lock.unlock();
        }
        send(bytes);
    }

    /** Writes a streamed piece's frame: sent at once when the last send is a hold interval old, else held. */
    void piece(byte type, int id, EngineConnection.Payload payload) {
        piece(type, id, payload, false);
    }

    /**
     * Writes a streamed piece's frame: sent at once when it is the first of its call (the time to the first
     * token is never lengthened by the hold) or when the last send is a hold interval old, else held.
     */
    void piece(byte type, int id, EngineConnection.Payload payload, boolean first) {
        lock.lock();
        byte[] bytes;
        try {
            if (!gather(type, id, payload)) {
                return;
            }
            boolean due = first || clock.getAsLong() - lastSend >= holdNanos;
            if (flusher != null && !closed) {
                holding = true;
                if (due) {
                    sendNow = true;
                    wake.signal();
                } else if (!flusherTimed) {
                    wake.signal();
                }
                return;
            }
            // no flushing thread (a hold of 0, or closed): every piece goes out at once from here
            bytes = take();
            sendLock.lock();
        } finally {
            lock.unlock();
        }
        send(bytes);
    }

    /** Appends a frame to the gathered bytes; false when nothing can be written any more. Under the lock. */
    private boolean gather(byte type, int id, EngineConnection.Payload payload) {
        if (failed) {
            return false;
        }
        try {
            gathered.writeByte(type);
            gathered.writeInt(id);
            payload.write(gathered);
            return true;
        } catch (IOException e) {
            // writing to memory fails only when the payload itself does
            throw new IllegalStateException(e);
        }
    }

    /** Takes the gathered bytes to be sent. Under the lock. */
    private byte[] take() {
        byte[] bytes = gatheredBytes.toByteArray();
        gatheredBytes.reset();
        holding = false;
        sendNow = false;
        lastSend = clock.getAsLong();
        return bytes;
    }

    /** Writes bytes taken under the lock to the caller; called holding {@link #sendLock}, which it releases. */
    private void send(byte[] bytes) {
        try {
            if (bytes.length > 0) {
                out.write(bytes);
            }
            out.flush();
        } catch (IOException e) {
            lock.lock();
            try {
                failed = true;
            } finally {
                lock.unlock();
            }
            failure.failed(e);
        } finally {
            sendLock.unlock();
        }
    }

    private void flushLoop() {
        while (true) {
            byte[] bytes;
            lock.lock();
            try {
                while (true) {
                    if (closed || failed) {
                        return;
                    }
                    if (!holding) {
                        flusherTimed = false;
                        wake.awaitUninterruptibly();
                        continue;
                    }
                    // a piece that is due has the held ones sent at once; otherwise they go out when no piece
                    // has come to do so for two hold intervals after the last send
                    long wait = lastSend + 2 * holdNanos - clock.getAsLong();
                    if (sendNow || wait <= 0) {
                        break;
                    }
                    flusherTimed = true;
                    try {
                        wake.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                bytes = take();
                sendLock.lock();
            } finally {
                lock.unlock();
            }
            send(bytes);
        }
    }

    /** Sends what is held and stops the flushing thread. */
    @Override
    public void close() {
        lock.lock();
        byte[] bytes;
        try {
            if (closed) {
                return;
            }
            closed = true;
            wake.signalAll();
            if (!holding || failed) {
                return;
            }
            bytes = take();
            sendLock.lock();
        } finally {
            lock.unlock();
        }
        send(bytes);
    }
}
