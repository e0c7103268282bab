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

    /**
     * Returns the spread of a ratio between two sides measured in several children each: {@code {lowest,
     * median, highest}}, where lowest pairs the smallest numerator child with the largest denominator child
     * and highest the reverse. NaN where a side has no value.
     */
    static double[] ratioSpread(Collection<Double> numerator, Collection<Double> denominator) {
        double[] n = range(numerator);
        double[] d = range(denominator);
        return new double[] {n[0] / d[1], median(numerator) / median(denominator), n[1] / d[0]};
    }

    /**
     * Returns the verdict of a ratio target: "met" when the whole spread is on the good side of the threshold,
     * "missed" when the whole spread is on the bad side, "inconclusive" when the spread straddles it.
     */
    static String verdict(double[] spread, double threshold, boolean higherIsBetter) {
        if (Double.isNaN(spread[0]) || Double.isNaN(spread[2])) {
            return "not measured";
        }
        double lo = Math.min(spread[0], spread[2]);
        double hi = Math.max(spread[0], spread[2]);
        if (higherIsBetter ? lo >= threshold : hi <= threshold) {
            return "met";
        }
        if (higherIsBetter ? hi < threshold : lo > threshold) {
            return "missed";
        }
        return "inconclusive";
    }

    /** Returns {@code {min, median, max}} of the values, NaN where there are none. */
    static double[] spread(Collection<Double> values) {
        double[] r = range(values);
        return new double[] {r[0], median(values), r[1]};
    }

    /**
     * Returns the ratios of two sides measured in the same rounds, round by round ({@code numerator[i] /
     * denominator[i]}): the children of one round ran next to each other, so a slow spell of the machine
     * weighs on both. Empty when the sides do not have the same number of rounds.
     */
    static java.util.List<Double> paired(java.util.List<Double> numerator, java.util.List<Double> denominator,
                                         boolean difference) {
        java.util.List<Double> out = new java.util.ArrayList<>();
        if (numerator.size() != denominator.size()) {
            return out;
        }
        for (int i = 0; i < numerator.size(); i++) {
            out.add(difference ? numerator.get(i) - denominator.get(i) : numerator.get(i) / denominator.get(i));
        }
        return out;
    }
}
