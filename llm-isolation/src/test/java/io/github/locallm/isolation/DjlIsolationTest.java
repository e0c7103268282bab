package io.github.locallm.isolation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Completion;
import io.github.locallm.EngineCrashedException;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code isolate=process} on the DJL provider: a checkpoint the test writes runs on PyTorch in an engine
 * process. One isolated model serves all tests (each PyTorch engine process takes seconds to start); the
 * crash test runs last and ends with close.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DjlIsolationTest {
    private static final String PROMPT = "The weather is nice. The sky is";
    private static final GenerationOptions GREEDY = GenerationOptions.builder().temperature(0).maxTokens(12).build();
    private static final GenerationOptions LONG = GenerationOptions.builder().temperature(0).maxTokens(200).build();

    private Path dir;
    private LocalLlm isolated;

    @BeforeAll
    void writeAndOpen() throws Exception {
        dir = Files.createTempDirectory("llm-isolation-djl");
        HfCheckpointWriter.write(TinyModels.gqa(), dir.resolve("gqa"));
        isolated = LocalLlm.open("djl:" + dir.resolve("gqa") + "?ctx=256&isolate=process");
    }

    @AfterAll
    void closeAndDelete() throws Exception {
        if (isolated != null) {
            isolated.close();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    @Order(1)
    void greedyGenerationThroughTheEngineProcessEqualsInProcess() {
        assertThat(isolated.info().backend()).isEqualTo("djl");
        assertThat(isolated.info().details()).containsEntry("isolation", "process");
        ProcessHandle engine = EngineCrashTest.onlyEngine();
        Completion child = isolated.generate(PROMPT, GREEDY);
        int[] childTokens = isolated.tokenize(PROMPT);
        Completion here;
        int[] hereTokens;
        try (LocalLlm inProcess = LocalLlm.open("djl:" + dir.resolve("gqa") + "?ctx=256")) {
            assertThat(inProcess.info().details()).doesNotContainKey("isolation");
            here = inProcess.generate(PROMPT, GREEDY);
            hereTokens = inProcess.tokenize(PROMPT);
        }
        assertThat(child.usage().completionTokens()).isPositive();
        assertThat(child.text()).isEqualTo(here.text());
        assertThat(child.usage()).isEqualTo(here.usage());
        assertThat(child.finishReason()).isEqualTo(here.finishReason());
        assertThat(childTokens).containsExactly(hereTokens);
        // the in-process model was this JVM's own: the engine process is the same one as before
        assertThat(EngineCrashTest.onlyEngine().pid()).isEqualTo(engine.pid());
    }

    @Test
    @Order(2)
    void aCrashFailsTheCallTypedTheNextCallStartsAFreshEngineAndCloseEndsIt() throws Exception {
        String expected = isolated.generate(PROMPT, GREEDY).text();
        ProcessHandle engine = EngineCrashTest.onlyEngine();
        AtomicBoolean signalled = new AtomicBoolean();
        CompletableFuture<Throwable> end = new CompletableFuture<>();
        isolated.stream(PROMPT, LONG, new StreamHandler() {
            @Override
            public void onToken(String text) {
                if (signalled.compareAndSet(false, true)) {
                    try {
                        EngineCrashTest.signal(engine, "SEGV");
                    } catch (Exception e) {
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
        Throwable error = end.get(120, TimeUnit.SECONDS);
        assertThat(error).isInstanceOf(EngineCrashedException.class);
        assertThat(((EngineCrashedException) error).pid()).hasValue(engine.pid());
        assertThat(engine.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
        Files.deleteIfExists(Path.of(System.getProperty("java.io.tmpdir"),
                "locallm-engine-hs_err_pid" + engine.pid() + ".log"));

        // this JVM is alive and the same model answers again, from a new engine process
        assertThat(isolated.generate(PROMPT, GREEDY).text()).isEqualTo(expected);
        ProcessHandle fresh = EngineCrashTest.onlyEngine();
        assertThat(fresh.pid()).isNotEqualTo(engine.pid());

        isolated.close();
        isolated = null;
        assertThat(fresh.isAlive()).isFalse();
        assertThat(EngineCrashTest.engines()).isEmpty();
    }
}
