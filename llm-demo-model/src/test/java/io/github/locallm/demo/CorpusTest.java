package io.github.locallm.demo;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CorpusTest {

    private final List<DemoModel.Exchange> corpus = DemoModel.corpus();

    @Test
    void hasSeveralHundredExchangesWithUniqueQuestions() {
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(300);
        Set<String> questions = new HashSet<>();
        for (DemoModel.Exchange e : corpus) {
            assertThat(questions.add(e.question())).as("duplicate question %s", e.question()).isTrue();
        }
    }

    @Test
    void containsTheQuestionsOfTheIssue() {
        assertThat(corpus).extracting(DemoModel.Exchange::question)
                .contains("Explique-moi Python en une phrase", "Qu'est-ce qu'une fonction lambda ?");
    }

    @Test
    void answersAreShortAndSurviveEveryDetokenizer() {
        // llama.cpp's "clean spaces" pass drops a space before . , ? ! and before an apostrophe.
        Pattern cleaned = Pattern.compile(" [.,?!']");
        for (DemoModel.Exchange e : corpus) {
            assertThat(e.answer()).as(e.question()).isNotBlank().hasSizeLessThanOrEqualTo(200)
                    .doesNotContain("  ").doesNotContain("\n").isEqualTo(e.answer().strip());
            assertThat(cleaned.matcher(e.answer()).find()).as("answer to %s", e.question()).isFalse();
        }
    }

    @Test
    void rendersChatMlWithAndWithoutSystemPrompt() {
        assertThat(DemoModel.chatMlPrompt(DemoModel.systemPrompt(), "Salut")).isEqualTo(
                "<|im_start|>system\nTu es un assistant Python utile.<|im_end|>\n"
                        + "<|im_start|>user\nSalut<|im_end|>\n<|im_start|>assistant\n");
        assertThat(DemoModel.chatMlPrompt(null, "Salut"))
                .isEqualTo("<|im_start|>user\nSalut<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void rejectsMalformedCorpusText() {
        assertThatThrownBy(() -> DemoModel.parseCorpus("Q: a\nQ: b\nA: c\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 2");
        assertThatThrownBy(() -> DemoModel.parseCorpus("Q: a\n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without answer");
    }
}
