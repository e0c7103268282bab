package io.github.locallm.openai;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;

/**
 * Enforces the time limits of one call: time to the first line, idle gap between lines and the whole
 * call. When a limit passes it cancels the HTTP call, so the blocked reader wakes with an
 * {@link java.io.IOException} and the server sees the connection close.
 *
 * <p>Activity costs one volatile write; the timer wakes only when a deadline may have passed.
 */
final class Deadline implements Runnable {
    private static final ScheduledThreadPoolExecutor TIMER = newTimer();

    private final Call call;
    private final long connectNanos;
    private final long firstTokenNanos;
    private final long idleNanos;
    private final long requestNanos;
    private final long start;
    private volatile long lastActivity;
    private volatile boolean sawLine;
    private volatile boolean connected;
    private volatile boolean stopped;
    private volatile String expired;
    private ScheduledFuture<?> future;

    private Deadline(Call call, Duration connect, Duration firstToken, Duration idle, Duration request) {
        this.call = call;
        this.connectNanos = connect.toNanos();
        this.firstTokenNanos = firstToken.toNanos();
        this.idleNanos = idle.toNanos();
        this.requestNanos = request.toNanos();
        this.start = System.nanoTime();
        this.lastActivity = start;
    }

    private static ScheduledThreadPoolExecutor newTimer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "locallm-openai-deadlines");
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
     * @param call the call to cancel when a limit passes; its request may carry a {@link Tag}
     * @param connect limit until the connection is up (TLS handshake included); zero for none
     * @param firstToken limit until the first line; zero for none
     * @param idle limit between lines; zero for none
     * @param request limit of the whole call; zero for none
     * @return the running deadline; {@link #stop()} it when the call ends
     */
    static Deadline start(Call call, Duration connect, Duration firstToken, Duration idle, Duration request) {
        Deadline d = new Deadline(call, connect, firstToken, idle, request);
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
    static void cancelLater(Call call) {
        TIMER.execute(call::cancel);
    }

    /** Records that a line arrived. */
    void activity() {
        lastActivity = System.nanoTime();
        if (!sawLine) {
            // the first line switches from the first-token limit to the (usually shorter) idle limit
            sawLine = true;
            synchronized (this) {
                if (future != null) {
                    future.cancel(false);
                }
            }
            schedule();
        }
    }

    /** Stops watching; the call is left alone. */
    synchronized void stop() {
        stopped = true;
        if (future != null) {
            future.cancel(false);
        }
    }

    /** @return which limit passed, such as {@code "first-token limit of 30 s"}, or {@code null} */
    String expired() {
        return expired;
    }

    /** @return true when a line has arrived */
    boolean sawLine() {
        return sawLine;
    }

    private long due() {
        long due = Long.MAX_VALUE;
        if (requestNanos > 0) {
            due = start + requestNanos;
        }
        if (!connected && connectNanos > 0) {
            due = Math.min(due, start + connectNanos);
        }
        if (!sawLine && firstTokenNanos > 0) {
            due = Math.min(due, start + firstTokenNanos);
        }
        if (sawLine && idleNanos > 0) {
            due = Math.min(due, lastActivity + idleNanos);
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
            fire("connect limit of " + Limits.describe(Duration.ofNanos(connectNanos))
                    + " (connection and TLS handshake)");
        } else if (requestNanos > 0 && now - start >= requestNanos) {
            fire("whole-request limit of " + Limits.describe(Duration.ofNanos(requestNanos)));
        } else if (!sawLine && firstTokenNanos > 0 && now - start >= firstTokenNanos) {
            fire("first-token limit of " + Limits.describe(Duration.ofNanos(firstTokenNanos)));
        } else if (sawLine && idleNanos > 0 && now - lastActivity >= idleNanos) {
            fire("idle limit of " + Limits.describe(Duration.ofNanos(idleNanos)) + " between tokens");
        } else {
            schedule();
        }
    }

    private void fire(String what) {
        synchronized (this) {
            if (stopped) {
                return;
            }
            expired = what;
        }
        call.cancel();
    }
}
