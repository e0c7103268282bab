package io.github.locallm.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs the compiler and the native programs the harness builds, each bounded in time. Stateless. */
final class NativeTool {
    private NativeTool() {
    }

    /**
     * Runs a command to its end and returns what it printed (standard output and error together).
     *
     * @param cmd the program and its arguments
     * @param timeoutSeconds how long it may run before it is killed
     * @return its output
     * @throws IllegalStateException when it runs longer than the timeout
     */
    static String exec(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        // the output goes to a file, so that waiting for the process is bounded even if it never closes its output
        Path log = Files.createTempFile("bench-exec", ".log");
        try {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new IllegalStateException(cmd.get(0) + " timed out after " + timeoutSeconds + " s");
            }
            return Files.readString(log, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Deletes a flat working directory and the files in it. */
    static void deleteDirectory(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }
}
