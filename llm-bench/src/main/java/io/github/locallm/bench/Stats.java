package io.github.locallm.bench;

import java.util.Arrays;
import java.util.Collection;

/** Small statistics over repeated measurements. */
final class Stats {
    private Stats() {
    }

    /** Returns the median of the values, NaN when there are none. NaN values are left out. */
    static double median(Collection<Double> values) {
        double[] v = values.stream().filter(d -> d != null && !Double.isNaN(d)).mapToDouble(Double::doubleValue)
                .toArray();
        return median(v);
    }

    /** Returns the median of the values, NaN when there are none. */
    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Returns the smallest and largest value as "min..max", for the spread column of the tables. */
    static double[] range(Collection<Double> values) {
        double lo = Double.NaN;
        double hi = Double.NaN;
        for (Double d : values) {
            if (d == null || Double.isNaN(d)) {
                continue;
            }
            lo = Double.isNaN(lo) ? d : Math.min(lo, d);
            hi = Double.isNaN(hi) ? d : Math.max(hi, d);
        }
        return new double[] {lo, hi};
    }
}
