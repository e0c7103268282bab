package io.github.locallm.examples;

import io.github.locallm.ollama.OllamaClient.PullProgress;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Draws the progress of an Ollama pull as a text bar, one per downloaded layer. At a terminal the bar is
 * redrawn in place; otherwise a line is printed at each tenth of a layer, so logs stay short. Not
 * thread-safe: feed it from the thread that pulls.
 */
final class ProgressBar {
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final boolean inPlace;
    private String layer = "";
    private int lastTenth = -1;
    private boolean open;

    ProgressBar(PrintStream out, boolean inPlace) {
        this.out = out;
        this.inPlace = inPlace;
    }

    /** @param p the next progress line of the pull */
    void update(PullProgress p) {
        if (p.total() <= 0) {
            finishLine();
            layer = "";
            out.println(p.status());
            return;
        }
        String key = p.status() + " " + p.digest();
        if (!key.equals(layer)) {
            finishLine();
            layer = key;
            lastTenth = -1;
        }
        int tenth = (int) Math.floor(p.fraction() * 10);
        if (inPlace) {
            out.print("\r" + render(p));
            open = true;
        } else if (tenth != lastTenth) {
            out.println(render(p));
        }
        lastTenth = tenth;
        if (p.completed() >= p.total()) {
            finishLine();
        }
        out.flush();
    }

    /** Ends a bar drawn in place, so that what follows starts on a new line. */
    void finishLine() {
        if (open) {
            out.println();
            open = false;
        }
    }

    /** @return one bar: status, short digest, bar, percentage and sizes */
    static String render(PullProgress p) {
        double f = p.fraction();
        int filled = (int) Math.round(f * WIDTH);
        String digest = p.digest().startsWith("sha256:") ? p.digest().substring(7) : p.digest();
        if (digest.length() > 12) {
            digest = digest.substring(0, 12);
        }
        String label = p.status().contains(digest) ? p.status() : p.status() + " " + digest;
        return String.format(Locale.ROOT, "%s [%s%s] %3d%% %s / %s", label.strip(),
                "#".repeat(filled), "-".repeat(WIDTH - filled), Math.round(f * 100), size(p.completed()),
                size(p.total()));
    }

    /** @return a byte count for people: {@code 1.2 GB}, {@code 640 KB} */
    static String size(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"KB", "MB", "GB", "TB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    }
}
