package io.github.locallm.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening a model changes no system property, also when it loads the native library for the first time. */
class NoGlobalStateTest {

    @Test
    void openingAJllamaModelLeavesTheSystemPropertiesAsTheyWere(@TempDir Path dir) throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Path err = dir.resolve("stderr.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "-Djava.io.tmpdir=" + tmp, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), SystemPropertiesProbe.class.getName(), work.toString()))
                .redirectOutput(dir.resolve("stdout.txt").toFile()).redirectError(err.toFile()).start();
        boolean exited = p.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        assertThat(exited).as("the probe's JVM exited").isTrue();
        assertThat(p.exitValue()).as("probe exit code (9: properties changed); stderr: "
                + Files.readString(err, StandardCharsets.UTF_8)).isZero();
    }
}
