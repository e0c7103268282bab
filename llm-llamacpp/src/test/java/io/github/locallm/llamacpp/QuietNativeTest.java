package io.github.locallm.llamacpp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nothing native reaches stdout or stderr at the default log level: only the backend's own lines, the one
 * INFO line per engine choice and the warnings of settings it cannot honour; and the native library stays
 * private.
 */
class QuietNativeTest {

    @Test
    void aChildJvmUsingTheBackendPrintsNothing(@TempDir Path dir) throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path decoy = Files.writeString(tmp.resolve("llama-user-file.txt"), "someone else's file");
        Path decoy2 = Files.writeString(tmp.resolve("jllama-other.so"), "someone else's file");
        Path work = Files.createDirectories(dir.resolve("work"));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(javaBin, "-Djava.io.tmpdir=" + tmp, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), QuietProbe.class.getName(), work.toString()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean exited = p.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        assertThat(exited).as("the probe's JVM exited after main returned").isTrue();
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("probe exit code; stderr: " + stderr).isZero();
        assertThat(stdout).as("stdout of the probe").isEmpty();
        // Only the two warnings of settings that cannot be honoured as asked, each once, through the default
        // System.Logger backend (java.util.logging: a header line with the time and source, then the message).
        List<String> lines = stderr.lines().collect(java.util.stream.Collectors.toList());
        List<String> expected = new java.util.ArrayList<>();
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            Path file = dir.resolve("work").resolve("quiet-" + engine + "-Q8_0.gguf");
            expected.add("WARNING: gpu_layers=4 ignored for llamacpp:" + file + ": the bundled llama.cpp build runs on"
                    + " the CPU only; give lib_path of a GPU build of the native library to offload layers");
            expected.add("WARNING: ctx=4096 is above the 2048 tokens model llamacpp:" + file + " was trained for: the"
                    + " window is allocated, but text past 2048 tokens gives poor answers");
        }
        assertThat(lines).as("stderr of the probe").filteredOn(l -> l.startsWith("WARNING: "))
                .containsExactlyElementsOf(expected);
        // One INFO line per engine chosen (both were asked for by name), however many models each opened.
        List<String> info = lines.stream().filter(l -> l.startsWith("INFO: ")).collect(Collectors.toList());
        assertThat(info).as("INFO lines of the probe").hasSize(2);
        assertThat(info.get(0)).matches("INFO: llamacpp backend: engine llamacpp: engine=llamacpp was asked for;"
                + " llama\\.cpp " + LlamaRuntime.PINNED_COMMIT + "\\w* from bundled linux-\\w+, CPU variant .+");
        assertThat(info.get(1)).isEqualTo("INFO: llamacpp backend: engine jllama: engine=jllama was asked for;"
                + " de.kherud:llama (llama.cpp b4916)");
        assertThat(lines).as("stderr of the probe").allMatch(QuietNativeTest::backendLine);
        assertThat(decoy).exists();
        assertThat(decoy2).exists();
        String user = System.getProperty("user.name").replaceAll("[^A-Za-z0-9._-]", "_");
        Path privateDir = tmp.resolve("locallm-llamacpp-" + user);
        try (Stream<Path> files = Files.walk(privateDir)) {
            assertThat(files.map(f -> f.getFileName().toString())).contains(NativeRuntime.libraryFileName());
        }
        try (Stream<Path> children = Files.list(privateDir)) {
            assertThat(children.map(f -> f.getFileName().toString()))
                    .anyMatch(n -> n.startsWith(NativeRuntime.BINDING_VERSION + "-"));
        }
        assertThat(Files.getPosixFilePermissions(privateDir))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));

        // lib_path: another build (here a copy of the bundled one) is loaded from where it is, quietly
        Path build = Files.createDirectories(dir.resolve("other-build"));
        Path bundled;
        try (Stream<Path> files = Files.walk(privateDir)) {
            bundled = files.filter(f -> f.getFileName().toString().equals(NativeRuntime.libraryFileName()))
                    .findFirst().orElseThrow();
        }
        Files.copy(bundled, build.resolve(NativeRuntime.libraryFileName()));
        Process q = new ProcessBuilder(List.of(javaBin, "-Djava.io.tmpdir=" + tmp, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), LibPathProbe.class.getName(), work.toString(),
                build.toString()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean qExited = q.waitFor(120, TimeUnit.SECONDS);
        if (!qExited) {
            q.destroyForcibly();
        }
        assertThat(qExited).isTrue();
        String qErr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(q.exitValue()).as("lib_path probe; stderr: " + qErr).isZero();
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEmpty();
        assertThat(qErr.lines()).as("lib_path probe's stderr").allMatch(QuietNativeTest::backendLine)
                .filteredOn(l -> !isHeader(l)).containsExactly("INFO: llamacpp backend: engine jllama: lib_path "
                        + build.toAbsolutePath().normalize() + " holds a jllama build; de.kherud:llama (llama.cpp b4916)");

        // lib_path with a current llama.cpp build (here a copy of the bundled libraries) for the default engine
        Path current = Files.createDirectories(dir.resolve("current-build"));
        Path natives;
        try (Stream<Path> children = Files.list(privateDir)) {
            natives = children.filter(f -> f.getFileName().toString().startsWith("natives-")).findFirst().orElseThrow();
        }
        try (Stream<Path> files = Files.list(natives)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, current.resolve(f.getFileName()));
            }
        }
        Process r = new ProcessBuilder(List.of(javaBin, "-Djava.io.tmpdir=" + tmp, "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), LibPathProbe.class.getName(), work.toString(),
                current.toString()))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean rExited = r.waitFor(120, TimeUnit.SECONDS);
        if (!rExited) {
            r.destroyForcibly();
        }
        assertThat(rExited).isTrue();
        String rErr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(r.exitValue()).as("lib_path probe (current build); stderr: " + rErr).isZero();
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEmpty();
        assertThat(rErr.lines()).as("lib_path probe's stderr (current build)").allMatch(QuietNativeTest::backendLine)
                .filteredOn(l -> !isHeader(l)).singleElement().asString()
                .startsWith("INFO: llamacpp backend: engine llamacpp: lib_path holds a current llama.cpp build;")
                .contains(" from lib_path " + current.toAbsolutePath().normalize() + ", CPU variant ");
    }

    /** A line the backend's own logger writes through java.util.logging: a header or a message it logs. */
    private static boolean backendLine(String line) {
        return line.startsWith("WARNING: ") || line.startsWith("INFO: llamacpp backend: engine ") || isHeader(line);
    }

    /** java.util.logging's header line: the time, then the class and method that logged. */
    private static boolean isHeader(String line) {
        return line.matches(".* io\\.github\\.locallm\\.llamacpp\\.\\w+ \\w+");
    }
}
