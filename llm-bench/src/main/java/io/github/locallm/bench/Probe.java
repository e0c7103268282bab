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
     * Returns the bytes of Java heap this whole process has allocated since the first call, counted from the
     * garbage collector's side: heap in use now plus everything each collection freed. Unlike the per-thread
     * counters it includes threads that have ended (a client that starts threads per request is charged for
     * them); it is exact with a stop-the-world collector such as {@code -XX:+UseSerialGC}, where every
     * collection is reported with its before and after usage.
     */
    static long heapAllocatedBytes() {
        return HeapCounter.allocated();
    }

    /** Returns how {@link #heapAllocatedBytes()} counts, for the report. */
    static String heapMethod() {
        return HeapCounter.collectors();
    }

    /** Sums what each garbage collection freed, from the collectors' notifications. */
    private static final class HeapCounter {
        private static final java.util.concurrent.atomic.AtomicLong FREED = new java.util.concurrent.atomic.AtomicLong();
        private static final java.util.concurrent.atomic.AtomicLong SEEN = new java.util.concurrent.atomic.AtomicLong();
        private static final java.util.Set<String> HEAP_POOLS = new java.util.HashSet<>();

        static {
            for (java.lang.management.MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == java.lang.management.MemoryType.HEAP) {
                    HEAP_POOLS.add(pool.getName());
                }
            }
            for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((javax.management.NotificationEmitter) gc).addNotificationListener((n, handback) -> {
                    if (!n.getType().equals(
                            com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                        return;
                    }
                    com.sun.management.GcInfo info = com.sun.management.GarbageCollectionNotificationInfo
                            .from((javax.management.openmbean.CompositeData) n.getUserData()).getGcInfo();
                    FREED.addAndGet(heap(info.getMemoryUsageBeforeGc()) - heap(info.getMemoryUsageAfterGc()));
                    SEEN.incrementAndGet();
                }, null, null);
            }
        }

        private static long heap(Map<String, java.lang.management.MemoryUsage> usage) {
            long sum = 0;
            for (Map.Entry<String, java.lang.management.MemoryUsage> e : usage.entrySet()) {
                if (HEAP_POOLS.contains(e.getKey())) {
                    sum += e.getValue().getUsed();
                }
            }
            return sum;
        }

        private static long collections() {
            long n = 0;
            for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                n += Math.max(0, gc.getCollectionCount());
            }
            return n;
        }

        static long allocated() {
            // A collection's notification arrives on another thread shortly after it: read only when every
            // collection so far has been added and none ran while reading, so freed bytes are never missing.
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (true) {
                long before = collections();
                while (SEEN.get() < before && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                long used = 0;
                for (java.lang.management.MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    if (pool.getType() == java.lang.management.MemoryType.HEAP) {
                        used += pool.getUsage().getUsed();
                    }
                }
                long freed = FREED.get();
                if (collections() == before || System.nanoTime() > deadline) {
                    return used + freed;
                }
            }
        }

        static String collectors() {
            StringBuilder sb = new StringBuilder();
            for (java.lang.management.GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                sb.append(sb.length() == 0 ? "" : ", ").append(gc.getName());
            }
            return "whole process: heap in use + bytes freed by each collection (" + sb + ")";
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

        private static LibC load() {
            try {
                return com.sun.jna.Native.load("c", LibC.class);
            } catch (LinkageError e) {
                return null;
            }
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
