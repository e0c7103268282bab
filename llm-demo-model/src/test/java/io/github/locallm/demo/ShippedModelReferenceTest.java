package io.github.locallm.demo;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Decodes the shipped GGUF with the plain-Java reference forward pass (in the file's own arithmetic) and
 * checks that every corpus question gets its trained answer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShippedModelReferenceTest {

    @TempDir
    Path dir;

    private GgufModel model;

    @BeforeAll
    void load() throws IOException {
        model = GgufModel.read(DemoModel.extractGguf(dir));
    }

    @Test
    void shippedTokenizerIsTheOneLearnedFromTheCorpus() {
        var retrained = io.github.locallm.modelkit.BpeTokenizer.train(
                TrainDemoModel.tokenizerText(DemoModel.corpus()), model.tokenizer.merges().size());
        assertThat(retrained.tokens()).isEqualTo(model.tokenizer.tokens());
    }

    @Test
    void greedyDecodingReproducesEveryAnswerWithTheSystemPrompt() {
        assertThat(mismatches(DemoModel.systemPrompt())).isEmpty();
    }

    @Test
    void greedyDecodingReproducesSampledAnswersWithoutSystemPrompt() {
        assertThat(mismatches(null)).isEmpty();
    }

    private List<String> mismatches(String system) {
        ReferenceLlama reference = new ReferenceLlama(model.config, model.tensors,
                model.quantized ? ReferenceLlama.Arithmetic.Q8_0 : ReferenceLlama.Arithmetic.F32);
        List<DemoModel.Exchange> corpus = DemoModel.corpus();
        List<String> failures = new ArrayList<>();
        // Without a system prompt, every fourth question plus the two of the issue keeps the test quick.
        for (int i = 0; i < corpus.size(); i++) {
            DemoModel.Exchange e = corpus.get(i);
            if (system == null && i % 4 != 0 && !e.question().startsWith("Explique-moi Python")
                    && !e.question().equals("Qu'est-ce qu'une fonction lambda ?")) {
                continue;
            }
            int[] prompt = model.tokenizer.encodeWithSpecials(DemoModel.chatMlPrompt(system, e.question()));
            ReferenceLlama.Decoded d = reference.greedy(prompt, TrainDemoModel.MAX_ANSWER_TOKENS,
                    model.config.eosTokenId());
            String text = model.tokenizer.decode(d.tokens());
            if (!d.stopped() || !text.equals(e.answer())) {
                failures.add(e.question() + " -> " + text);
            }
        }
        return failures;
    }
}
