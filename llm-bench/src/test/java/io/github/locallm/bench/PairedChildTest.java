package io.github.locallm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.demo.DemoModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A paired child: several sides in one process (the C driver served one request per line, the SDK in process, the
 * SDK in an engine process), each prompt run on every side, one result per side with the median per-request
 * ratio to the base side.
 */
class PairedChildTest {

    @Test
    @Timeout(180)
    void onePairedChildGivesEverySideItsResultAndThePerRequestRatioToTheBaseSide(@TempDir Path dir) throws Exception {
        Path gguf = DemoModel.extractGguf(dir);
        Map<String, String> p = new java.util.LinkedHashMap<>();
        String[] kv = {"variant", "llamacpp+native-c+isolated", "pairBase", "native-c", "model", gguf.toString(),
            "ctx", "256", "threads", "1", "promptTokens", "16", "genTokens", "8", "reps", "3", "warmups", "1",
            "warmupTokens", "8", "rateTo", "end", "round", "0"};
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        Map<String, Object> r = GenerationBench.run(p);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> sides = (Map<String, Map<String, Object>>) r.get("paired");
        assertThat(sides).containsOnlyKeys("native-c", "llamacpp", "isolated");
        @SuppressWarnings("unchecked")
        List<Double> base = (List<Double>) sides.get("native-c").get("genAll");
        assertThat(base).hasSize(3).allSatisfy(v -> assertThat(v).isPositive());
        assertThat(sides.get("native-c").get("pairRatio")).isEqualTo(1.0);
        for (String side : List.of("llamacpp", "isolated")) {
            Map<String, Object> s = sides.get(side);
            @SuppressWarnings("unchecked")
            List<Double> gen = (List<Double>) s.get("genAll");
            assertThat(gen).hasSize(3);
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ratios.add(gen.get(i) / base.get(i));
            }
            assertThat((Double) s.get("pairRatio")).isEqualTo(Stats.median(ratios)).isPositive();
            assertThat((String) s.get("settings")).contains("in one process with ").contains("native-c")
                    .contains("threads 1").contains("to the end of the answer");
        }
        assertThat((String) sides.get("native-c").get("settings")).startsWith("llama_driver.c")
                .contains("in one process with llamacpp and isolated");
        // the driver's own load time (model and context), not the compilation before it
        assertThat((Double) sides.get("native-c").get("loadMs")).isPositive().isLessThan(60_000.0);
    }
}
