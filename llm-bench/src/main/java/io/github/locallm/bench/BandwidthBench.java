package io.github.locallm.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.Stream;

/**
 * The machine's sequential read bandwidth: every thread sums its own array, far larger than the caches, several
 * times over; the bytes read divided by the wall time is the rate decoding can at best reach. Two probes run:
 * a Java loop and {@code bandwidth.c} (a resource of this module) compiled with {@code gcc -O3 -march=native
 * -fopenmp}; the limit is the faster of the two, so no decode kernel can honestly read weights faster than it.
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
        // Free the Java arrays before the native probe allocates its own buffer.
        for (int t = 0; t < threads; t++) {
            arrays[t] = null;
        }
        List<Double> nativeGbps = new ArrayList<>();
        String nativeError = null;
        try {
            nativeGbps = nativeProbe(threads, threads * mbPerThread, passes, trials);
        } catch (IOException | RuntimeException e) {
            nativeError = e.getMessage();
        }
        double javaMax = gbps.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        double nativeMax = nativeGbps.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        List<Double> both = new ArrayList<>(gbps);
        both.addAll(nativeGbps);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("gbPerSecond", Stats.median(nativeGbps.isEmpty() ? gbps : nativeGbps));
        r.put("gbPerSecondMax", both.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
        r.put("javaGbPerSecondMax", javaMax);
        r.put("nativeGbPerSecondMax", nativeMax);
        r.put("all", gbps);
        r.put("nativeAll", nativeGbps);
        if (nativeError != null) {
            r.put("nativeError", nativeError);
        }
        r.put("threads", threads);
        r.put("bytesPerTrial", (double) threads * mbPerThread * 1024 * 1024 * passes);
        r.put("checksum", sink);
        return r;
    }

    /** Compiles and runs the native probe; returns its GB/s per measured trial. */
    static List<Double> nativeProbe(int threads, long megabytes, int passes, int trials)
            throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("bandwidth-probe");
        try {
            Path source = work.resolve("bandwidth.c");
            Path binary = work.resolve("bandwidth");
            try (InputStream in = BandwidthBench.class.getResourceAsStream("bandwidth.c")) {
                if (in == null) {
                    throw new IllegalStateException("bandwidth.c is missing from the class path");
                }
                Files.copy(in, source);
            }
            String cc = NativeTool.exec(List.of("gcc", "-O3", "-march=native", "-fopenmp", "-o", binary.toString(),
                    source.toString()), 120);
            if (!Files.isExecutable(binary)) {
                throw new IllegalStateException("gcc could not build the bandwidth probe: " + cc);
            }
            String out = NativeTool.exec(List.of(binary.toString(), Integer.toString(threads), Long.toString(megabytes),
                    Integer.toString(passes), Integer.toString(trials)), 300);
            List<Double> gbps = new ArrayList<>();
            for (String line : out.split("\n")) {
                if (line.startsWith("TRIAL ")) {
                    gbps.add(Double.parseDouble(line.substring(6).trim()));
                }
            }
            if (gbps.isEmpty()) {
                throw new IllegalStateException("the bandwidth probe printed no trial: " + out);
            }
            return gbps;
        } finally {
            NativeTool.deleteDirectory(work);
        }
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
