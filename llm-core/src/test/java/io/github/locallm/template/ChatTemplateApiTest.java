package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The public API: parsing errors, the conversation-to-variables mapping, options, limits, threads. */
class ChatTemplateApiTest {

    @Test
    void syntaxErrorsGiveLineAndColumn() {
        assertThatThrownBy(() -> ChatTemplate.parse("line one\n  {% if %}x{% endif %}"))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.line()).isEqualTo(2);
                    assertThat(e.column()).isEqualTo(9);
                    assertThat(e.getMessage()).contains("template line 2, column 9");
                });
        assertThatThrownBy(() -> ChatTemplate.parse("{% for m in messages %}\n{{ m }}"))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("'endfor'");
        assertThatThrownBy(() -> ChatTemplate.parse("{{ 'unterminated }}"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("line 1");
        assertThatThrownBy(() -> ChatTemplate.parse("{{ x | nosuchfilter }}"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("No filter named 'nosuchfilter'");
        assertThatThrownBy(() -> ChatTemplate.parse("{{ x is nosuchtest }}"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("No test named 'nosuchtest'");
        assertThatThrownBy(() -> ChatTemplate.parse("{# open comment"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("Missing end of comment tag");
    }

    @Test
    void renderErrorsGivePositionToo() {
        ChatTemplate t = ChatTemplate.parse("ok\n{{ messages[0].missing.deeper }}");
        assertThatThrownBy(() -> t.render(List.of(ChatMessage.user("u")), RenderOptions.defaults()))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.getMessage()).startsWith("'dict object' has no attribute 'missing'");
                    assertThat(e.line()).isEqualTo(2);
                });
    }

    @Test
    @SuppressWarnings("unchecked")
    void conversationBecomesTransformersVariables() {
        ToolSpec weather = new ToolSpec("get_weather", "Weather now",
                "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}");
        List<ChatMessage> messages = List.of(
                ChatMessage.system("sys"),
                ChatMessage.user("u"),
                new ChatMessage(ChatMessage.Role.ASSISTANT, "", List.of(
                        new ToolCall("call00001", "get_weather", "{\"city\": \"Oslo\", \"days\": [1, 2]}"),
                        new ToolCall("", "broken", "not json")), List.of(), ""),
                ChatMessage.tool("get_weather", "cold"));
        Map<String, Object> ctx = ChatTemplate.contextOf(messages, RenderOptions.builder()
                .tools(List.of(weather)).addGenerationPrompt(true).bosToken("<s>").eosToken("</s>")
                .variable("date_string", "1 Jan 2025").build());

        assertThat(ctx).containsEntry("add_generation_prompt", true).containsEntry("bos_token", "<s>")
                .containsEntry("eos_token", "</s>").containsEntry("date_string", "1 Jan 2025")
                .containsEntry("documents", null);
        List<Map<String, Object>> msgs = (List<Map<String, Object>>) ctx.get("messages");
        assertThat(msgs.get(0)).isEqualTo(Map.of("role", "system", "content", "sys"));
        Map<String, Object> call = ((List<Map<String, Object>>) msgs.get(2).get("tool_calls")).get(0);
        assertThat(call).containsEntry("id", "call00001").containsEntry("type", "function");
        assertThat((Map<String, Object>) call.get("function")).isEqualTo(
                Map.of("name", "get_weather", "arguments", Map.of("city", "Oslo", "days", List.of(1L, 2L))));
        Map<String, Object> broken = ((List<Map<String, Object>>) msgs.get(2).get("tool_calls")).get(1);
        assertThat(broken).doesNotContainKey("id");
        assertThat(((Map<String, Object>) broken.get("function")).get("arguments")).isEqualTo("not json");
        assertThat(msgs.get(3)).isEqualTo(Map.of("role", "tool", "content", "cold", "name", "get_weather",
                "tool_call_id", "call00001"));
        Map<String, Object> tool = ((List<Map<String, Object>>) ctx.get("tools")).get(0);
        assertThat(tool.get("type")).isEqualTo("function");
        assertThat(((Map<String, Object>) tool.get("function")).get("parameters")).isEqualTo(Map.of(
                "type", "object", "properties", Map.of("city", Map.of("type", "string")), "required", List.of("city")));

        Map<String, Object> noTools = ChatTemplate.contextOf(List.of(ChatMessage.user("u")), RenderOptions.defaults());
        assertThat(noTools).containsEntry("tools", null).containsEntry("add_generation_prompt", false)
                .doesNotContainKey("bos_token").doesNotContainKey("eos_token");
    }

    @Test
    void messagesWithImagesUseTheMultimodalContentForm() {
        ChatMessage withImage = new ChatMessage(ChatMessage.Role.USER, "What is this?", List.of(),
                List.of("aW1hZ2U=", "aW1hZ2Uy"), "");
        ChatTemplate t = ChatTemplate.parse("{% for m in messages %}{% if m.content is string %}{{ m.content }}"
                + "{% else %}{% for part in m.content %}{{ '<image>' if part.type == 'image' else part.text }}"
                + "{% endfor %}{% endif %}|{% endfor %}");
        assertThat(t.render(List.of(ChatMessage.system("s"), withImage), RenderOptions.defaults()))
                .isEqualTo("s|<image><image>What is this?|");
    }

    @Test
    void extraVariablesOverrideStandardOnes() {
        ChatTemplate t = ChatTemplate.parse("{{ add_generation_prompt }} {{ enable_thinking }} {{ tools is none }}");
        RenderOptions o = RenderOptions.builder().addGenerationPrompt(true)
                .variables(Map.of("enable_thinking", false)).build();
        assertThat(t.render(List.of(), o)).isEqualTo("True False True");
        assertThat(t.render(List.of(), o.toBuilder().variable("add_generation_prompt", "over").build()))
                .isEqualTo("over False True");
        assertThatThrownBy(() -> RenderOptions.builder().variable("not an identifier", 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ChatTemplate.contextOf(List.of(),
                RenderOptions.builder().tools(List.of(new ToolSpec("t", "d", "{ not json"))).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tool 't'");
    }

    @Test
    void javaValuesAreConvertedToPythonValues() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("i", 3);
        v.put("f", 1.5f);
        v.put("b", new BigDecimal("2.25"));
        v.put("arr", new String[] {"x", "y"});
        v.put("c", 'z');
        v.put("nil", null);
        Map<Integer, Object> intKeys = new HashMap<>();
        intKeys.put(1, "one");
        v.put("m", intKeys);
        assertThat(ChatTemplate.parse("{{ i / 2 }} {{ f }} {{ b }} {{ arr }} {{ c }} {{ nil }} {{ m[1] }} {{ i is integer }}")
                .render(v)).isEqualTo("1.5 1.5 2.25 ['x', 'y'] z None one True");
    }

    @Test
    void strftimeNowUsesTheClock() {
        String out = ChatTemplate.parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d') }}")
                .render(Map.of());
        LocalDate today = LocalDate.now();
        List<String> acceptable = new ArrayList<>();
        for (LocalDate d : List.of(today.minusDays(1), today, today.plusDays(1))) {
            acceptable.add(d.format(DateTimeFormatter.ofPattern("dd MMM yyyy", Locale.US)) + "|" + d);
        }
        assertThat(acceptable).contains(out);
    }

    @Test
    void generationBlocksRenderTheirBody() {
        assertThat(ChatTemplate.parse("a{% generation %}b{{ 1 }}{% endgeneration %}c").render(Map.of()))
                .isEqualTo("ab1c");
    }

    @Test
    void limitsAreValidated() {
        assertThatThrownBy(() -> new TemplateLimits(0, 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TemplateLimits(1, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TemplateLimits(1, 1, 0)).isInstanceOf(IllegalArgumentException.class);
        ChatTemplate t = ChatTemplate.parse("x");
        assertThat(t.limits()).isEqualTo(TemplateLimits.defaults());
        assertThat(t.source()).isEqualTo("x");
    }

    @Test
    void oneTemplateRendersFromManyThreads() throws Exception {
        ChatTemplate t = ChatTemplate.parse("{% set ns = namespace(n=0) %}{% for m in messages %}"
                + "{% set ns.n = ns.n + m.content|length %}<{{ m.role }}:{{ m.content }}>{% endfor %}={{ ns.n }}");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int k = i;
                results.add(pool.submit(() -> {
                    String content = "m" + k;
                    String out = t.render(List.of(ChatMessage.user(content), ChatMessage.assistant("ok")),
                            RenderOptions.defaults());
                    return out.equals("<user:" + content + "><assistant:ok>=" + (content.length() + 2));
                }));
            }
            for (Future<Boolean> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
