package io.github.locallm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The native anchor: {@code llama_driver.c} (a resource of this module) compiled with the machine's
 * {@code gcc} against the very libraries the llamacpp engine loaded, then run on the same model, threads and
 * prompts as the Java children ({@code variant=native-c}).
 */
final class NativeDriverBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private NativeDriverBench() {
    }

    static Map<String, Object> run(Map<String, String> p) throws Exception {
        Path model = Path.of(p.get("model"));
        int ctx = Integer.parseInt(p.getOrDefault("ctx", "1024"));
        int threads = Integer.parseInt(p.getOrDefault("threads", "2"));
        int promptTokens = Integer.parseInt(p.getOrDefault("promptTokens", "128"));
        int genTokens = Integer.parseInt(p.getOrDefault("genTokens", "32"));
        int reps = Integer.parseInt(p.getOrDefault("reps", "3"));
        int round = Integer.parseInt(p.getOrDefault("round", "0"));
        Path libDir;
        // The engine unpacks and checks the libraries; its details say where they are.
        try (LocalLlm llm = LocalLlm.open(model, OpenOptions.builder().backend("llamacpp").contextLength(64)
                .threads(1).parameter("engine", "llamacpp").build())) {
            libDir = Path.of(llm.info().details().get("native_library"));
        }
        Path work = Files.createTempDirectory("llama-driver");
        try {
            Path source = work.resolve("llama_driver.c");
            try (InputStream in = NativeDriverBench.class.getResourceAsStream("llama_driver.c")) {
                Files.copy(in, source);
            }
            List<String> cc = new ArrayList<>(List.of("gcc", "-O2", "-o", work.resolve("llama_driver").toString(),
                    source.toString()));
            try (Stream<Path> files = Files.list(libDir)) {
                files.map(Path::toString).filter(f -> f.matches(".*/lib(llama|ggml|ggml-base)(\\.v[0-9.]+)?\\.so"))
                        .sorted().forEach(cc::add);
            }
            cc.add("-Wl,-rpath," + libDir);
            String compiled = NativeTool.exec(cc, 120);
            if (!Files.isExecutable(work.resolve("llama_driver"))) {
                throw new IllegalStateException("gcc could not build the driver: " + compiled);
            }
            List<String> cmd = new ArrayList<>(List.of(work.resolve("llama_driver").toString(), libDir.toString(),
                    model.toString(), Integer.toString(threads), Integer.toString(ctx), Integer.toString(genTokens)));
            for (int i = 0; i < reps; i++) {
                // the prompts the Java children use in the same round
                Path prompt = work.resolve("prompt-" + i + ".txt");
                Files.writeString(prompt, Workload.prompt(promptTokens, round * 50 + i));
                cmd.add(prompt.toString());
            }
            String out = NativeTool.exec(cmd, 600);
            for (String line : out.split("\n")) {
                if (line.startsWith("RESULT ")) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> r = JSON.readValue(line.substring(7), Map.class);
                    r.put("peakRss", (double) -1);
                    return r;
                }
            }
            throw new IllegalStateException("the driver printed no result: " + out);
        } finally {
            NativeTool.deleteDirectory(work);
        }
    }
}
