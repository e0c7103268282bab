package io.github.locallm.examples;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyModels;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** Runs example programs on captured streams, with generated models and a made-up machine. */
final class TestSupport {
    private TestSupport() {
    }

    /** What a run printed and returned. */
    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- out:\n" + out + "\n--- err:\n" + err;
        }
    }

    /** A program's testable entry point. */
    @FunctionalInterface
    interface Program {
        int run(String[] args, InputStream in, PrintStream out, PrintStream err, Environment env);
    }

    static final Program ASSISTANT = Assistant::run;
    static final Program QUICK_START = (args, in, out, err, env) -> QuickStart.run(args, out, err, env);
    static final Program STREAMING = (args, in, out, err, env) -> StreamingDemo.run(args, out, err, env);
    static final Program OLLAMA_MODELS = (args, in, out, err, env) -> OllamaModels.run(args, out, err, env);
    static final Program JSON_AND_EMBEDDINGS = (args, in, out, err, env) -> JsonAndEmbeddings.run(args, out, err, env);
    static final Program TOOL_CALLING = (args, in, out, err, env) -> ToolCalling.run(args, out, err, env);

    static Result run(Program program, Environment env, String input, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            int code = program.run(args, new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), o, e, env);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    /** A machine whose Ollama server is at {@code ollamaUrl}, not interactive. */
    static Environment env(String ollamaUrl, Path workDir, Path cacheDir) {
        return new Environment(Map.of("OLLAMA_HOST", ollamaUrl), workDir, cacheDir, false, Duration.ofMillis(300));
    }

    /** @return the URL of a loopback port where nothing listens */
    static String deadOllama() {
        try (ServerSocket s = new ServerSocket(0)) {
            return "http://127.0.0.1:" + s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the tiny random Llama as a GGUF file. */
    static Path gguf(Path dir, String name) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(name);
            GgufWriter.write(TinyModels.llama(), file, GgufWriter.Quantization.F32);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the tiny random Llama as a Hugging Face checkpoint directory. */
    static Path checkpoint(Path dir) {
        try {
            HfCheckpointWriter.write(TinyModels.llama(), dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
