package io.github.locallm.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /** Returns the CPU time of the whole process (all threads, JIT and GC included), in nanoseconds. */
    static long processCpuNanos() {
        return OS.getProcessCpuTime();
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
