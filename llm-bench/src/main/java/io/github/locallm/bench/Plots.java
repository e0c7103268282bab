package io.github.locallm.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The charts of a run, as PNG files: the ratio bars of the targets (min, median and max across child JVMs)
 * and decode tokens/s against threads for the llama.cpp engines and the C driver.
 */
final class Plots {
    private Plots() {
    }

    /** Writes the charts into {@code dir} and returns the file names written. */
    static List<String> write(BenchMain b, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        List<String> written = new ArrayList<>();
        if (ratios(b, dir.resolve("ratios"))) {
            written.add("ratios.png");
        }
        if (threads(b, dir.resolve("scaling-threads"))) {
            written.add("scaling-threads.png");
        }
        return written;
    }

    private static boolean ratios(BenchMain b, Path file) throws IOException {
        List<String> names = new ArrayList<>();
        List<Double> lo = new ArrayList<>();
        List<Double> mid = new ArrayList<>();
        List<Double> hi = new ArrayList<>();
        List<Double> goal = new ArrayList<>();
        for (Report.Ratio r : Report.RATIOS) {
            double[] s = Stats.ratioSpread(b.values(r.numerator(), r.field()), b.values(r.denominator(), r.field()));
            if (Double.isNaN(s[1])) {
                continue;
            }
            names.add(r.shortName());
            lo.add(s[0]);
            mid.add(s[1]);
            hi.add(s[2]);
            goal.add(r.goal());
        }
        if (names.isEmpty()) {
            return false;
        }
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(560)
                .title("Ratios (min / median / max across child JVMs) and their goals")
                .xAxisTitle("ratio").yAxisTitle("×").build();
        chart.getStyler().setXAxisLabelRotation(20);
        chart.getStyler().setOverlapped(false);
        chart.addSeries("min", names, lo);
        chart.addSeries("median", names, mid);
        chart.addSeries("max", names, hi);
        chart.addSeries("goal", names, goal);
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }

    private static boolean threads(BenchMain b, Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(500)
                .title("Decode tokens/s against threads (median, Q8_0)").xAxisTitle("threads")
                .yAxisTitle("tokens/s").build();
        boolean any = false;
        for (String variant : new String[] {"llamacpp", "jllama", "native-c"}) {
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (int t : new int[] {1, 2}) {
                double v = b.value("engines.t" + t + "." + variant, "genTps");
                if (!Double.isNaN(v)) {
                    x.add((double) t);
                    y.add(v);
                }
            }
            if (!x.isEmpty()) {
                chart.addSeries(variant.equals("native-c") ? "C driver" : variant + " engine", x, y)
                        .setMarker(SeriesMarkers.CIRCLE);
                any = true;
            }
        }
        if (any) {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
        return any;
    }
}
