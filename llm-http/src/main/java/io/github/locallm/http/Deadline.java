package io.github.locallm.http;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;

/**
 * Enforces the time limits and the minimum transfer rate of one call: until the connection is up, until
 * the first line, between lines, over the whole call, and the bytes per rate window once the answer has
 * begun. When a limit passes it cancels the HTTP call, so the blocked reader wakes with an
 * {@link java.io.IOException} and the server sees the connection close; {@link #expired()} then says
 * which limit it was.
 *
 * <p>Activity costs a volatile write; a single daemon timer thread (shared, holding no configuration)
 * wakes only when a deadline may have passed. Thread-safe.
 */
public final class Deadline implements Runnable {
    private static final ScheduledThreadPoolExecutor TIMER = newTimer();

    private final Call call;
    private final long connectNanos;
    private final long firstByteNanos;
    private final long idleNanos;
    private final long requestNanos;
    private final long minBytesPerSecond;
    private final long windowNanos;
    private final long start;
    private volatile long lastActivity;
    private volatile long bytes;
    private long windowStart;
    private long windowStartBytes;
    private volatile boolean sawLine;
    private volatile boolean connected;
    private volatile boolean stopped;
    private volatile Limit expired;
    private volatile long expiredValue;
    private ScheduledFuture<?> future;

    private Deadline(Call call, HttpLimits limits, boolean firstByte, boolean idle) {
        this.call = call;
        this.connectNanos = limits.connect().toNanos();
        this.firstByteNanos = firstByte ? limits.firstByte().toNanos() : 0;
        this.idleNanos = idle ? limits.idle().toNanos() : 0;
        this.requestNanos = limits.request().toNanos();
        this.minBytesPerSecond = limits.minBytesPerSecond();
        this.windowNanos = limits.rateWindow().toNanos();
        this.start = System.nanoTime();
        this.lastActivity = start;
    }

    private static ScheduledThreadPoolExecutor newTimer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "locallm-http-deadlines");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    /**
     * Carried as a tag of the request, so that a network interceptor can say when the connection (TCP,
     * proxy and TLS handshake) is up: until then the connect limit applies.
     */
    static final class Tag {
        private volatile Deadline deadline;
        private volatile boolean connected;

        void connected() {
            connected = true;
            Deadline d = deadline;
            if (d != null) {
                d.connected = true;
            }
        }

        void attach(Deadline d) {
            deadline = d;
            if (connected) {
                d.connected = true;
            }
        }
    }

    /**
     * Starts watching a call.
     *
     * @param call the call to cancel when a limit passes; its request may carry the tag that
     *             {@link HttpTransport} adds, else the connect limit is not told apart
     * @param limits the limits
     * @param firstByte whether the first-byte limit applies (not while the answer is computed as a whole,
     *                  nor while a large upload is sent)
     * @param idle whether the idle limit applies between lines
     * @return the running deadline; {@link #stop()} it when the call ends
     */
    public static Deadline start(Call call, HttpLimits limits, boolean firstByte, boolean idle) {
        Deadline d = new Deadline(call, limits, firstByte, idle);
        Tag tag = call.request().tag(Tag.class);
        if (tag != null) {
            tag.attach(d);
        } else {
            d.connected = true;
        }
        d.schedule();
        return d;
    }

    /**
     * Cancels a call from the timer thread: closing a socket (a TLS close in particular) may block, and the
     * thread that asked to cancel should not wait for it.
     *
     * @param call the call to cancel
     */
    public static void cancelLater(Call call) {
        TIMER.execute(call::cancel);
    }

    /** Records that a line (or, for a body, a read) arrived: switches from the first-byte to the idle limit. */
    public void activity() {
        lastActivity = System.nanoTime();
        if (!sawLine) {
            sawLine = true;
            synchronized (this) {
                windowStart = lastActivity;
                windowStartBytes = bytes;
                if (future != null) {
                    future.cancel(false);
                }
            }
            schedule();
        }
    }

    /**
     * Records bytes received (or sent, for an upload), for the minimum rate.
     *
     * @param n how many
     */
    public void bytes(long n) {
        if (n > 0) {
            bytes += n;
        }
    }

    /** Stops watching; the call is left alone. */
    public synchronized void stop() {
        stopped = true;
        if (future != null) {
            future.cancel(false);
        }
    }

    /** @return the limit that passed and ended the call, or {@code null} */
    public Limit expired() {
        return expired;
    }

    /** @return the value of the limit that passed, in milliseconds, or bytes per second for the rate */
    public long expiredValue() {
        return expiredValue;
    }

    /** @return the limit that passed as words, such as {@code "first-token limit of 30 s"}, or {@code null} */
    public String describeExpired() {
        Limit l = expired;
        if (l == null) {
            return null;
        }
        return switch (l) {
            case CONNECT -> "connect limit of " + HttpLimits.describe(Duration.ofMillis(expiredValue))
                    + " (connection and TLS handshake)";
            case FIRST_BYTE -> "first-token limit of " + HttpLimits.describe(Duration.ofMillis(expiredValue));
            case IDLE -> "idle limit of " + HttpLimits.describe(Duration.ofMillis(expiredValue)) + " between lines";
            case REQUEST -> "whole-request limit of " + HttpLimits.describe(Duration.ofMillis(expiredValue));
            case MIN_RATE -> "minimum transfer rate of " + expiredValue + " byte(s)/s over "
                    + HttpLimits.describe(Duration.ofNanos(windowNanos));
            default -> l.name();
        };
    }

    /** @return true when a line has arrived */
    public boolean sawLine() {
        return sawLine;
    }

    /** @return bytes recorded so far */
    public long bytesSoFar() {
        return bytes;
    }

    private long due() {
        long due = Long.MAX_VALUE;
        if (requestNanos > 0) {
            due = start + requestNanos;
        }
        if (!connected && connectNanos > 0) {
            due = Math.min(due, start + connectNanos);
        }
        if (!sawLine && firstByteNanos > 0) {
            due = Math.min(due, start + firstByteNanos);
        }
        if (sawLine && idleNanos > 0) {
            due = Math.min(due, lastActivity + idleNanos);
        }
        if (sawLine && minBytesPerSecond > 0) {
            due = Math.min(due, windowStart + windowNanos);
        }
        return due;
    }

    private synchronized void schedule() {
        if (stopped) {
            return;
        }
        long due = due();
        if (due == Long.MAX_VALUE) {
            return;
        }
        long delay = Math.max(0, due - System.nanoTime());
        future = TIMER.schedule(this, delay, TimeUnit.NANOSECONDS);
    }

    @Override
    public void run() {
        if (stopped) {
            return;
        }
        long now = System.nanoTime();
        if (!connected && connectNanos > 0 && now - start >= connectNanos) {
            fire(Limit.CONNECT, connectNanos / 1_000_000);
        } else if (requestNanos > 0 && now - start >= requestNanos) {
            fire(Limit.REQUEST, requestNanos / 1_000_000);
        } else if (!sawLine && firstByteNanos > 0 && now - start >= firstByteNanos) {
            fire(Limit.FIRST_BYTE, firstByteNanos / 1_000_000);
        } else if (sawLine && idleNanos > 0 && now - lastActivity >= idleNanos) {
            fire(Limit.IDLE, idleNanos / 1_000_000);
        } else if (sawLine && minBytesPerSecond > 0 && now - windowStart >= windowNanos && belowRate(now)) {
            fire(Limit.MIN_RATE, minBytesPerSecond);
        } else {
            schedule();
        }
    }

    private synchronized boolean belowRate(long now) {
        long got = bytes - windowStartBytes;
        double need = minBytesPerSecond * ((now - windowStart) / 1e9);
        if (got < need) {
            return true;
        }
        windowStart = now;
        windowStartBytes = bytes;
        return false;
    }

    private void fire(Limit limit, long value) {
        synchronized (this) {
            if (stopped) {
                return;
            }
            expiredValue = value;
            expired = limit;
        }
        call.cancel();
    }
}
