package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Small templates, one construct each, rendered with fixed variables and compared byte for byte with
 * jinja2's output in {@code templates/snippets/expected.json}; snippets that fail in jinja2 must fail
 * here with a {@link TemplateException} (with the same message when the template raised it).
 */
class ChatTemplateSnippetTest {

    static Map<String, String> snippets(Path file) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        String name = null;
        List<String> lines = new ArrayList<>();
        for (String line : Files.readString(file, StandardCharsets.UTF_8).split("\n", -1)) {
            if (line.startsWith("=== ")) {
                if (name != null) {
                    out.put(name, String.join("\n", lines));
                }
                name = line.substring(4).strip();
                lines = new ArrayList<>();
            } else {
                lines.add(line);
            }
        }
        if (name != null) {
            if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
                lines.remove(lines.size() - 1);
            }
            out.put(name, String.join("\n", lines));
        }
        out.replaceAll((k, v) -> k.contains("crlf") ? v.replace("\n", "\r\n") : v);
        return out;
    }

    @SuppressWarnings("unchecked")
    @TestFactory
    Stream<DynamicTest> everySnippetMatchesJinja2() throws Exception {
        Path dir = ChatTemplateReferenceTest.root().resolve("snippets");
        Map<String, Object> context = (Map<String, Object>) JsonCodec.parse(
                Files.readString(dir.resolve("context.json"), StandardCharsets.UTF_8));
        Map<String, Object> expected = (Map<String, Object>) JsonCodec.parse(
                Files.readString(dir.resolve("expected.json"), StandardCharsets.UTF_8));
        Map<String, String> snippets = snippets(dir.resolve("snippets.txt"));
        assertThat(snippets.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        return snippets.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            Map<String, Object> want = (Map<String, Object>) expected.get(e.getKey());
            if (want.containsKey("out")) {
                String actual = ChatTemplate.parse(e.getValue()).render(context);
                assertThat(actual).isEqualTo(want.get("out"));
            } else if (Boolean.TRUE.equals(want.get("raised"))) {
                assertThatThrownBy(() -> ChatTemplate.parse(e.getValue()).render(context))
                        .isInstanceOf(TemplateException.class)
                        .hasMessage(((String) want.get("error")).substring("TemplateError: ".length()));
            } else {
                assertThatThrownBy(() -> ChatTemplate.parse(e.getValue()).render(context))
                        .as("jinja2 fails with %s", want.get("error"))
                        .isInstanceOf(TemplateException.class);
            }
        }));
    }

    @Test
    void snippetFileHasManyConstructs() throws Exception {
        assertThat(snippets(ChatTemplateReferenceTest.root().resolve("snippets/snippets.txt"))).hasSizeGreaterThan(50);
    }
}
