package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Renders every test template with every test conversation and compares the result byte for byte
 * with the output of Python's jinja2 under transformers' settings, committed under
 * {@code templates/expected} by {@code src/test/python/render_references.py}.
 */
class ChatTemplateReferenceTest {

    record Case(String name, Path template, Path conversation, Path expected, boolean raises) {
    }

    static Path root() throws URISyntaxException {
        return Path.of(ChatTemplateReferenceTest.class.getResource("/templates").toURI());
    }

    static List<Case> cases() throws IOException, URISyntaxException {
        Path root = root();
        List<Path> templates;
        List<Path> conversations;
        try (Stream<Path> s = Files.list(root)) {
            templates = s.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
        }
        try (Stream<Path> s = Files.list(root.resolve("conversations"))) {
            conversations = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        List<Case> out = new ArrayList<>();
        for (Path t : templates) {
            for (Path c : conversations) {
                String name = stem(t) + "__" + stem(c);
                Path ok = root.resolve("expected").resolve(name + ".txt");
                Path err = root.resolve("expected").resolve(name + ".error.txt");
                boolean raises = Files.exists(err);
                if (!raises && !Files.exists(ok)) {
                    throw new IllegalStateException("no reference output for " + name
                            + "; run src/test/python/render_references.py");
                }
                out.add(new Case(name, t, c, raises ? err : ok, raises));
            }
        }
        return out;
    }

    private static String stem(Path p) {
        String n = p.getFileName().toString();
        return n.substring(0, n.lastIndexOf('.'));
    }

    @SuppressWarnings("unchecked")
    static List<ChatMessage> messages(Map<String, Object> conv) {
        List<ChatMessage> out = new ArrayList<>();
        for (Object o : (List<Object>) conv.get("messages")) {
            Map<String, Object> m = (Map<String, Object>) o;
            List<ToolCall> calls = new ArrayList<>();
            for (Object c : (List<Object>) m.getOrDefault("tool_calls", List.of())) {
                Map<String, Object> call = (Map<String, Object>) c;
                calls.add(new ToolCall((String) call.getOrDefault("id", ""), (String) call.get("name"),
                        JsonCodec.write(call.get("arguments"), JsonCodec.WriteOptions.python())));
            }
            ChatMessage.Role role = ChatMessage.Role.valueOf(((String) m.get("role")).toUpperCase());
            out.add(new ChatMessage(role, (String) m.get("content"), calls, List.of(),
                    (String) m.getOrDefault("name", "")));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static RenderOptions options(Map<String, Object> conv) {
        List<ToolSpec> tools = new ArrayList<>();
        if (conv.get("tools") != null) {
            for (Object o : (List<Object>) conv.get("tools")) {
                Map<String, Object> t = (Map<String, Object>) o;
                tools.add(new ToolSpec((String) t.get("name"), (String) t.get("description"),
                        JsonCodec.write(t.get("parameters"), JsonCodec.WriteOptions.python())));
            }
        }
        return RenderOptions.builder()
                .addGenerationPrompt((Boolean) conv.get("add_generation_prompt"))
                .tools(tools)
                .bosToken((String) conv.get("bos_token"))
                .eosToken((String) conv.get("eos_token"))
                .variables((Map<String, Object>) conv.get("variables"))
                .build();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> read(Path conversation) throws IOException {
        return (Map<String, Object>) JsonCodec.parse(Files.readString(conversation, StandardCharsets.UTF_8));
    }

    static void check(Case c) throws IOException {
        ChatTemplate template = ChatTemplate.parse(Files.readString(c.template(), StandardCharsets.UTF_8));
        Map<String, Object> conv = read(c.conversation());
        byte[] expected = Files.readAllBytes(c.expected());
        if (c.raises()) {
            assertThatThrownBy(() -> template.render(messages(conv), options(conv)))
                    .isInstanceOf(TemplateException.class)
                    .hasMessage(new String(expected, StandardCharsets.UTF_8));
        } else {
            byte[] actual = template.render(messages(conv), options(conv)).getBytes(StandardCharsets.UTF_8);
            assertThat(new String(actual, StandardCharsets.UTF_8))
                    .isEqualTo(new String(expected, StandardCharsets.UTF_8));
            assertThat(actual).isEqualTo(expected);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyTemplateWithEveryConversation() throws Exception {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    @Test
    void referenceSetIsLargeAndFullyMatched() throws Exception {
        List<Case> all = cases();
        List<String> failed = new ArrayList<>();
        for (Case c : all) {
            try {
                check(c);
            } catch (AssertionError | RuntimeException e) {
                failed.add(c.name());
            }
        }
        System.out.printf("chat templates: %d of %d template x conversation cases identical to jinja2%n",
                all.size() - failed.size(), all.size());
        assertThat(all).hasSizeGreaterThanOrEqualTo(100);
        assertThat(failed).isEmpty();
    }
}
