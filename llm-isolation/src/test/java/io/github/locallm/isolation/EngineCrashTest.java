package io.github.locallm.isolation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.Completion;
import io.github.locallm.EngineCrashedException;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A crash of the engine process (a signal the JVM treats as a native crash, or a kill) leaves this JVM
 * alive with {@link EngineCrashedException}, and the next call runs on a fresh engine process.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class EngineCrashTest {
    private static final GenerationOptions LONG = GenerationOptions.builder().temperature(0).maxTokens(400).build();
    private static final GenerationOptions SHORT = GenerationOptions.builder().temperature(0).maxTokens(8).build();

    static List<ProcessHandle> engines() {
        return ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().orElse("").contains(EngineProcess.class.getName()))
                .toList();
    }

    static ProcessHandle onlyEngine() {
        List<ProcessHandle> e = engines();
        assertThat(e).hasSize(1);
        return e.get(0);
    }

    static void signal(ProcessHandle p, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS in /proc/self/status");
    }

    @Test
    void aCrashInTheMiddleOfAStreamFailsItTypedAndTheNextCallWorks() throws Exception {
        try (LocalLlm llm = LocalLlm.open(TinyGguf.spec(""))) {
            String expected = llm.generate("Once upon a time", SHORT).text();
            ProcessHandle engine = onlyEngine();
            // two calls in flight on the same engine (one generating, one waiting for it); the first token
            // of either triggers SIGSEGV from outside, which the engine's JVM takes for a native crash
            java.util.concurrent.atomic.AtomicBoolean signalled = new java.util.concurrent.atomic.AtomicBoolean();
            List<CompletableFuture<Throwable>> ends = List.of(new CompletableFuture<>(), new CompletableFuture<>());
            for (CompletableFuture<Throwable> end : ends) {
                llm.stream("Once upon a time", LONG, new StreamHandler() {
                    @Override
                    public void onToken(String text) {
                        if (signalled.compareAndSet(false, true)) {
                            try {
                                signal(engine, "SEGV");
                            } catch (IOException | InterruptedException e) {
                                end.complete(e);
                            }
                        }
                    }

                    @Override
                    public void onComplete(Completion completion) {
                        end.complete(null);
                    }

                    @Override
                    public void onError(Throwable error) {
                        end.complete(error);
                    }
                });
            }
            for (CompletableFuture<Throwable> end : ends) {
                Throwable error = end.get(120, TimeUnit.SECONDS);
                assertThat(error).isInstanceOf(EngineCrashedException.class);
                EngineCrashedException crash = (EngineCrashedException) error;
                assertThat(crash.pid()).hasValue(engine.pid());
                assertThat(crash.getMessage()).contains("pid " + engine.pid()).contains("next call starts a new engine");
            }
            assertThat(engine.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
            // the engine's JVM wrote its crash report into the temporary directory, not the working directory
            Path report = Path.of(System.getProperty("java.io.tmpdir"), "locallm-engine-hs_err_pid" + engine.pid() + ".log");
            assertThat(report).exists();
            Files.delete(report);

            assertThat(llm.generate("Once upon a time", SHORT).text()).isEqualTo(expected);
            assertThat(onlyEngine().pid()).isNotEqualTo(engine.pid());
        }
        assertThat(engines()).isEmpty();
        try (Stream<Path> files = Files.list(Path.of(""))) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("hs_err"))).isEmpty();
        }
    }

    @Test
    void twentyCrashesLeaveTheCallerAliveAndItsMemoryBounded() throws Exception {
        try (LocalLlm llm = LocalLlm.open(TinyGguf.spec(""))) {
            String expected = llm.generate("Tell me", SHORT).text();
            long warm = 0;
            for (int cycle = 1; cycle <= 20; cycle++) {
                ProcessHandle engine = onlyEngine();
                signal(engine, cycle % 5 == 0 ? "SEGV" : "KILL");
                assertThat(engine.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
                Files.deleteIfExists(Path.of(System.getProperty("java.io.tmpdir"),
                        "locallm-engine-hs_err_pid" + engine.pid() + ".log"));
                assertThat(llm.generate("Tell me", SHORT).text()).isEqualTo(expected);
                if (cycle == 3) {
                    System.gc();
                    warm = rssKb();
                }
            }
            System.gc();
            long end = rssKb();
            System.out.println("caller RSS after 3 crash/restart cycles: " + warm + " kB, after 20: " + end + " kB");
            // the engines' memory lives and dies with their processes: the caller grows by little
            assertThat(end - warm).isLessThan(64 * 1024);
            assertThat(engines()).hasSize(1);
        }
        assertThat(engines()).isEmpty();
    }

    @Test
    void closeEndsTheEngineProcess() throws Exception {
        LocalLlm llm = LocalLlm.open(TinyGguf.spec(""));
        ProcessHandle engine = onlyEngine();
        assertThat(llm.info().details()).containsEntry("isolation", "process");
        llm.close();
        assertThat(engine.isAlive()).isFalse();
        assertThat(engines()).isEmpty();
    }

    @Test
    void errorsOfTheEngineKeepTheirType() {
        assertThatThrownBy(() -> LocalLlm.open("llamacpp:/no/such/model.gguf?isolate=process"))
                .isInstanceOf(io.github.locallm.ModelNotFoundException.class);
        assertThatThrownBy(() -> LocalLlm.open(TinyGguf.spec("&isolate=thread")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("isolate");
        assertThat(engines()).isEmpty();
    }
}
