package io.github.locallm.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;

/**
 * The machine's sequential read bandwidth from Java: every thread sums its own array, far larger than the
 * caches, several times over; the bytes read divided by the wall time is the rate decoding can at best reach.
 */
final class BandwidthBench {
    private BandwidthBench() {
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        long mbPerThread = Long.parseLong(p.getOrDefault("mbPerThread", "512"));
        int passes = Integer.parseInt(p.getOrDefault("passes", "4"));
        int trials = Integer.parseInt(p.getOrDefault("trials", "3"));
        long[][] arrays = new long[threads][];
        for (int t = 0; t < threads; t++) {
            arrays[t] = new long[(int) (mbPerThread * 1024 * 1024 / 8)];
            for (int i = 0; i < arrays[t].length; i += 512) {
                arrays[t][i] = i;
            }
        }
        List<Double> gbps = new ArrayList<>();
        long sink = 0;
        for (int trial = 0; trial <= trials; trial++) {
            CyclicBarrier barrier = new CyclicBarrier(threads + 1);
            long[] sums = new long[threads];
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int id = t;
                Thread w = new Thread(() -> {
                    try {
                        barrier.await();
                        long s = 0;
                        for (int pass = 0; pass < passes; pass++) {
                            s += sum(arrays[id]);
                        }
                        sums[id] = s;
                        barrier.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                w.start();
                workers.add(w);
            }
            barrier.await();
            long start = System.nanoTime();
            barrier.await();
            long ns = System.nanoTime() - start;
            for (Thread w : workers) {
                w.join();
            }
            for (long s : sums) {
                sink += s;
            }
            double bytes = (double) threads * mbPerThread * 1024 * 1024 * passes;
            if (trial > 0) {
                gbps.add(bytes / ns);
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("gbPerSecond", Stats.median(gbps));
        r.put("gbPerSecondMax", gbps.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
        r.put("all", gbps);
        r.put("threads", threads);
        r.put("bytesPerTrial", (double) threads * mbPerThread * 1024 * 1024 * passes);
        r.put("checksum", sink);
        return r;
    }

    private static long sum(long[] a) {
        long s0 = 0;
        long s1 = 0;
        long s2 = 0;
        long s3 = 0;
        int n = a.length & ~3;
        for (int i = 0; i < n; i += 4) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
        }
        return s0 + s1 + s2 + s3;
    }
}
