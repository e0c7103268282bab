package io.github.locallm.openai;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import okhttp3.HttpUrl;

/**
 * The servers of one model and the client-side choice between them: each call goes to the server with
 * the fewest calls of this client in flight, among those not marked down; a server is marked down when a
 * connection to it fails, it answers 503 or its health check fails, and up again when a health check passes
 * or a call to it succeeds; without health checks it is tried again after {@link #COOLDOWN}.
 *
 * <p>A client-side convenience for a few replicas: it sees only this process's calls, so a server's own
 * router (vLLM's, a gateway) balances better when many clients share the servers.
 *
 * <p>Thread-safe.
 */
final class Endpoints implements AutoCloseable {
    private static final ScheduledThreadPoolExecutor CHECKS = newTimer();

    /** One server. */
    static final class Endpoint {
        private final HttpUrl base;
        private final AtomicInteger inFlight = new AtomicInteger();
        private volatile boolean down;
        private volatile long downSince;
        private volatile String lastFailure = "";

        Endpoint(HttpUrl base) {
            this.base = base;
        }

        /** @return the API root, such as {@code http://h:8000/v1/} */
        HttpUrl base() {
            return base;
        }

        /** @return the server root for extra endpoints ({@code /props}, {@code /tokenize}, {@code /health}) */
        HttpUrl root() {
            String path = base.encodedPath();
            if (path.endsWith("/v1/")) {
                return base.newBuilder().encodedPath(path.substring(0, path.length() - 3)).build();
            }
            return base;
        }

        int inFlight() {
            return inFlight.get();
        }

        /** @return whether the server is down and not yet due for another try */
        private boolean avoid(long cooldownNanos, long now) {
            return down && now - downSince < cooldownNanos;
        }

        String lastFailure() {
            return lastFailure;
        }

        void enter() {
            inFlight.incrementAndGet();
        }

        void leave() {
            inFlight.decrementAndGet();
        }

        @Override
        public String toString() {
            return base.toString();
        }
    }

    /** Without health checks, a server marked down gets calls again after this long. */
    static final java.time.Duration COOLDOWN = java.time.Duration.ofSeconds(30);

    private final List<Endpoint> all;
    private final AtomicInteger turn = new AtomicInteger();
    private volatile long cooldownNanos;
    private volatile ScheduledFuture<?> checks;
    private final LongSupplier clock;

    Endpoints(List<HttpUrl> bases) {
        this(bases, COOLDOWN);
    }

    Endpoints(List<HttpUrl> bases, java.time.Duration cooldown) {
        this(bases, cooldown, System::nanoTime);
    }

    /** @param clock the time in nanoseconds that cooldowns count in ({@link System#nanoTime()} outside tests) */
    Endpoints(List<HttpUrl> bases, java.time.Duration cooldown, LongSupplier clock) {
        this.clock = clock;
        this.cooldownNanos = cooldown.toNanos();
        List<Endpoint> list = new ArrayList<>();
        for (HttpUrl b : bases) {
            list.add(new Endpoint(b));
        }
        this.all = List.copyOf(list);
    }

    List<Endpoint> all() {
        return all;
    }

    /**
     * @param avoid servers already tried by this call; used only when every other one is down
     * @return the least busy server that is up and not avoided; else the least busy not avoided; else any
     */
    Endpoint pick(Set<Endpoint> avoid) {
        long cooldown = cooldownNanos;
        long now = clock.getAsLong();
        Endpoint best = choose(e -> !e.avoid(cooldown, now) && !avoid.contains(e));
        if (best == null) {
            best = choose(e -> !avoid.contains(e));
        }
        if (best == null) {
            best = choose(e -> true);
        }
        return best;
    }

    private Endpoint choose(Predicate<Endpoint> ok) {
        // start at a rotating position so that ties spread over the servers
        int start = Math.floorMod(turn.getAndIncrement(), all.size());
        Endpoint best = null;
        for (int i = 0; i < all.size(); i++) {
            Endpoint e = all.get((start + i) % all.size());
            if (ok.test(e) && (best == null || e.inFlight() < best.inFlight())) {
                best = e;
            }
        }
        return best;
    }

    void markDown(Endpoint e, String why) {
        e.lastFailure = why;
        e.downSince = clock.getAsLong();
        e.down = true;
    }

    void markUp(Endpoint e) {
        e.down = false;
    }

    /**
     * Starts checking every server's health at a fixed interval, when there is more than one.
     *
     * @param interval how often; zero for never
     * @param check tells whether a server is healthy; must be bounded in time
     */
    void startChecks(java.time.Duration interval, Predicate<Endpoint> check) {
        if (all.size() < 2 || interval.isZero()) {
            return;
        }
        long nanos = interval.toNanos();
        // with health checks, a server marked down stays down until a check passes
        cooldownNanos = Long.MAX_VALUE;
        checks = CHECKS.scheduleWithFixedDelay(() -> {
            for (Endpoint e : all) {
                boolean healthy;
                try {
                    healthy = check.test(e);
                } catch (RuntimeException ex) {
                    healthy = false;
                    e.lastFailure = String.valueOf(ex.getMessage());
                }
                if (healthy) {
                    markUp(e);
                } else if (!e.down) {
                    markDown(e, "health check failed");
                }
            }
        }, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        ScheduledFuture<?> f = checks;
        if (f != null) {
            f.cancel(false);
        }
    }

    private static ScheduledThreadPoolExecutor newTimer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "locallm-openai-health");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
}
