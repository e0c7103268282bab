package io.github.locallm.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.github.locallm.ChatMessage;
import io.github.locallm.LlmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The sandbox: templates are untrusted, so they reach only plain data and stop within their limits. */
class ChatTemplateSandboxTest {
    private static final Duration HANG_GUARD = Duration.ofSeconds(60);

    private static Map<String, Object> vars() {
        Map<String, Object> m = new HashMap<>();
        m.put("s", "text");
        m.put("lst", new ArrayList<>(List.of(1, 2, 3)));
        m.put("d", new HashMap<>(Map.of("a", 1)));
        m.put("messages", List.of(Map.of("role", "user", "content", "hi")));
        return m;
    }

    private static String render(String template) {
        return ChatTemplate.parse(template).render(vars());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{{ s.getClass() }}",
        "{{ s.getClass().forName('java.lang.Runtime') }}",
        "{{ s.getBytes() }}",
        "{{ s.hashCode() }}",
        "{{ lst.toString() }}",
        "{{ lst.iterator() }}",
        "{{ d.entrySet() }}",
        "{{ messages[0].getClass() }}",
        "{{ range.getClass() }}",
        "{{ raise_exception.apply(1) }}",
        "{{ s.__class__.__mro__[1].__subclasses__() }}",
        "{{ lst.append(4) }}",
        "{{ lst.clear() }}",
        "{{ d.update({'b': 2}) }}",
        "{{ d.pop('a') }}",
        "{{ d.setdefault('x', 1) }}",
        "{{ 'x'.encode('utf-8') }}",
        "{{ '{0.__class__}'.format(s) }}",
        "{{ namespace.__init__ }}{{ namespace.__init__() }}",
    })
    void methodsOfValuesAreRefused(String template) {
        assertThatThrownBy(() -> render(template)).isInstanceOf(TemplateException.class);
    }

    @Test
    void javaAttributesAreInvisible() {
        assertThat(render("[{{ s.class }}][{{ lst.size }}][{{ d.empty }}][{{ s.length }}][{{ s.bytes }}]"))
                .isEqualTo("[][][][][]");
        assertThat(render("{{ s.class is defined }} {{ lst.class is defined }} {{ d.class is defined }}"))
                .isEqualTo("False False False");
    }

    @Test
    void valuesPassedInAreNeverModified() {
        Map<String, Object> v = vars();
        ChatTemplate.parse("{% set x = lst + [4] %}{% set y = d.copy() %}{{ x }}").render(v);
        assertThat(v.get("lst")).isEqualTo(List.of(1, 2, 3));
        assertThat(v.get("d")).isEqualTo(Map.of("a", 1));
    }

    @Test
    void javaObjectsCannotBePassedIn() {
        Map<String, Object> v = new HashMap<>();
        v.put("thread", Thread.currentThread());
        assertThatThrownBy(() -> ChatTemplate.parse("{{ thread }}").render(v))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("thread").hasMessageContaining("java.lang.Thread");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{% include 'other.jinja' %}",
        "{% import 'macros.jinja' as m %}",
        "{% from 'macros.jinja' import x %}",
        "{% extends 'base.jinja' %}",
        "{% block body %}{% endblock %}",
    })
    void loadingOtherTemplatesIsRefused(String template) {
        assertThatThrownBy(() -> ChatTemplate.parse(template))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("cannot load other templates");
    }

    @Test
    void runawayLoopsStop() {
        ChatTemplate t = ChatTemplate.parse(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        assertTimeoutPreemptively(HANG_GUARD, () -> assertThatThrownBy(() -> t.render(Map.of()))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("1000000 loop iterations"));
        assertThatThrownBy(() -> render("{{ range(100000000) }}"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("Range too big");
    }

    @Test
    void loopLimitIsConfigurable() {
        ChatTemplate t = ChatTemplate.parse("{% for i in range(10) %}{{ i }}{% endfor %}",
                new TemplateLimits(1 << 20, 10, 10));
        assertThat(t.render(Map.of())).isEqualTo("0123456789");
        assertThatThrownBy(() -> t.withLimits(new TemplateLimits(1 << 20, 9, 10)).render(Map.of()))
                .isInstanceOf(TemplateException.class).hasMessageContaining("9 loop iterations");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ [0] * 100000000 }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
        "{{ 'ab' | center(100000000) }}",
        "{{ 'x' | indent(100000000, true) }}",
        "{% for i in range(99999) %}{{ 'y' | replace('', 'zzzzzzzzzzzzzzzzzzzz') }}{% endfor %}",
        "{{ [[1] * 1000000] * 1000000 }}",
        "{{ ([['ab'] * 1000000] * 1000000) | string | length }}",
        "{{ ([[1] * 1000000] * 1000000) | tojson }}",
    })
    void hugeOutputsStop(String template) {
        assertTimeoutPreemptively(HANG_GUARD, () -> assertThatThrownBy(() -> render(template))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("limit"));
    }

    @Test
    void outputLimitIsConfigurable() {
        ChatTemplate t = ChatTemplate.parse("{{ 'x' * 100 }}", new TemplateLimits(100, 1000, 10));
        assertThat(t.render(Map.of())).hasSize(100);
        assertThatThrownBy(() -> t.withLimits(new TemplateLimits(99, 1000, 10)).render(Map.of()))
                .isInstanceOf(TemplateException.class).hasMessageContaining("99");
    }

    @Test
    void runawayRecursionStops() {
        assertThatThrownBy(() -> render("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}"))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("macro calls nested more than 100 deep");
        // A string is iterable, so a schema walker that recurses into unknown type names never ends.
        String walker = "{% macro t(spec) %}{% if spec.type == 'string' %}str{% elif spec.type is iterable %}"
                + "{% for x in spec.type %}{{ t({'type': x}) }}{% endfor %}{% endif %}{% endmacro %}{{ t({'type': 'null'}) }}";
        assertThatThrownBy(() -> render(walker)).isInstanceOf(TemplateException.class)
                .hasMessageContaining("nested more than");
    }

    @Test
    void exponentialMacroCallsStop() {
        ChatTemplate t = ChatTemplate.parse("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
                + "{% endmacro %}{{ f(60) }}");
        assertTimeoutPreemptively(HANG_GUARD, () -> assertThatThrownBy(() -> t.render(Map.of()))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("loop iterations and macro calls"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{{ [[1] * 1000000] * 1000000 == [[1] * 1000000] * 1000000 }}",
        "{% set big = range(100000) | list %}{% for i in range(100000) %}{{ 99999 in big }}{% endfor %}",
        "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% for j in range(200) %}"
                + "{% set ns.l = ns.l + [j] %}{% endfor %}{% endfor %}",
        "{% set ns = namespace(s='') %}{% for i in range(1000) %}{% for j in range(120) %}"
                + "{% set ns.s = ns.s ~ 'abcdefgh' %}{% endfor %}{% endfor %}",
        "{{ ('a' * 1000000).count('a' * 500000 ~ 'b') }}",
        "{{ ('a' * 500000 ~ 'b') in ('a' * 1000000) }}",
    })
    void quadraticWorkStops(String template) {
        assertTimeoutPreemptively(HANG_GUARD, () -> assertThatThrownBy(() -> render(template))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("element operations"));
    }

    @Test
    void uniqueOfManyScalarsIsFast() {
        assertTimeoutPreemptively(HANG_GUARD, () -> assertThat(
                render("{{ range(100000) | map('string') | unique | list | length }}")).isEqualTo("100000"));
    }

    @Test
    void deeplyNestedExpressionsAreASyntaxError() {
        String deep = "{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}";
        assertThatThrownBy(() -> ChatTemplate.parse(deep))
                .isInstanceOf(TemplateException.class).hasMessageContaining("nested more than");
        String notNot = "{{ " + "not ".repeat(5000) + "x }}";
        assertThatThrownBy(() -> ChatTemplate.parse(notNot)).isInstanceOf(TemplateException.class);
        String ifs = "{% if true %}".repeat(5000) + "x" + "{% endif %}".repeat(5000);
        assertThatThrownBy(() -> ChatTemplate.parse(ifs))
                .isInstanceOf(TemplateException.class).hasMessageContaining("nested more than");
        String lists = "{{ " + "[".repeat(5000) + "]".repeat(5000) + " }}";
        assertThatThrownBy(() -> ChatTemplate.parse(lists)).isInstanceOf(TemplateException.class);
    }

    @Test
    void messageContentIsPrintedNeverRendered() {
        String evil = "{{ raise_exception('pwned') }}{% for i in range(100000000) %}x{% endfor %}{# c #}{%- raw %}";
        ChatTemplate chatml = ChatTemplate.parse(
                "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}");
        String out = chatml.render(List.of(ChatMessage.user(evil), ChatMessage.assistant("{{ 7 * 7 }}")),
                RenderOptions.defaults());
        assertThat(out).isEqualTo("<user>" + evil + "</user><assistant>{{ 7 * 7 }}</assistant>");
    }

    @Test
    void raiseExceptionSurfacesWithTheTemplatesMessage() {
        ChatTemplate t = ChatTemplate.parse(
                "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok");
        assertThat(t.render(List.of(ChatMessage.user("hi")), RenderOptions.defaults())).isEqualTo("ok");
        assertThatThrownBy(() -> t.render(List.of(ChatMessage.system("s")), RenderOptions.defaults()))
                .isInstanceOf(TemplateException.class)
                .isInstanceOf(LlmException.class)
                .hasMessage("System role not supported");
    }
}
