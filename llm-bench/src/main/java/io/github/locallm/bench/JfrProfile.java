package io.github.locallm.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Reads a Flight Recorder file of a child and counts where its generating thread was: in which native method
 * (a PyTorch operator, for DJL) or in Java code, and at which line of the decoder.
 */
final class JfrProfile {
    private JfrProfile() {
    }

    /**
     * Summarizes the method samples whose stack passes through a class of {@code scope}.
     *
     * @param jfr   the recording
     * @param scope a prefix of "class.method" that marks the generation path
     * @param lines the class whose source lines are counted
     * @return {@code samples}, {@code top} (native method or "Java: class" to count) and {@code lines}
     */
    static Map<String, Object> summarize(Path jfr, String scope, String lines) throws IOException {
        Map<String, Integer> top = new TreeMap<>();
        Map<String, Integer> at = new TreeMap<>();
        int samples = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            String type = e.getEventType().getName();
            boolean nativeSample = type.equals("jdk.NativeMethodSample");
            if (!nativeSample && !type.equals("jdk.ExecutionSample")) {
                continue;
            }
            RecordedStackTrace st = e.getStackTrace();
            if (st == null || st.getFrames().isEmpty()) {
                continue;
            }
            List<RecordedFrame> frames = st.getFrames();
            String line = null;
            boolean inScope = false;
            for (RecordedFrame f : frames) {
                String cls = f.getMethod().getType().getName();
                if ((cls + "." + f.getMethod().getName()).startsWith(scope)) {
                    inScope = true;
                }
                if (line == null && cls.equals(lines)) {
                    line = simple(cls) + "." + f.getMethod().getName() + ":" + f.getLineNumber();
                }
            }
            if (!inScope) {
                continue;
            }
            samples++;
            RecordedFrame f0 = frames.get(0);
            String name = nativeSample
                    ? simple(f0.getMethod().getType().getName()) + "." + f0.getMethod().getName()
                    : "Java code in " + simple(f0.getMethod().getType().getName());
            top.merge(name, 1, Integer::sum);
            if (line != null) {
                at.merge(line, 1, Integer::sum);
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("samples", samples);
        r.put("top", sortDesc(top));
        r.put("lines", sortDesc(at));
        return r;
    }

    private static String simple(String cls) {
        return cls.substring(cls.lastIndexOf('.') + 1);
    }

    private static Map<String, Integer> sortDesc(Map<String, Integer> m) {
        Map<String, Integer> out = new LinkedHashMap<>();
        m.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue())
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }
}
