package io.github.locallm.demo;

import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Decodes the shipped GGUF with the plain-Java reference forward pass (in the file's own arithmetic) and
 * checks that a sample of the corpus questions gets its trained answer (the llama.cpp test covers them all;
 * the plain-Java decoder is slower).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShippedModelReferenceTest {

    private GgufModel model;

    @BeforeAll
    void load(@TempDir Path dir) throws IOException {
        model = GgufModel.read(DemoModel.extractGguf(dir));
    }

    @Test
    void shippedTokenizerIsTheOneLearnedFromTheCorpus() {
        var retrained = io.github.locallm.modelkit.BpeTokenizer.train(
                TrainDemoModel.tokenizerText(DemoModel.corpus()), model.tokenizer.merges().size());
        assertThat(retrained.tokens()).isEqualTo(model.tokenizer.tokens());
    }

    @Test
    void greedyDecodingReproducesSampledAnswersWithTheSystemPrompt() {
        assertThat(mismatches(DemoModel.systemPrompt(), BackendAnswers.sample(3))).isEmpty();
    }

    @Test
    void greedyDecodingReproducesSampledAnswersWithoutSystemPrompt() {
        assertThat(mismatches(null, BackendAnswers.sample(8))).isEmpty();
    }

    private List<String> mismatches(String system, List<DemoModel.Exchange> exchanges) {
        Map<String, Tensor> tensors = new HashMap<>();
        CheckpointModel.expectedShapes(model.config).forEach(
                (name, shape) -> tensors.put(name, new Tensor(name, shape, model.tensors.get(name))));
        ReferenceForward reference = new ReferenceForward(
                CheckpointModel.of(model.config, model.tokenizer, tensors, CheckpointModel.CHATML_TEMPLATE),
                model.quantized ? ReferenceForward.Arithmetic.Q8_0 : ReferenceForward.Arithmetic.F32);
        List<String> failures = new ArrayList<>();
        for (DemoModel.Exchange e : exchanges) {
            int[] prompt = model.tokenizer.encodeWithSpecials(DemoModel.chatMlPrompt(system, e.question()));
            ReferenceForward.Decoded d = reference.greedy(prompt, TrainDemoModel.MAX_ANSWER_TOKENS,
                    model.config.eosTokenId());
            String text = model.tokenizer.decode(d.tokens());
            if (!d.stopped() || !text.equals(e.answer())) {
                failures.add(e.question() + " -> " + text);
            }
        }
        return failures;
    }
}
