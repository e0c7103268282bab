package io.github.locallm.bench;

import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The native anchor: {@code llama_driver.c} (a resource of this module) compiled with the machine's
 * {@code gcc} against the very libraries the llamacpp engine loaded, then served one request per line as one
 * side of a paired generation child ({@code variant=...+native-c}), on the same model, threads and prompts as the
 * Java side.
 */
final class NativeDriverBench {
    private NativeDriverBench() {
    }

    /** Returns the directory of the native libraries the llamacpp engine loads (it unpacks and checks them). */
    static Path libraryDirectory(Path model) {
        try (LocalLlm llm = LocalLlm.open(model, OpenOptions.builder().backend("llamacpp").contextLength(64)
                .threads(1).parameter("engine", "llamacpp").build())) {
            return Path.of(llm.info().details().get("native_library"));
        }
    }

    /** Compiles {@code llama_driver.c} into {@code work} against the libraries of {@code libDir}. */
    static Path compile(Path work, Path libDir) throws IOException, InterruptedException {
        Path source = work.resolve("llama_driver.c");
        try (InputStream in = NativeDriverBench.class.getResourceAsStream("llama_driver.c")) {
            Files.copy(in, source);
        }
        Path driver = work.resolve("llama_driver");
        List<String> cc = new ArrayList<>(List.of("gcc", "-O2", "-o", driver.toString(), source.toString()));
        try (Stream<Path> files = Files.list(libDir)) {
            files.map(Path::toString).filter(f -> f.matches(".*/lib(llama|ggml|ggml-base)(\\.v[0-9.]+)?\\.so"))
                    .sorted().forEach(cc::add);
        }
        cc.add("-Wl,-rpath," + libDir);
        String compiled = NativeTool.exec(cc, 120);
        if (!Files.isExecutable(driver)) {
            throw new IllegalStateException("gcc could not build the driver: " + compiled);
        }
        return driver;
    }

    /**
     * The C driver as one side of a paired child: a driver process that has loaded the model and runs one
     * request per line it is sent, while the Java side waits; its timings become samples like the Java side's.
     */
    static final class Served implements GenerationBench.Runner {
        private final Path work;
        private final Process process;
        private final java.io.BufferedWriter toDriver;
        private final java.io.BufferedReader fromDriver;
        private int requests;
        private final double loadMs;

        Served(Path model, int ctx, int threads, int genTokens) throws IOException, InterruptedException {
            Path libDir = libraryDirectory(model);
            work = Files.createTempDirectory("llama-driver");
            Path driver = compile(work, libDir);
            process = new ProcessBuilder(driver.toString(), libDir.toString(), model.toString(),
                    Integer.toString(threads), Integer.toString(ctx), Integer.toString(genTokens), "--serve")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            toDriver = new java.io.BufferedWriter(new java.io.OutputStreamWriter(process.getOutputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            fromDriver = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            String ready = fromDriver.readLine();
            if (ready == null || !ready.startsWith("READY ")) {
                close();
                throw new IllegalStateException("the C driver did not start: " + ready);
            }
            loadMs = Double.parseDouble(ready.substring(6).strip());
        }

        /** The driver's own time to load the model and create its context, in milliseconds. */
        double loadMs() {
            return loadMs;
        }

        @Override
        public GenerationBench.Sample generate(String prompt, int maxTokens) throws Exception {
            Path file = work.resolve("prompt-" + requests++ + ".txt");
            Files.writeString(file, prompt);
            toDriver.write(maxTokens + " " + file + "\n");
            toDriver.flush();
            String line = fromDriver.readLine();
            if (line == null || !line.startsWith("DONE ")) {
                throw new IllegalStateException("the C driver failed a request: " + line);
            }
            String[] f = line.split(" ");
            double ttftMs = Double.parseDouble(f[1]);
            double genTps = Double.parseDouble(f[2]);
            int promptCount = Integer.parseInt(f[4]);
            // timestamps rebuilt from the driver's own timings: the first token at ttft, the last one
            // (maxTokens - 1) intervals later at its generation rate
            long first = (long) (ttftMs * 1e6);
            long last = maxTokens > 1 && genTps > 0 ? first + (long) ((maxTokens - 1) / genTps * 1e9) : first;
            return new GenerationBench.Sample(0, first, last, maxTokens, promptCount, 0);
        }

        @Override
        public void close() {
            try {
                toDriver.close();
            } catch (IOException e) {
                // the driver ends at the end of its input or is ended below
            }
            try {
                if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            try {
                NativeTool.deleteDirectory(work);
            } catch (IOException e) {
                // a temporary directory left behind
            }
        }
    }
}
