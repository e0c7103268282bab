package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Renders every published chat template under {@code <locallm.shared.dir>/chat-templates} with every
 * test conversation and compares the result byte for byte with jinja2's, committed under
 * {@code templates/shared-expected} by {@code src/test/python/render_references.py}: the same text where
 * jinja2 renders, the same message where the template raises, and a {@link TemplateException} where
 * jinja2 fails.
 */
class PublishedTemplatesReferenceTest {
    /** The instant the reference script's {@code strftime_now} is fixed at. */
    static final Clock FIXED = Clock.fixed(Instant.parse("2026-01-15T09:30:00Z"), ZoneOffset.UTC);

    record Case(String name, Path template, Path conversation, Path expected, String kind) {
    }

    static Path sharedTemplates() {
        String dir = System.getProperty("locallm.shared.dir");
        assertThat(dir).as("system property locallm.shared.dir (set by the parent pom)").isNotNull();
        Path p = Path.of(dir, "chat-templates");
        assertThat(p).as("published chat templates beside the checkout").isDirectory();
        return p;
    }

    static List<Case> cases() throws Exception {
        Path root = ChatTemplateReferenceTest.root();
        List<Path> templates;
        List<Path> conversations;
        try (Stream<Path> s = Files.list(sharedTemplates())) {
            templates = s.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
        }
        try (Stream<Path> s = Files.list(root.resolve("conversations"))) {
            conversations = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        List<Case> out = new ArrayList<>();
        for (Path t : templates) {
            for (Path c : conversations) {
                String name = stem(t) + "__" + stem(c);
                Path dir = root.resolve("shared-expected");
                Case found = null;
                for (String kind : List.of("txt", "error.txt", "refused.txt")) {
                    Path p = dir.resolve(name + "." + kind);
                    if (Files.exists(p)) {
                        found = new Case(name, t, c, p, kind);
                    }
                }
                if (found == null) {
                    throw new IllegalStateException("no reference output for " + name
                            + "; run src/test/python/render_references.py");
                }
                out.add(found);
            }
        }
        return out;
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.substring(0, n.lastIndexOf('.'));
    }

    static void check(Case c) throws IOException {
        Map<String, Object> conv = ChatTemplateReferenceTest.read(c.conversation());
        String expected = Files.readString(c.expected(), StandardCharsets.UTF_8);
        ChatTemplate template;
        try {
            template = ChatTemplate.parse(Files.readString(c.template(), StandardCharsets.UTF_8)).withClock(FIXED);
        } catch (TemplateException e) {
            assertThat(c.kind()).as(c.name() + " parse failure: " + e.getMessage()).isEqualTo("refused.txt");
            return;
        }
        switch (c.kind()) {
            case "txt" -> {
                byte[] actual = template.render(ChatTemplateReferenceTest.messages(conv),
                        ChatTemplateReferenceTest.options(conv)).getBytes(StandardCharsets.UTF_8);
                assertThat(new String(actual, StandardCharsets.UTF_8)).as(c.name()).isEqualTo(expected);
                assertThat(actual).isEqualTo(expected.getBytes(StandardCharsets.UTF_8));
            }
            case "error.txt" -> {
                TemplateException e = catchRender(template, conv);
                assertThat(e).as(c.name() + " should raise").isNotNull();
                assertThat(e.getMessage()).isEqualTo(expected);
            }
            default -> assertThat(catchRender(template, conv))
                    .as(c.name() + " should fail as jinja2 does (" + expected + ")").isNotNull();
        }
    }

    private static TemplateException catchRender(ChatTemplate template, Map<String, Object> conv) {
        try {
            template.render(ChatTemplateReferenceTest.messages(conv), ChatTemplateReferenceTest.options(conv));
            return null;
        } catch (TemplateException e) {
            return e;
        }
    }

    @TestFactory
    Stream<DynamicTest> everyPublishedTemplateWithEveryConversation() throws Exception {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    @Test
    void everyPublishedTemplateMatchesJinja2() throws Exception {
        List<Case> all = cases();
        List<String> failed = new ArrayList<>();
        for (Case c : all) {
            try {
                check(c);
            } catch (AssertionError | RuntimeException e) {
                failed.add(c.name());
            }
        }
        long rendered = all.stream().filter(c -> c.kind().equals("txt")).count();
        System.out.printf("published chat templates: %d of %d cases as jinja2 (%d rendered by jinja2)%n",
                all.size() - failed.size(), all.size(), rendered);
        assertThat(all).hasSizeGreaterThanOrEqualTo(900);
        assertThat(failed).isEmpty();
    }
}
