package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LangChain4j AI Service example on the embedded demo model, in-process on llama.cpp: LangChain4j runs the
 * {@code @Tool} the model called, feeds the result back through its chat memory and prints the answer.
 */
class LangChain4jAgentTest {
    @TempDir
    static Path dir;
    static Environment nothing;

    @BeforeAll
    static void machine() throws Exception {
        nothing = TestSupport.env(TestSupport.deadOllama(), Files.createDirectories(dir.resolve("work")),
                dir.resolve("cache"));
    }

    @Test
    void theAiServiceRunsTheToolOnTheEmbeddedModel() {
        TestSupport.Result r = TestSupport.run((args, in, out, err, env) -> LangChain4jAgent.run(args, out, err, env),
                nothing, "", "--require-tool", "--max-tokens", "160");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).as(r.toString()).contains("User: What's the weather in Paris?")
                .containsPattern("Tool getWeather\\{\"arg0\":\"[^\"]*\"\\} \\(id [A-Za-z0-9]{9}\\) returned "
                        + "\\{\"city\": ")
                .contains("Assistant: ").containsPattern("\\((STOP|LENGTH), 1 tool call\\)");
    }

    @Test
    void helpNamesTheOptions() {
        TestSupport.Result r = TestSupport.run((args, in, out, err, env) -> LangChain4jAgent.run(args, out, err, env),
                nothing, "", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--require-tool").contains("--question");
    }
}
