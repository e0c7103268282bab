package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Fill-in-the-middle through the server: Ollama's {@code /api/generate} and OpenAI's {@code /v1/completions} with a
 * {@code suffix} answer what the model gives in process, streamed or whole; {@code /api/show} lists {@code insert}
 * for a model whose GGUF names fill-in-the-middle tokens; a model without them is refused in each API's error shape.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FillInTheMiddleTest {
    private static final String PREFIX = "The weather is";
    private static final String SUFFIX = " and the sea is calm.";
    private static final int MAX = 8;

    private LocalLlm coder;
    private LlmServer server;
    private String base;

    @BeforeAll
    void start() throws Exception {
        Path dir = Files.createTempDirectory("llm-server-fim");
        dir.toFile().deleteOnExit();
        Path gguf = dir.resolve("coder.gguf");
        CheckpointModel model = TinyModels.fim();
        GgufWriter.write(model, gguf, GgufWriter.Quantization.F32, TinyModels.fimMetadata(model));
        gguf.toFile().deleteOnExit();
        coder = LocalLlm.open("llamacpp:" + gguf + "?ctx=256&threads=1");
        server = LlmServer.builder().model("coder", coder).model("tiny", Fixture.TINY).port(0).concurrency(1)
                .maxTokens(64).maxPromptChars(40).start();
        base = server.baseUri().toString();
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
        if (coder != null) {
            coder.close();
        }
    }

    private String inProcess() {
        assertThat(coder.info().supports(Capability.FILL_IN_MIDDLE)).isTrue();
        Completion c = coder.generate(PREFIX, GenerationOptions.builder().temperature(0).maxTokens(MAX)
                .suffix(SUFFIX).build());
        String plain = coder.generate(PREFIX, GenerationOptions.builder().temperature(0).maxTokens(MAX).build()).text();
        assertThat(c.text()).as("fill-in-the-middle differs from completing the prefix").isNotEqualTo(plain)
                .isNotEmpty();
        return c.text();
    }

    private static String body(String model, boolean stream, String suffixField) {
        ObjectNode n = Http.JSON.createObjectNode();
        n.put("model", model);
        n.put("prompt", PREFIX);
        if (suffixField != null) {
            n.put(suffixField, SUFFIX);
        }
        n.put("stream", stream);
        n.putObject("options").put("temperature", 0).put("num_predict", MAX);
        return n.toString();
    }

    @Test
    void ollamaGenerateWithASuffixFillsTheMiddle() throws Exception {
        String expected = inProcess();
        HttpResponse<String> whole = Http.post(base + "/api/generate", body("coder", false, "suffix"));
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode one = Http.json(whole.body());
        assertThat(one.get("response").asText()).isEqualTo(expected);
        assertThat(one.get("done").asBoolean()).isTrue();
        assertThat(one.get("prompt_eval_count").asInt()).as("prefix, suffix and the three FIM tokens")
                .isEqualTo(coder.tokenize(PREFIX).length + coder.tokenize(SUFFIX).length + 3);

        HttpResponse<String> streamed = Http.post(base + "/api/generate", body("coder", true, "suffix"));
        assertThat(streamed.statusCode()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : streamed.body().split("\n")) {
            lines.add(Http.json(line));
        }
        assertThat(lines.size()).isGreaterThan(1);
        for (JsonNode l : lines.subList(0, lines.size() - 1)) {
            assertThat(Http.keys(l)).containsExactly("model", "created_at", "response", "done");
            text.append(l.get("response").asText());
        }
        assertThat(lines.get(lines.size() - 1).get("done").asBoolean()).isTrue();
        assertThat(text.toString()).isEqualTo(expected);

        // a plain generate on the same model is a completion of the prompt alone
        HttpResponse<String> plain = Http.post(base + "/api/generate", body("coder", false, null)
                .replace("{\"model\"", "{\"raw\":true,\"model\""));
        assertThat(Http.json(plain.body()).get("response").asText()).isNotEqualTo(expected);
    }

    @Test
    void ollamaShowListsInsertOnlyForModelsThatFillTheMiddle() throws Exception {
        JsonNode coderShow = Http.json(Http.post(base + "/api/show", "{\"model\":\"coder\"}").body());
        List<String> caps = new ArrayList<>();
        coderShow.get("capabilities").forEach(c -> caps.add(c.asText()));
        assertThat(caps).contains("completion", "insert");
        JsonNode tinyShow = Http.json(Http.post(base + "/api/show", "{\"model\":\"tiny\"}").body());
        List<String> tinyCaps = new ArrayList<>();
        tinyShow.get("capabilities").forEach(c -> tinyCaps.add(c.asText()));
        assertThat(tinyCaps).contains("completion").doesNotContain("insert");
    }

    @Test
    void aModelWithoutFimTokensIsRefusedInEachApisShape() throws Exception {
        for (boolean stream : List.of(false, true)) {
            HttpResponse<String> r = Http.post(base + "/api/generate", body("tiny", stream, "suffix"));
            assertThat(r.statusCode()).isEqualTo(400);
            JsonNode err = Http.json(r.body());
            assertThat(Http.keys(err)).containsExactly("error");
            assertThat(err.get("error").asText()).isEqualTo("\"tiny\" does not support insert");
        }
        HttpResponse<String> o = Http.post(base + "/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"a\","
                + "\"suffix\":\"b\",\"max_tokens\":4}");
        assertThat(o.statusCode()).isEqualTo(400);
        JsonNode err = Http.json(o.body());
        assertThat(Http.keys(err)).containsExactly("error");
        assertThat(Http.keys(err.get("error"))).containsExactly("message", "type", "param", "code");
        assertThat(err.get("error").get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(err.get("error").get("param").asText()).isEqualTo("suffix");
        assertThat(err.get("error").get("message").asText()).contains("tiny").contains("fill-in-the-middle");
    }

    @Test
    void thePromptBoundCountsPrefixAndSuffixTogether() throws Exception {
        String half = "x".repeat(25); // each under the server's bound of 40 characters, together over it
        ObjectNode ollama = Http.JSON.createObjectNode().put("model", "coder").put("prompt", half).put("suffix", half)
                .put("stream", false);
        HttpResponse<String> r = Http.post(base + "/api/generate", ollama.toString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(Http.json(r.body()).get("error").asText()).contains("50 characters").contains("40");
        ObjectNode openAi = Http.JSON.createObjectNode().put("model", "coder").put("prompt", half).put("suffix", half);
        HttpResponse<String> o = Http.post(base + "/v1/completions", openAi.toString());
        assertThat(o.statusCode()).isEqualTo(400);
        assertThat(Http.json(o.body()).get("error").get("message").asText()).contains("50 characters");
        ollama.put("suffix", "y");
        assertThat(Http.post(base + "/api/generate", ollama.toString()).statusCode()).as("26 characters fit")
                .isEqualTo(200);
    }

    @Test
    void openAiCompletionsWithASuffixFillTheMiddle() throws Exception {
        String expected = inProcess();
        String req = "{\"model\":\"coder\",\"prompt\":" + Http.JSON.writeValueAsString(PREFIX) + ",\"suffix\":"
                + Http.JSON.writeValueAsString(SUFFIX) + ",\"temperature\":0,\"max_tokens\":" + MAX;
        HttpResponse<String> whole = Http.post(base + "/v1/completions", req + "}");
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode one = Http.json(whole.body());
        assertThat(one.get("choices").get(0).get("text").asText()).isEqualTo(expected);
        assertThat(one.get("usage").get("prompt_tokens").asInt())
                .isEqualTo(coder.tokenize(PREFIX).length + coder.tokenize(SUFFIX).length + 3);

        HttpResponse<String> streamed = Http.post(base + "/v1/completions", req + ",\"stream\":true}");
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.body()).endsWith("data: [DONE]\n\n");
        StringBuilder text = new StringBuilder();
        for (String event : streamed.body().split("\n\n")) {
            if (!event.equals("data: [DONE]")) {
                text.append(Http.json(event.substring("data: ".length())).get("choices").get(0).get("text").asText());
            }
        }
        assertThat(text.toString()).isEqualTo(expected);
    }
}
