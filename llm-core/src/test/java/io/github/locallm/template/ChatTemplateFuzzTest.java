package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Randomly generated templates (whitespace control in every combination, and mixed expressions)
 * rendered by jinja2 in {@code templates/fuzz/cases.json}: the renderer must produce the same text,
 * or fail where jinja2 fails.
 */
class ChatTemplateFuzzTest {

    @Test
    @SuppressWarnings("unchecked")
    void generatedTemplatesMatchJinja2() throws Exception {
        Path root = ChatTemplateReferenceTest.root();
        Map<String, Object> context = (Map<String, Object>) JsonCodec.parse(
                Files.readString(root.resolve("snippets/context.json"), StandardCharsets.UTF_8));
        List<Object> cases = (List<Object>) JsonCodec.parse(
                Files.readString(root.resolve("fuzz/cases.json"), StandardCharsets.UTF_8));
        List<String> mismatches = new ArrayList<>();
        int rendered = 0;
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            String source = (String) c.get("source");
            String actual;
            try {
                actual = ChatTemplate.parse(source).render(context);
            } catch (TemplateException e) {
                actual = null;
            }
            Object expected = c.get("out");
            if (expected != null) {
                rendered++;
            }
            if (expected == null ? actual != null : !expected.equals(actual)) {
                mismatches.add(source + "\n  jinja2: " + (expected != null ? expected : c.get("error"))
                        + "\n  here:   " + actual);
            }
        }
        System.out.printf("chat templates: %d of %d generated templates agree with jinja2 (%d rendered, %d failing in both)%n",
                cases.size() - mismatches.size(), cases.size(), rendered, cases.size() - rendered);
        assertThat(cases).hasSizeGreaterThan(1000);
        assertThat(mismatches).isEmpty();
    }
}
