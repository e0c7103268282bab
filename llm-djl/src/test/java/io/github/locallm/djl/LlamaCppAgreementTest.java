package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.LogFormat;
import io.github.locallm.modelkit.BpeTokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cross-backend agreement: on the same F32 weights and tokenizer, llama.cpp (reading the GGUF that
 * {@code GgufWriter} writes, with an F32 key/value cache) and this decoder produce the same prompt tokens
 * and the same greedy continuation of 40 tokens, for several prompts and every architecture variant.
 */
class LlamaCppAgreementTest {
    static final int TOKENS = 40;
    static final List<String> PROMPTS = List.of(
            "The quick brown fox",
            "Hello, world! How are you today?",
            "Java is a language for the virtual machine.",
            "Café, naïve, 日本語 and 🙂 are text.");

    @BeforeAll
    static void quiet() {
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
    }

    @ParameterizedTest
    @EnumSource(value = TinyCheckpoints.Variant.class, names = {"LLAMA_F32", "GQA_F32", "QWEN2_F32", "TIED_F32"})
    void greedyTokensAgreeWithLlamaCpp(TinyCheckpoints.Variant v) {
        Backends.Parts djl = Backends.sharedParts(v);
        BpeTokenizer tok = TinyCheckpoints.model(v).tokenizer();
        int[] endOfGeneration = {tok.tokenId(BpeTokenizer.IM_END), tok.tokenId(BpeTokenizer.END_OF_TEXT)};
        ModelParameters params = new ModelParameters()
                .setModel(TinyCheckpoints.gguf(v).toString())
                .setCtxSize(256)
                .setThreads(2)
                .setGpuLayers(0)
                .setCacheTypeK(CacheType.F32)
                .setCacheTypeV(CacheType.F32)
                .disableLog();
        try (LlamaModel llama = new LlamaModel(params)) {
            for (String prompt : PROMPTS) {
                int[] promptTokens = djl.backend().tokenize(prompt);
                assertThat(llama.encode(prompt)).as("prompt tokens of %s", prompt).containsExactly(promptTokens);

                InferenceParameters inf = new InferenceParameters(prompt)
                        .setTemperature(0f)
                        .setRepeatPenalty(1f)
                        .setNPredict(TOKENS)
                        .setIgnoreEos(true)
                        .setCachePrompt(false);
                StringBuilder fromLlama = new StringBuilder();
                for (LlamaOutput out : llama.generate(inf)) {
                    fromLlama.append(out.text);
                }

                // llama.cpp's ignore-eos masks every end-of-generation token; do the same here.
                int[] ids = DecoderRuns.greedy(djl.decoder(), promptTokens, TOKENS, endOfGeneration);
                // Random weights end on arbitrary bytes: the server holds back an incomplete UTF-8 sequence at
                // the end where decoding shows U+FFFD, so trailing replacement characters are not compared.
                String fromDjl = trimReplacement(djl.tokenizer().decode(ids, 0, ids.length, true));
                String llamaText = trimReplacement(fromLlama.toString());
                System.out.printf("llama.cpp agreement %s %-45s %d tokens: %s%n", v, '"' + prompt + '"', ids.length,
                        fromDjl.equals(llamaText) ? "same" : "DIFFERENT");
                assertThat(fromDjl).as("greedy text of %s for %s (token ids %s)", v, prompt, Arrays.toString(ids))
                        .isEqualTo(llamaText);
                assertThat(fromDjl).isNotBlank();
            }
        }
    }

    private static String trimReplacement(String s) {
        return s.replaceFirst("\uFFFD+$", "");
    }
}
