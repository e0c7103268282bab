package io.github.locallm.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** What a child process measures about itself: Java allocation, CPU time and resident memory. */
final class Probe {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    /** {@code getTotalThreadAllocatedBytes} exists from JDK 21 on; it also counts threads that ended. */
    private static final Method TOTAL = totalMethod();

    static {
        THREADS.setThreadAllocatedMemoryEnabled(true);
    }

    private Probe() {
    }

    private static Method totalMethod() {
        try {
            return com.sun.management.ThreadMXBean.class.getMethod("getTotalThreadAllocatedBytes");
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    /** Returns how the allocation is counted, for the report. */
    static String allocationMethod() {
        return TOTAL != null ? "getTotalThreadAllocatedBytes" : "sum of getThreadAllocatedBytes over live threads";
    }

    /** Returns the bytes of Java heap allocated by every thread of this JVM so far. */
    static long allocatedBytes() {
        if (TOTAL != null) {
            try {
                long total = (Long) TOTAL.invoke(THREADS);
                if (total >= 0) {
                    return total;
                }
            } catch (ReflectiveOperationException e) {
                // Fall back to the per-thread sum.
            }
        }
        long[] ids = THREADS.getAllThreadIds();
        long sum = 0;
        for (long b : THREADS.getThreadAllocatedBytes(ids)) {
            if (b > 0) {
                sum += b;
            }
        }
        return sum;
    }

    /**
     * Returns the bytes of Java heap allocated so far by every thread this process ran since the first call,
     * threads that have ended included (up to their last sample, every 20 ms), the sampling thread excluded.
     */
    static long heapAllocatedBytes() {
        return ThreadTotals.totals()[0];
    }

    /**
     * Returns the CPU time of the application's Java threads, counted like {@link #heapAllocatedBytes()}
     * (threads that ended included, JIT compiler and collector threads not among them), in nanoseconds.
     */
    static long javaThreadsCpuNanos() {
        return ThreadTotals.totals()[1];
    }

    /** Returns how {@link #heapAllocatedBytes()} counts, for the report. */
    static String heapMethod() {
        return "ThreadMXBean allocated bytes of every Java thread the client process ran, sampled every 20 ms so "
                + "that threads that end are counted (the sampler's own thread excluded)";
    }

    /**
     * Per-thread allocation and CPU time of every thread seen, kept after the thread ends: a client that starts
     * threads per request is charged for them.
     */
    private static final class ThreadTotals {
        private static final Map<Long, long[]> SEEN = new java.util.HashMap<>();
        private static volatile long samplerId = -1;

        static synchronized long[] totals() {
            start();
            sample();
            long alloc = 0;
            long cpu = 0;
            for (long[] v : SEEN.values()) {
                alloc += v[0];
                cpu += v[1];
            }
            return new long[] {alloc, cpu};
        }

        private static synchronized void sample() {
            long[] ids = THREADS.getAllThreadIds();
            long[] alloc = THREADS.getThreadAllocatedBytes(ids);
            long[] cpu = THREADS.getThreadCpuTime(ids);
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == samplerId || alloc[i] < 0) {
                    continue;
                }
                long[] v = SEEN.get(ids[i]);
                if (v == null) {
                    v = new long[2];
                    SEEN.put(ids[i], v);
                }
                v[0] = alloc[i];
                v[1] = Math.max(v[1], cpu[i]);
            }
        }

        private static void start() {
            if (samplerId != -1) {
                return;
            }
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                    sample();
                }
            }, "probe-thread-sampler");
            t.setDaemon(true);
            samplerId = t.getId();
            t.start();
        }
    }

    /** Returns the CPU time of the whole process (all threads, JIT and GC included), in nanoseconds. */
    static long processCpuNanos() {
        return OS.getProcessCpuTime();
    }

    /**
     * Returns the CPU time of the whole process (every thread it ever ran, JIT compiler and collector
     * included) from {@code clock_gettime(CLOCK_PROCESS_CPUTIME_ID)}, to the nanosecond; where that cannot be
     * called, the operating-system bean's figure, which moves in clock ticks of 10 ms.
     */
    static long processCpuNanosPrecise() {
        long[] ts = new long[2];
        if (LibC.INSTANCE != null && LibC.INSTANCE.clock_gettime(2, ts) == 0) {
            return ts[0] * 1_000_000_000L + ts[1];
        }
        return OS.getProcessCpuTime();
    }

    /** Returns how {@link #processCpuNanosPrecise()} counts, for the report. */
    static String cpuMethod() {
        return LibC.INSTANCE != null ? "clock_gettime(CLOCK_PROCESS_CPUTIME_ID), whole process"
                : "OperatingSystemMXBean.getProcessCpuTime (10 ms ticks), whole process";
    }

    /** The C library's clock, through JNA. */
    interface LibC extends com.sun.jna.Library {
        LibC INSTANCE = load();

        int clock_gettime(int clockId, long[] timespec);

        int sched_setaffinity(int pid, long cpusetsize, long[] mask);

        private static LibC load() {
            try {
                return com.sun.jna.Native.load("c", LibC.class);
            } catch (LinkageError e) {
                return null;
            }
        }
    }

    /**
     * Restricts the calling thread to one CPU ({@code sched_setaffinity} of thread 0, the caller); threads and
     * processes it starts afterwards inherit the restriction, threads that exist already keep theirs.
     *
     * @throws IllegalStateException when it cannot be done
     */
    static void pinCallingThread(int cpu) {
        if (LibC.INSTANCE == null || cpu < 0 || cpu >= 64) {
            throw new IllegalStateException("cannot pin a thread to CPU " + cpu + " here");
        }
        long[] mask = {1L << cpu};
        if (LibC.INSTANCE.sched_setaffinity(0, 8, mask) != 0) {
            throw new IllegalStateException("sched_setaffinity to CPU " + cpu + " failed");
        }
    }

    /** Returns the peak resident set size of this process in bytes (VmHWM), or -1 where unknown. */
    static long peakRssBytes() {
        return statusKb("VmHWM:") * 1024;
    }

    /** Returns the current resident set size in bytes (VmRSS), or -1 where unknown. */
    static long rssBytes() {
        return statusKb("VmRSS:") * 1024;
    }

    private static long statusKb(String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String line : lines) {
                if (line.startsWith(key)) {
                    String v = line.substring(key.length()).trim();
                    return Long.parseLong(v.substring(0, v.indexOf(' ')).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
