package io.github.locallm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The entry point of one measurement process that {@link BenchMain} starts: it runs one scenario and prints
 * its result as one line {@code RESULT {json}} on standard output (or {@code ERROR message}).
 *
 * <p>Usage: {@code ChildMain SCENARIO key=value...} where the scenario is {@code generate}, {@code chat},
 * {@code bandwidth}, {@code client}, {@code scaling}, {@code rss}, {@code djl-products} or {@code paced-server}. The server prints {@code PORT n} and
 * serves until its standard input ends. Not meant to be run by hand, but harmless.
 *
 * <pre>{@code
 * java -cp ... io.github.locallm.bench.ChildMain bandwidth threads=2 mbPerThread=512
 * }</pre>
 *
 * <p>Not thread-safe; one scenario per process.
 */
public final class ChildMain {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChildMain() {
    }

    /**
     * Runs one scenario and exits.
     *
     * @param args the scenario, then {@code key=value} parameters
     */
    public static void main(String[] args) {
        Map<String, String> p = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            p.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        try {
            Map<String, Object> r;
            switch (args[0]) {
                case "generate": r = GenerationBench.run(p); break;
                case "chat": r = ChatBench.run(p); break;
                case "bandwidth": r = BandwidthBench.run(p); break;
                case "client": r = ClientBench.run(p); break;
                case "scaling": r = ScalingBench.run(p); break;
                case "rss": r = ScalingBench.rss(p); break;
                case "djl-products": r = DjlProductBench.run(p); break;
                case "paced-server": serve(p); return;
                default: throw new IllegalArgumentException("unknown scenario " + args[0]);
            }
            if (r.get("paired") instanceof Map<?, ?> sides) {
                // one result per side of a paired child, each named by its side
                for (Map.Entry<?, ?> e : sides.entrySet()) {
                    System.out.println("RESULT@" + e.getKey() + " " + JSON.writeValueAsString(e.getValue()));
                }
            } else {
                System.out.println("RESULT " + JSON.writeValueAsString(r));
            }
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) {
            t.printStackTrace();
            String msg = String.valueOf(t.getMessage()).replace('\n', ' ');
            System.out.println("ERROR " + t.getClass().getSimpleName() + ": " + msg);
            System.out.flush();
            System.exit(2);
        }
    }

    private static void serve(Map<String, String> p) throws IOException {
        try (PacedServer server = PacedServer.start(java.util.List.of(p.getOrDefault("models", "bench:t16").split(",")))) {
            System.out.println("PORT " + server.port());
            System.out.flush();
            while (System.in.read() != -1) {
                // Serve until the parent closes our standard input.
            }
        }
        System.exit(0);
    }
}
