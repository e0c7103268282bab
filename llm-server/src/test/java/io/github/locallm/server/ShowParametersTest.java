package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Capability;
import io.github.locallm.ModelInfo;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code /api/show}'s {@code parameters}: a backend's sampling defaults and end tokens in the Modelfile's
 * layout, and the upstream Modelfile's parameters unchanged where there is one.
 */
class ShowParametersTest {
    private static ModelInfo info(Map<String, String> details) {
        return new ModelInfo("djl", "m", 2048, EnumSet.of(Capability.CHAT), details);
    }

    @Test
    void samplingDefaultsAndEndTokensAreModelfileParameters() {
        String p = OllamaApi.parameters(info(Map.of(
                OllamaApi.SAMPLING_DEFAULTS, "temperature 0.6\ntop_k 20\ntop_p 0.95",
                OllamaApi.STOP_TOKENS, "<|im_end|>\n<|endoftext|>")));
        assertThat(p).isEqualTo(String.join("\n",
                "num_ctx                        2048",
                "stop                           \"<|im_end|>\"",
                "stop                           \"<|endoftext|>\"",
                "temperature                    0.6",
                "top_k                          20",
                "top_p                          0.95"));
    }

    @Test
    void withoutDefaultsOnlyTheContextWindowIsListed() {
        assertThat(OllamaApi.parameters(info(Map.of()))).isEqualTo("num_ctx                        2048");
    }

    @Test
    void theUpstreamModelfileWins() {
        String upstream = "stop                           \"<|eot|>\"";
        assertThat(OllamaApi.parameters(info(Map.of(OllamaApi.MODELFILE_PARAMETERS, upstream,
                OllamaApi.SAMPLING_DEFAULTS, "temperature 0.6")))).isEqualTo(upstream);
    }

    @Test
    void stopTextsAreQuotedWithEscapes() {
        assertThat(OllamaApi.quoted("a\"b\\c\td\u0001")).isEqualTo("\"a\\\"b\\\\c\\td\\x01\"");
    }
}
