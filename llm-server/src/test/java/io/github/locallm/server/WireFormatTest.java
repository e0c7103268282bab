package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The exact wire formats, field by field and in the documented order: Ollama's NDJSON objects
 * ({@code docs/api.md}) and the OpenAI chat-completion objects, chunks, SSE framing and error shape.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WireFormatTest {
    private static final String GREEDY = "\"options\":{\"temperature\":0,\"num_predict\":8}";

    private static List<JsonNode> ndjson(String body) throws Exception {
        assertThat(body).endsWith("\n");
        List<JsonNode> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            out.add(Http.json(line));
        }
        return out;
    }

    /** The SSE events of an OpenAI stream, checking the framing: {@code data: ...\n\n}, then {@code [DONE]}. */
    private static List<JsonNode> sse(String body) throws Exception {
        assertThat(body).endsWith("data: [DONE]\n\n");
        List<JsonNode> out = new ArrayList<>();
        String[] events = body.split("\n\n");
        for (int i = 0; i < events.length - 1; i++) {
            assertThat(events[i]).startsWith("data: ").doesNotContain("\n");
            out.add(Http.json(events[i].substring("data: ".length())));
        }
        assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
        return out;
    }

    @Nested
    class Ollama {
        @Test
        void chatStreamIsNdjsonInTheDocumentedShape() throws Exception {
            String req = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]," + GREEDY + "}";
            HttpResponse<String> r = Http.post(Fixture.base() + "/api/chat", req);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> v.startsWith("application/x-ndjson"));
            List<JsonNode> lines = ndjson(r.body());
            StringBuilder text = new StringBuilder();
            for (JsonNode l : lines.subList(0, lines.size() - 1)) {
                assertThat(Http.keys(l)).containsExactly("model", "created_at", "message", "done");
                assertThat(Http.keys(l.get("message"))).containsExactly("role", "content");
                assertThat(l.get("model").asText()).isEqualTo("tiny");
                assertThat(l.get("created_at").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");
                assertThat(l.get("done").asBoolean()).isFalse();
                text.append(l.get("message").get("content").asText());
            }
            JsonNode last = lines.get(lines.size() - 1);
            assertThat(Http.keys(last)).containsExactly("model", "created_at", "message", "done_reason", "done",
                    "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                    "eval_duration");
            assertThat(last.get("done").asBoolean()).isTrue();
            assertThat(last.get("done_reason").asText()).isIn("stop", "length");
            assertThat(last.get("eval_count").asInt()).isBetween(1, 8);

            HttpResponse<String> whole = Http.post(Fixture.base() + "/api/chat", req.replace("{\"model\"", "{\"stream\":false,\"model\""));
            JsonNode one = Http.json(whole.body());
            assertThat(Http.keys(one)).containsExactly("model", "created_at", "message", "done_reason", "done",
                    "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                    "eval_duration");
            assertThat(one.get("message").get("content").asText()).isEqualTo(text.toString());
        }

        @Test
        void generateStreamIsNdjsonInTheDocumentedShape() throws Exception {
            String req = "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"raw\":true," + GREEDY + "}";
            List<JsonNode> lines = ndjson(Http.post(Fixture.base() + "/api/generate", req).body());
            for (JsonNode l : lines.subList(0, lines.size() - 1)) {
                assertThat(Http.keys(l)).containsExactly("model", "created_at", "response", "done");
            }
            assertThat(Http.keys(lines.get(lines.size() - 1))).containsExactly("model", "created_at", "response", "done",
                    "done_reason", "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                    "eval_count", "eval_duration");
            JsonNode load = Http.json(Http.post(Fixture.base() + "/api/generate", "{\"model\":\"tiny\"}").body());
            assertThat(load.get("done_reason").asText()).isEqualTo("load");
        }

        @Test
        void toolCallArgumentsAreObjects() throws Exception {
            String req = "{\"model\":\"fake\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo\"}],"
                    + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"w\","
                    + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}";
            JsonNode r = Http.json(Http.post(Fixture.base() + "/api/chat", req).body());
            JsonNode call = r.get("message").get("tool_calls").get(0);
            assertThat(call.get("function").get("name").asText()).isEqualTo("get_weather");
            assertThat(call.get("function").get("arguments").isObject()).isTrue();
            assertThat(call.get("function").get("arguments").get("city").asText()).isEqualTo("Oslo");
        }

        @Test
        void tagsShowAndErrorsHaveOllamasShape() throws Exception {
            JsonNode tags = Http.json(Http.get(Fixture.base() + "/api/tags").body());
            JsonNode first = tags.get("models").get(0);
            assertThat(Http.keys(first)).containsExactly("name", "model", "modified_at", "size", "digest", "details");
            assertThat(Http.keys(first.get("details"))).containsExactly("parent_model", "format", "family", "families",
                    "parameter_size", "quantization_level");
            JsonNode show = Http.json(Http.post(Fixture.base() + "/api/show", "{\"model\":\"fake\"}").body());
            assertThat(show.get("capabilities")).extracting(JsonNode::asText).contains("completion", "tools", "thinking");
            // the upstream model's own template and Modelfile parameters pass through
            assertThat(show.get("template").asText()).isEqualTo("{{ .System }}\nUSER: {{ .Prompt }}\nASSISTANT: ");
            assertThat(show.get("parameters").asText()).contains("stop                           \"<|eot|>\"");
            assertThat(show.get("modelfile").asText()).contains("PARAMETER stop \"<|eot|>\"");

            // the GGUF's chat template, and the context window the model runs with
            JsonNode tiny = Http.json(Http.post(Fixture.base() + "/api/show", "{\"model\":\"tiny\"}").body());
            String template = io.github.locallm.modelkit.TinyModels.gqa().chatTemplate();
            assertThat(template).isNotBlank();
            assertThat(tiny.get("template").asText()).isEqualTo(template);
            assertThat(tiny.get("parameters").asText()).isEqualTo(String.format("%-30s %d", "num_ctx", 512));
            assertThat(tiny.get("modelfile").asText()).contains("TEMPLATE \"\"\"" + template + "\"\"\"")
                    .contains("PARAMETER num_ctx 512");
            assertThat(Http.keys(tiny.get("model_info"))).doesNotContain("locallm.chat_template_text");

            HttpResponse<String> missing = Http.post(Fixture.base() + "/api/chat",
                    "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(Http.keys(Http.json(missing.body()))).containsExactly("error");
            HttpResponse<String> delete = Http.post(Fixture.base() + "/api/delete", "{\"model\":\"tiny\"}");
            assertThat(delete.statusCode()).isEqualTo(403);
            assertThat(Http.json(delete.body()).get("error").asText()).contains("configuration");
            assertThat(Http.get(Fixture.base() + "/").body()).isEqualTo("Ollama is running");
        }
    }

    @Nested
    class OpenAi {
        private static final String CHAT = "{\"model\":\"tiny\",\"temperature\":0,\"max_tokens\":8,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]";

        @Test
        void chatCompletionObject() throws Exception {
            HttpResponse<String> r = Http.post(Fixture.base() + "/v1/chat/completions", CHAT + "}");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode c = Http.json(r.body());
            assertThat(Http.keys(c)).containsExactly("id", "object", "created", "model", "choices", "usage");
            assertThat(c.get("id").asText()).startsWith("chatcmpl-");
            assertThat(c.get("object").asText()).isEqualTo("chat.completion");
            JsonNode choice = c.get("choices").get(0);
            assertThat(Http.keys(choice)).containsExactly("index", "message", "logprobs", "finish_reason");
            assertThat(Http.keys(choice.get("message"))).containsExactly("role", "content");
            assertThat(Http.keys(c.get("usage"))).containsExactly("prompt_tokens", "completion_tokens", "total_tokens");
            assertThat(c.get("usage").get("total_tokens").asInt()).isEqualTo(
                    c.get("usage").get("prompt_tokens").asInt() + c.get("usage").get("completion_tokens").asInt());
        }

        @Test
        void chatStreamChunksAndTheUsageChunk() throws Exception {
            String whole = Http.json(Http.post(Fixture.base() + "/v1/chat/completions", CHAT + "}").body())
                    .get("choices").get(0).get("message").get("content").asText();
            HttpResponse<String> r = Http.post(Fixture.base() + "/v1/chat/completions",
                    CHAT + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> v.startsWith("text/event-stream"));
            List<JsonNode> events = sse(r.body());
            String id = events.get(0).get("id").asText();
            JsonNode first = events.get(0).get("choices").get(0);
            assertThat(first.get("delta").get("role").asText()).isEqualTo("assistant");
            StringBuilder text = new StringBuilder();
            for (JsonNode e : events.subList(0, events.size() - 1)) {
                assertThat(Http.keys(e)).containsExactly("id", "object", "created", "model", "choices", "usage");
                assertThat(e.get("id").asText()).isEqualTo(id);
                assertThat(e.get("object").asText()).isEqualTo("chat.completion.chunk");
                assertThat(e.get("usage").isNull()).isTrue();
                JsonNode ch = e.get("choices").get(0);
                assertThat(Http.keys(ch)).containsExactly("index", "delta", "logprobs", "finish_reason");
                text.append(ch.get("delta").path("content").asText(""));
            }
            JsonNode fin = events.get(events.size() - 2).get("choices").get(0);
            assertThat(fin.get("finish_reason").asText()).isIn("stop", "length");
            assertThat(fin.get("delta").isEmpty()).isTrue();
            JsonNode usage = events.get(events.size() - 1);
            assertThat(usage.get("choices").isEmpty()).isTrue();
            assertThat(usage.get("usage").get("completion_tokens").asInt()).isBetween(1, 8);
            assertThat(text.toString()).isEqualTo(whole);
        }

        @Test
        void streamedToolCallsHaveIndexIdTypeAndStringArguments() throws Exception {
            String req = "{\"model\":\"fake\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Rome\"}],"
                    + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"w\","
                    + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]}";
            List<JsonNode> events = sse(Http.post(Fixture.base() + "/v1/chat/completions", req).body());
            JsonNode call = events.stream().map(e -> e.get("choices").get(0).get("delta"))
                    .filter(d -> d.has("tool_calls")).findFirst().orElseThrow().get("tool_calls").get(0);
            assertThat(Http.keys(call)).containsExactly("index", "id", "type", "function");
            assertThat(call.get("type").asText()).isEqualTo("function");
            assertThat(call.get("function").get("arguments").isTextual()).isTrue();
            assertThat(Http.json(call.get("function").get("arguments").asText()).get("city").asText()).isEqualTo("Rome");
            assertThat(events.get(events.size() - 1).get("choices").get(0).get("finish_reason").asText())
                    .isEqualTo("tool_calls");
        }

        @Test
        void aNamedToolChoiceForcesThatTool() throws Exception {
            String tools = "\"tools\":[" + tool("get_weather") + "," + tool("get_time") + "]";
            String req = "{\"model\":\"tiny\",\"temperature\":0,\"max_tokens\":128,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"What time is it in Rome?\"}]," + tools;
            for (String name : List.of("get_time", "get_weather")) {
                HttpResponse<String> r = Http.post(Fixture.base() + "/v1/chat/completions",
                        req + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"" + name + "\"}}}");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                JsonNode choice = Http.json(r.body()).get("choices").get(0);
                assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
                assertThat(choice.get("message").get("tool_calls")).hasSize(1);
                assertThat(choice.get("message").get("tool_calls").get(0).get("function").get("name").asText())
                        .isEqualTo(name);
            }
            HttpResponse<String> unknown = Http.post(Fixture.base() + "/v1/chat/completions",
                    req + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_news\"}}}");
            assertThat(unknown.statusCode()).isEqualTo(400);
            assertThat(Http.json(unknown.body()).get("error").get("param").asText()).isEqualTo("tool_choice");
        }

        private static String tool(String name) {
            return "{\"type\":\"function\",\"function\":{\"name\":\"" + name + "\",\"description\":\"d\","
                    + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                    // an enum keeps the forced arguments short: a random model need not end a free string
                    + "\"enum\":[\"Lyon\",\"Paris\"]}},\"required\":[\"city\"]}}}";
        }

        @Test
        void completionsModelsAndErrors() throws Exception {
            JsonNode c = Http.json(Http.post(Fixture.base() + "/v1/completions",
                    "{\"model\":\"tiny\",\"prompt\":\"Once upon\",\"max_tokens\":4,\"temperature\":0}").body());
            assertThat(Http.keys(c)).containsExactly("id", "object", "created", "model", "choices", "usage");
            assertThat(c.get("object").asText()).isEqualTo("text_completion");
            assertThat(Http.keys(c.get("choices").get(0))).containsExactly("text", "index", "logprobs", "finish_reason");

            JsonNode models = Http.json(Http.get(Fixture.base() + "/v1/models").body());
            assertThat(models.get("object").asText()).isEqualTo("list");
            assertThat(models.get("data")).extracting(m -> m.get("id").asText()).containsExactly("tiny", "tiny-embed", "fake");

            HttpResponse<String> missing = Http.post(Fixture.base() + "/v1/chat/completions",
                    "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
            assertThat(missing.statusCode()).isEqualTo(404);
            JsonNode err = Http.json(missing.body());
            assertThat(Http.keys(err)).containsExactly("error");
            assertThat(Http.keys(err.get("error"))).containsExactly("message", "type", "param", "code");
            assertThat(err.get("error").get("code").asText()).isEqualTo("model_not_found");

            HttpResponse<String> bad = Http.post(Fixture.base() + "/v1/chat/completions", "{not json");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(Http.json(bad.body()).get("error").get("type").asText()).isEqualTo("invalid_request_error");
        }

        @Test
        void embeddingsObject() throws Exception {
            JsonNode e = Http.json(Http.post(Fixture.base() + "/v1/embeddings",
                    "{\"model\":\"tiny-embed\",\"input\":[\"a b\",\"c\"]}").body());
            assertThat(Http.keys(e)).containsExactly("object", "data", "model", "usage");
            assertThat(e.get("data")).hasSize(2);
            assertThat(Http.keys(e.get("data").get(1))).containsExactly("object", "embedding", "index");
            assertThat(e.get("data").get(1).get("index").asInt()).isEqualTo(1);
            JsonNode b64 = Http.json(Http.post(Fixture.base() + "/v1/embeddings",
                    "{\"model\":\"tiny-embed\",\"input\":\"c\",\"encoding_format\":\"base64\"}").body());
            byte[] raw = java.util.Base64.getDecoder().decode(b64.get("data").get(0).get("embedding").asText());
            java.nio.FloatBuffer f = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            assertThat(f.get(0)).isEqualTo((float) e.get("data").get(1).get("embedding").get(0).asDouble());
        }
    }
}
