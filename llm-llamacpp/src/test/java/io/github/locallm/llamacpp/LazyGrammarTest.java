package io.github.locallm.llamacpp;

import io.github.locallm.GenerationOptions;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.DecodeLoop;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The llamacpp engine's sampler chain takes lazy grammars (llama_sampler_init_grammar_lazy_patterns): a lazy
 * grammar whose trigger never appears leaves the text free, while the same grammar without trigger binds at once.
 */
class LazyGrammarTest {

    @Test
    void aLazyGrammarWaitsForItsTriggerAndAnEagerOneBindsAtOnce(@TempDir Path dir) {
        Path file = TestModels.write(dir, "lazy", TinyModels.llama(), GgufWriter.Quantization.F32);
        Engine engine = TestModels.openNativeEngine(file, Map.of("kv_type", "f32"));
        try {
            GenerationOptions greedy = TestModels.greedy(12).toBuilder().backendOption("llamacpp", "cache_prompt",
                    "false").build();
            String free = run(engine, sampling(null), greedy);
            String grammar = "root ::= \"yes\" | \"no\"";
            assertThat(run(engine, sampling(grammar), greedy)).isIn("yes", "no");
            // a trigger that never shows up: the grammar never applies, the text is the free one
            String untriggered = run(engine, sampling(null).withLazyGrammar(grammar, List.of("ZZZ-never-generated"),
                    new int[0]), greedy);
            assertThat(untriggered).isEqualTo(free);
        } finally {
            engine.lock().lock();
            try {
                engine.release();
            } finally {
                engine.lock().unlock();
            }
        }
    }

    private static Sampling sampling(String grammar) {
        return new Sampling(0.0, null, null, null, null, null, Map.of(), grammar, null, false);
    }

    private static String run(Engine engine, Sampling s, GenerationOptions o) {
        int[] prompt = engine.tokenize("The quick brown fox");
        DecodeLoop loop = DecodeLoop.plan("test", prompt, 512, o, 0);
        StringBuilder text = new StringBuilder();
        engine.lock().lock();
        try (Engine.Generation g = engine.start(s, loop.maxNewTokens())) {
            BackendResult r = loop.run(g, text::append, TestModels.NEVER);
            assertThat(r.completionTokens()).isPositive();
        } finally {
            engine.lock().unlock();
        }
        return text.toString();
    }
}
