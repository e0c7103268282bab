package io.github.locallm.llamacpp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bundled natives are unpacked and verified once: later starts trust files whose size and modification time
 * are those recorded after the check, unpack again any file that changed, and load the CPU variant remembered for
 * this CPU instead of scoring every variant.
 */
class NativesUnpackTest {

    @Test
    void laterStartsReuseTheCheckedFilesAndTheRememberedVariantAndRepairAChangedFile(@TempDir Path dir)
            throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path work = Files.createDirectories(dir.resolve("work"));
        String first = probe(dir, tmp, work);
        String user = System.getProperty("user.name").replaceAll("[^A-Za-z0-9._-]", "_");
        Path natives;
        try (Stream<Path> children = Files.list(tmp.resolve("locallm-llamacpp-" + user))) {
            natives = children.filter(f -> f.getFileName().toString().startsWith("natives-")).findFirst().orElseThrow();
        }
        Path choice = natives.resolve("cpu-variant.choice");
        assertThat(natives.resolve("verified.stamp")).isRegularFile();
        List<String> remembered = Files.readAllLines(choice);
        assertThat(remembered).hasSize(2);
        assertThat(remembered.get(1)).isEqualTo("libggml-cpu-" + first + ".so");

        // the remembered variant is the one loaded: here the baseline x86-64 variant, which runs on any x86-64 CPU
        assertThat(natives.resolve("libggml-cpu-x64.so")).as("the bundled linux-x64 natives").isRegularFile();
        Files.write(choice, List.of(remembered.get(0), "libggml-cpu-x64.so"));
        assertThat(probe(dir, tmp, work)).isEqualTo("x64");

        // a choice made on another CPU is not used: every variant is scored again and the choice rewritten
        Files.write(choice, List.of("another-cpu", "libggml-cpu-x64.so"));
        assertThat(probe(dir, tmp, work)).isEqualTo(first);
        assertThat(Files.readAllLines(choice)).isEqualTo(remembered);

        // a choice that names a file outside the directory, or has more than its two lines, is not used either
        Files.write(choice, List.of(remembered.get(0), "../libggml-cpu-x64.so"));
        assertThat(probe(dir, tmp, work)).isEqualTo(first);
        assertThat(Files.readAllLines(choice)).isEqualTo(remembered);
        Files.write(choice, List.of(remembered.get(0), "libggml-cpu-x64.so", "#".repeat(2000)));
        assertThat(probe(dir, tmp, work)).isEqualTo(first);
        assertThat(Files.readAllLines(choice)).isEqualTo(remembered);

        // a library changed after the check is unpacked again from the jar
        Path library = natives.resolve("libggml-cpu-" + first + ".so");
        Files.write(library, new byte[] {1, 2, 3});
        assertThat(probe(dir, tmp, work)).isEqualTo(first);
        // each line of the stamp: the file's natives.list entry (name, SHA-256), then its size and time
        String expected = Files.readAllLines(natives.resolve("verified.stamp")).stream()
                .filter(l -> l.startsWith(library.getFileName() + " ")).findFirst().orElseThrow().split(" ")[1];
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(library))))
                .isEqualTo(expected);
    }

    private static String probe(Path dir, Path tmp, Path work) throws Exception {
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "-Djava.io.tmpdir=" + tmp, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), BundledProbe.class.getName(), work.toString()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean exited = p.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        assertThat(exited).isTrue();
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("probe exit code; stderr: " + stderr).isZero();
        String stdout = Files.readString(out, StandardCharsets.UTF_8).strip();
        assertThat(stdout).startsWith("cpu_variant=");
        return stdout.substring("cpu_variant=".length());
    }
}
