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
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The charts of a run, as PNG files: the ratio bars of the targets (min, median and max across rounds), decode
 * tokens/s against threads, the scaling curves (decode tokens/s and time to first token against context fill,
 * prompt tokens/s against prompt length, resident memory against context size, aggregate tokens/s against
 * concurrent sessions) and the HTTP clients' cost per token.
 */
final class Plots {
    private static final String[][] SCALING = {{"llamacpp", "llamacpp engine (Q8_0)"},
        {"jllama", "jllama engine (Q8_0)"}, {"djl", "DJL (F32)"}};

    /** The name suffix of the min..max bars that go with a curve. */
    private static final String RANGE = ", min..max";

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
        String[][] curves = {
            {"scaling-decode-vs-fill", "genTps",
                "Decode tokens/s against context fill (median, min..max of rounds)", "context fill (tokens)",
                "decode tokens/s"},
            {"scaling-ttft-vs-fill", "ttftMs",
                "Time to first token against context fill (median, min..max of rounds)",
                "context fill = prompt tokens", "time to first token (ms)"},
            {"scaling-prompt-vs-length", "promptTps",
                "Prompt tokens/s against prompt length (median, min..max of rounds)", "prompt tokens",
                "prompt tokens/s"},
            {"scaling-rss-vs-fill", "peakRss",
                "Peak resident memory against context fill (median, min..max of rounds)", "context fill (tokens)",
                "peak RSS (MiB)"}};
        for (String[] c : curves) {
            if (fillCurve(b, dir.resolve(c[0]), c[1], c[2], c[3], c[4])) {
                written.add(c[0] + ".png");
            }
        }
        if (rss(b, dir.resolve("scaling-rss-vs-context"))) {
            written.add("scaling-rss-vs-context.png");
        }
        if (sessions(b, dir.resolve("scaling-sessions"))) {
            written.add("scaling-sessions.png");
        }
        if (clients(b, dir.resolve("clients"))) {
            written.add("clients.png");
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
            double[] s = Stats.spread(Report.ratios(b, r.numerator(), r.denominator(), r.field()));
            if (Double.isNaN(s[1])) {
                continue;
            }
            names.add(r.shortName());
            lo.add(s[0]);
            mid.add(s[1]);
            hi.add(s[2]);
            goal.add(Double.isNaN(r.goal()) ? 0.0 : r.goal());
        }
        if (names.isEmpty()) {
            return false;
        }
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(600)
                .title("Ratios: min / median / max of the per-round ratios, and their goals (0 = no goal)")
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

    private static boolean fillCurve(BenchMain b, Path file, String field, String title, String xTitle,
                                     String yTitle) throws IOException {
        double scale = field.equals("peakRss") ? 1024.0 * 1024.0 : 1;
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisLogarithmic(true);
        boolean any = false;
        for (String[] v : SCALING) {
            String key = "scaling." + v[0];
            java.util.SortedMap<Integer, Double> points = new java.util.TreeMap<>();
            for (java.util.Map<String, Object> m : b.runs.getOrDefault(key, List.of())) {
                for (String k : m.keySet()) {
                    if (k.startsWith("fill") && k.endsWith("." + field)) {
                        int fill = Integer.parseInt(k.substring(4, k.length() - field.length() - 1));
                        points.put(fill, b.value(key, k) / scale);
                    }
                }
            }
            if (!points.isEmpty()) {
                java.util.SortedMap<Integer, List<Double>> all = new java.util.TreeMap<>();
                for (int fill : points.keySet()) {
                    List<Double> vals = new ArrayList<>();
                    for (double d : b.values(key, "fill" + fill + "." + field)) {
                        vals.add(d / scale);
                    }
                    all.put(fill, vals);
                }
                addWithRange(chart, v[1], all);
                any = true;
            }
        }
        if (any) {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
        return any;
    }

    private static boolean rss(BenchMain b, Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(500)
                .title("RSS vs context size, after load and one generation (median, min..max)")
                .xAxisTitle("context size (tokens)").yAxisTitle("RSS (MiB)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        boolean any = false;
        for (String[] v : SCALING) {
            java.util.SortedMap<Integer, List<Double>> points = new java.util.TreeMap<>();
            for (String key : b.runs.keySet()) {
                if (key.startsWith("rss." + v[0] + ".")) {
                    List<Double> mib = new ArrayList<>();
                    for (double d : b.values(key, "rssAfterGenerate")) {
                        mib.add(d / (1024.0 * 1024.0));
                    }
                    points.put(Integer.parseInt(key.substring(key.lastIndexOf('.') + 1)), mib);
                }
            }
            if (!points.isEmpty()) {
                addWithRange(chart, v[1], points);
                any = true;
            }
        }
        if (any) {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
        return any;
    }

    /**
     * Adds one curve through the medians of each point's values, and in the same colour a vertical bar from the
     * smallest to the largest value of each point that has more than one (the spread across children).
     */
    private static void addWithRange(XYChart chart, String name, java.util.SortedMap<Integer, List<Double>> points) {
        long curves = chart.getSeriesMap().keySet().stream().filter(k -> !k.endsWith(RANGE)).count();
        java.awt.Color[] palette = chart.getStyler().getSeriesColors();
        java.awt.Color color = palette[(int) (curves % palette.length)];
        List<Double> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        List<Double> barX = new ArrayList<>();
        List<Double> barY = new ArrayList<>();
        points.forEach((at, vals) -> {
            double[] s = Stats.spread(vals);
            if (Double.isNaN(s[1])) {
                return;
            }
            x.add((double) at);
            y.add(s[1]);
            if (vals.size() > 1) {
                // a NaN ends the bar: the line is not drawn from one point's bar to the next
                barX.addAll(List.of((double) at, (double) at, (double) at));
                barY.addAll(List.of(s[0], s[2], Double.NaN));
            }
        });
        XYSeries median = chart.addSeries(name, x, y);
        median.setMarker(SeriesMarkers.CIRCLE);
        median.setLineColor(color);
        median.setMarkerColor(color);
        if (!barX.isEmpty()) {
            XYSeries bar = chart.addSeries(name + RANGE, barX, barY);
            bar.setMarker(SeriesMarkers.NONE);
            bar.setLineColor(color);
            bar.setLineStyle(new java.awt.BasicStroke(3f));
            bar.setShowInLegend(false);
        }
    }

    private static boolean sessions(BenchMain b, Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(500)
                .title("Aggregate decode tokens/s against concurrent sessions on one open model (median)")
                .xAxisTitle("concurrent sessions").yAxisTitle("tokens/s, all sessions together").build();
        boolean any = false;
        for (String[] v : SCALING) {
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (int n : new int[] {1, 2, 4, 8}) {
                double t = b.value("scaling." + v[0], "sessions" + n + ".tps");
                if (!Double.isNaN(t)) {
                    x.add((double) n);
                    y.add(t);
                }
            }
            if (!x.isEmpty()) {
                chart.addSeries(v[1], x, y).setMarker(SeriesMarkers.CIRCLE);
                any = true;
            }
        }
        if (any) {
            BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        }
        return any;
    }

    private static boolean clients(BenchMain b, Path file) throws IOException {
        List<String> names = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        List<Double> latency = new ArrayList<>();
        for (String[] c : ClientBench.CLIENTS) {
            double v = b.value("client." + c[0], "cpuUsPerToken");
            if (!Double.isNaN(v)) {
                names.add(c[1]);
                cpu.add(v);
                latency.add(b.value("client." + c[0], "latencyUsMedian"));
            }
        }
        if (names.isEmpty()) {
            return false;
        }
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(600)
                .title("HTTP clients on a paced server: CPU per token and median write-to-handler latency (µs)")
                .xAxisTitle("client").yAxisTitle("µs").build();
        chart.getStyler().setXAxisLabelRotation(20);
        chart.getStyler().setOverlapped(false);
        chart.addSeries("CPU µs per token", names, cpu);
        chart.addSeries("write→handler µs (median)", names, latency);
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }
}
