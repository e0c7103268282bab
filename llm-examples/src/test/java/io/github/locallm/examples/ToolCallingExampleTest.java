package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ToolCall;
import io.github.locallm.demo.DemoModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool-calling example on the embedded demo model, in-process on llama.cpp (the GGUF) and on DJL (its
 * checkpoint): the model's first reply is a call of the weather tool (a required call), the program runs the
 * tool, feeds the result back and prints the model's answer.
 */
class ToolCallingExampleTest {
    @TempDir
    static Path dir;
    static Environment nothing;

    @BeforeAll
    static void machine() throws Exception {
        nothing = TestSupport.env(TestSupport.deadOllama(), Files.createDirectories(dir.resolve("work")),
                dir.resolve("cache"));
    }

    static void assertLoop(TestSupport.Result r) {
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).as(r.toString()).contains("User: What's the weather in Paris?")
                .containsPattern("Model calls get_weather\\{\"city\":\"[^\"]*\"[^\\n]*\\} \\(id [A-Za-z0-9]{9}\\)")
                .contains("Tool result: {\"city\": ").contains("Assistant: ")
                .containsPattern("\\((STOP|LENGTH|TOOL_CALLS), \\d+ messages in the history\\)");
    }

    @Test
    void theEmbeddedModelCallsTheToolOnLlamaCpp() {
        assertLoop(TestSupport.run(TestSupport.TOOL_CALLING, nothing, "", "--require-tool", "--max-tokens", "160"));
    }

    @Test
    void theDemoCheckpointCallsTheToolOnDjl() {
        Path checkpoint = DemoModel.extractCheckpoint(dir.resolve("hf-copy"));
        assertLoop(TestSupport.run(TestSupport.TOOL_CALLING, nothing, "", "--model", "djl:" + checkpoint,
                "--require-tool", "--max-tokens", "160"));
    }

    @Test
    void theWeatherToolIsRepeatable() throws Exception {
        String a = ToolCalling.weather(new ToolCall("x", "get_weather", "{\"city\": \"Paris\"}"));
        assertThat(a).isEqualTo(ToolCalling.weather(new ToolCall("y", "get_weather", "{\"city\":\"paris\"}")
        ).replace("\"paris\"", "\"Paris\"")).startsWith("{\"city\": \"Paris\", \"temperature\": ");
        assertThat(ToolCalling.weather(new ToolCall("z", "get_time", "{}"))).contains("error");
    }
}
