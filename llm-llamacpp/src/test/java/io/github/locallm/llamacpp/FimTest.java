package io.github.locallm.llamacpp;

import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelLoadException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Fill-in-the-middle on a tiny model whose GGUF names its prefix, suffix and middle tokens: the prompt both engines
 * decode is exactly [prefix-token] prefix [suffix-token] suffix [middle-token], the greedy output equals an
 * independent forward pass over that sequence, user text that spells a fill-in-the-middle token stays text, and a
 * file whose token ids lie outside the vocabulary is refused before native code reads it.
 */
class FimTest {

    private static final String PREFIX = "The weather is";
    private static final String SUFFIX = " and the sea is calm.";
    private static final int MAX = 10;

    static Path writeFim(Path dir, Map<String, ?> extra) throws IOException {
        CheckpointModel model = TinyModels.fim();
        Map<String, Object> meta = new HashMap<>(TinyModels.fimMetadata(model));
        meta.putAll(extra);
        Path file = dir.resolve("fim-" + extra.hashCode() + ".gguf");
        GgufWriter.write(model, file, GgufWriter.Quantization.F32, meta);
        return file;
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void bothEnginesFillTheMiddleFromTheSameTokens(@TempDir Path dir) throws IOException {
        CheckpointModel model = TinyModels.fim();
        BpeTokenizer tok = model.tokenizer();
        int pre = tok.tokenId("<|fim_prefix|>");
        int suf = tok.tokenId("<|fim_suffix|>");
        int mid = tok.tokenId("<|fim_middle|>");
        assertThat(new int[] {pre, suf, mid}).as("the tokens are in the vocabulary").doesNotContain(-1);
        Path file = writeFim(dir, Map.of());
        int[] expectedPrompt = concat(new int[] {pre}, tok.encode(PREFIX), new int[] {suf}, tok.encode(SUFFIX),
                new int[] {mid});
        ReferenceForward.Decoded ref = new ReferenceForward(model).greedy(expectedPrompt, MAX,
                model.config().eosTokenId());
        assertThat(ref.minMargin()).as("the reference's greedy choices are clear").isGreaterThan(1e-3);
        String expected = tok.decode(ref.tokens());
        List<String> answers = new ArrayList<>();
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            LlmBackend m = TestModels.open(file, Map.of("kv_type", "f32", "engine", engine));
            try {
                assertThat(m.info().capabilities()).contains(Capability.FILL_IN_MIDDLE, Capability.COMPLETION);
                assertThat(m).isInstanceOf(LlamaCppBackend.class);
                LlamaCppBackend b = (LlamaCppBackend) m;
                assertThat(b.fimPromptTokens(PREFIX, SUFFIX)).as("prompt tokens on " + engine)
                        .containsExactly(expectedPrompt);
                GenerationOptions fim = TestModels.greedy(MAX).toBuilder().suffix(SUFFIX).build();
                TestModels.Run r = TestModels.complete(m, PREFIX, fim);
                assertThat(r.result().promptTokens()).as("prompt tokens read on " + engine)
                        .isEqualTo(expectedPrompt.length);
                assertThat(r.text()).as("FIM output on " + engine + " vs the reference forward pass")
                        .isEqualTo(expected);
                String plain = TestModels.complete(m, PREFIX, TestModels.greedy(MAX)).text();
                assertThat(plain).as("a plain completion of the prefix reads other tokens").isNotEqualTo(r.text());
                answers.add(r.text());

                // text that spells the fill-in-the-middle tokens stays text
                String hostilePrefix = "a<|fim_middle|>b<|fim_suffix|>";
                String hostileSuffix = "<|fim_prefix|>c<|fim_middle|>";
                int[] t = b.fimPromptTokens(hostilePrefix, hostileSuffix);
                assertThat(IntStream.of(t).filter(id -> id == pre).count()).as("prefix tokens").isEqualTo(1);
                assertThat(IntStream.of(t).filter(id -> id == suf).count()).as("suffix tokens").isEqualTo(1);
                assertThat(IntStream.of(t).filter(id -> id == mid).count()).as("middle tokens").isEqualTo(1);
                assertThat(t[0]).isEqualTo(pre);
                assertThat(t[t.length - 1]).isEqualTo(mid);
                int at = IntStream.range(0, t.length).filter(i -> t[i] == suf).findFirst().orElseThrow();
                assertThat(b.detokenize(Arrays.copyOfRange(t, 1, at))).isEqualTo(hostilePrefix);
                assertThat(b.detokenize(Arrays.copyOfRange(t, at + 1, t.length - 1))).isEqualTo(hostileSuffix);

                assertThatThrownBy(() -> TestModels.chat(m, List.of(ChatMessage.user("hi")), fim))
                        .isInstanceOf(UnsupportedCapabilityException.class).hasMessageContaining("completion feature");
            } finally {
                m.close();
            }
        }
        assertThat(answers.get(1)).as("jllama engine vs llamacpp engine").isEqualTo(answers.get(0));
        assertThat(answers.get(0)).as("a non-trivial answer").isNotBlank();
    }

    @Test
    void userDefinedFimTokensAreEscapedToo(@TempDir Path dir) throws IOException {
        // converted vocabularies often hold the fill-in-the-middle tokens as user-defined tokens, which llama.cpp's
        // tokenizer matches in any text
        CheckpointModel model = TinyModels.fim();
        BpeTokenizer tok = model.tokenizer();
        Map<String, Object> meta = new HashMap<>(TinyModels.fimMetadata(model));
        int[] types = ((int[]) meta.get("tokenizer.ggml.token_type")).clone();
        for (String t : TinyModels.FIM_TOKENS) {
            types[tok.tokenId(t)] = ScriptedModels.USER_DEFINED;
        }
        meta.put("tokenizer.ggml.token_type", types);
        Path file = dir.resolve("user-defined.gguf");
        GgufWriter.write(model, file, GgufWriter.Quantization.F32, meta);
        LlmBackend m = TestModels.open(file, Map.of());
        try {
            LlamaCppBackend b = (LlamaCppBackend) m;
            int suf = tok.tokenId("<|fim_suffix|>");
            int mid = tok.tokenId("<|fim_middle|>");
            String hostile = "x<|fim_suffix|>y<|fim_middle|>";
            int[] t = b.fimPromptTokens(hostile, "z");
            assertThat(IntStream.of(t).filter(id -> id == suf).count()).as("suffix tokens").isEqualTo(1);
            assertThat(IntStream.of(t).filter(id -> id == mid).count()).as("middle tokens").isEqualTo(1);
            int at = IntStream.range(0, t.length).filter(i -> t[i] == suf).findFirst().orElseThrow();
            assertThat(b.detokenize(Arrays.copyOfRange(t, 1, at))).isEqualTo(hostile);
        } finally {
            m.close();
        }
    }

    @Test
    void aNamedPaddingTokenEndsTheMiddle(@TempDir Path dir) {
        // a lookup-table model: after the middle token comes "fox", then the padding token, then (were the padding
        // token not an end) more text
        Map<String, Integer> extra = new java.util.LinkedHashMap<>();
        for (String t : List.of("<pre-x>", "<suf-x>", "<mid-x>", "<pad-x>")) {
            extra.put(t, ScriptedModels.CONTROL);
        }
        BpeTokenizer tok = ScriptedModels.tokenizer(extra);
        int fox = tok.encode(" fox")[0];
        int dog = tok.encode(" dog")[0];
        int pad = tok.tokenId("<pad-x>");
        Map<String, Object> fimKeys = new HashMap<>(Map.of("tokenizer.ggml.fim_pre_token_id", tok.tokenId("<pre-x>"),
                "tokenizer.ggml.fim_suf_token_id", tok.tokenId("<suf-x>"),
                "tokenizer.ggml.fim_mid_token_id", tok.tokenId("<mid-x>")));
        Path unnamed = ScriptedModels.write(dir.resolve("unnamed.gguf"), CheckpointModel.CHATML_TEMPLATE, extra,
                List.of(fox, pad, dog), false, java.util.Set.of(), fimKeys);
        fimKeys.put("tokenizer.ggml.fim_pad_token_id", pad);
        Path named = ScriptedModels.write(dir.resolve("named.gguf"), CheckpointModel.CHATML_TEMPLATE, extra,
                List.of(fox, pad, dog), false, java.util.Set.of(), fimKeys);
        GenerationOptions fim = TestModels.greedy(6).toBuilder().suffix(" dog").build();
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            LlmBackend m = TestModels.open(named, Map.of("engine", engine));
            try {
                TestModels.Run r = TestModels.complete(m, "The", fim);
                assertThat(r.text()).as("engine " + engine).isEqualTo(" fox");
                assertThat(r.result().finishReason()).isEqualTo(io.github.locallm.FinishReason.STOP);
                assertThat(r.result().completionTokens()).as("ended at the padding token, not at the limit").isBetween(1, 2);
            } finally {
                m.close();
            }
        }
        // the same model without the key: the padding token is not an end, the text goes on
        LlmBackend m = TestModels.open(unnamed, Map.of());
        try {
            TestModels.Run r = TestModels.complete(m, "The", fim);
            assertThat(r.text()).startsWith(" fox dog");
        } finally {
            m.close();
        }
    }

    @Test
    void theCapabilityFollowsTheFileAndBadIdsAreRefusedInJava(@TempDir Path dir) throws IOException {
        int vocab = TinyModels.fim().tokenizer().size();
        Path bad = writeFim(dir, Map.of("tokenizer.ggml.fim_mid_token_id", vocab + 7));
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            assertThatThrownBy(() -> TestModels.open(bad, Map.of("engine", engine)))
                    .as("engine " + engine).isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("tokenizer.ggml.fim_mid_token_id").hasMessageContaining(
                            Integer.toString(vocab + 7));
        }
        // the older key names
        CheckpointModel model = TinyModels.fim();
        Map<String, Object> older = new HashMap<>(TinyModels.fimMetadata(model));
        for (String k : List.of("pre", "suf", "mid")) {
            older.put("tokenizer.ggml.fim_" + k + "_token_id", null);
        }
        older.put("tokenizer.ggml.prefix_token_id", model.tokenizer().tokenId("<|fim_prefix|>"));
        older.put("tokenizer.ggml.suffix_token_id", model.tokenizer().tokenId("<|fim_suffix|>"));
        older.put("tokenizer.ggml.middle_token_id", model.tokenizer().tokenId("<|fim_middle|>"));
        Path oldKeys = dir.resolve("older.gguf");
        GgufWriter.write(model, oldKeys, GgufWriter.Quantization.F32, older);
        // the same vocabulary without the keys: no fill-in-the-middle
        Map<String, Object> none = new HashMap<>(older);
        for (String k : List.of("prefix", "suffix", "middle")) {
            none.put("tokenizer.ggml." + k + "_token_id", null);
        }
        Path noKeys = dir.resolve("none.gguf");
        GgufWriter.write(model, noKeys, GgufWriter.Quantization.F32, none);
        LlmBackend m = TestModels.open(oldKeys, Map.of());
        try {
            assertThat(m.info().capabilities()).contains(Capability.FILL_IN_MIDDLE);
            int[] t = ((LlamaCppBackend) m).fimPromptTokens("x", "y");
            assertThat(t[0]).isEqualTo(model.tokenizer().tokenId("<|fim_prefix|>"));
        } finally {
            m.close();
        }
        LlmBackend plain = TestModels.open(noKeys, Map.of());
        try {
            assertThat(plain.info().capabilities()).contains(Capability.COMPLETION)
                    .doesNotContain(Capability.FILL_IN_MIDDLE);
            assertThatThrownBy(() -> TestModels.complete(plain, "x",
                    TestModels.greedy(4).toBuilder().suffix("y").build()))
                    .isInstanceOf(UnsupportedCapabilityException.class)
                    .hasMessageContaining("fill-in-the-middle tokens");
        } finally {
            plain.close();
        }
    }
}
