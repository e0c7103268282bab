package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Sampling, limits, end tokens, streaming and cancellation of the backend, through its SPI. */
class GenerationTest {
    static final String PROMPT = "The weather is nice. The sky is";

    private static final CancelSignal NEVER = new CancelSignal() {
        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void onCancel(Runnable action) {
        }
    };

    /** @return a signal that never cancels */
    static CancelSignal neverCancelled() {
        return NEVER;
    }

    /** What one generation produced. */
    record Run(List<String> pieces, BackendResult result) {
        String text() {
            return String.join("", pieces);
        }
    }

    static Run run(DjlBackend b, String prompt, GenerationOptions o) {
        List<String> pieces = new ArrayList<>();
        BackendResult r = b.generate(GenerationRequest.completion(prompt, o), pieces::add, NEVER);
        return new Run(pieces, r);
    }

    /** @return the shared backend of these tests and the parts it runs on */
    static Backends.Parts parts() {
        return Backends.sharedParts(TinyCheckpoints.Variant.GQA_F32);
    }

    static DjlBackend backend() {
        return parts().backend();
    }

    static GenerationOptions.Builder opts(int n) {
        return GenerationOptions.builder().maxTokens(n);
    }

    /** Greedy ids straight from the decoder, no end tokens masked. */
    static int[] greedyIds(Backends.Parts p, String prompt, int n) {
        return DecoderRuns.greedy(p.decoder(), p.backend().tokenize(prompt), n, new int[0]);
    }

    @Test
    void greedyMatchesTheDecodersArgmaxAndEndsWithLength() {
        DjlBackend b = backend();
        Run r = run(b, PROMPT, opts(24).temperature(0).build());
        int[] ids = greedyIds(parts(), PROMPT, 24);
        assertThat(r.result().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.result().completionTokens()).isEqualTo(24);
        assertThat(r.result().promptTokens()).isEqualTo(b.tokenize(PROMPT).length);
        assertThat(r.text()).isEqualTo(parts().tokenizer().decode(ids, 0, ids.length, true));
    }

    @Test
    void seedMakesSamplingReproducibleAndDifferentSeedsDiffer() {
        DjlBackend b = backend();
        GenerationOptions s1 = opts(32).temperature(1.0).seed(7).build();
        String a = run(b, PROMPT, s1).text();
        assertThat(run(b, PROMPT, s1).text()).isEqualTo(a);
        boolean differs = false;
        for (long seed = 8; seed < 12 && !differs; seed++) {
            differs = !run(b, PROMPT, s1.toBuilder().seed(seed).build()).text().equals(a);
        }
        assertThat(differs).as("another seed gives another sample").isTrue();
        assertThat(a).as("sampling at temperature 1 leaves the greedy path")
                .isNotEqualTo(run(b, PROMPT, opts(32).temperature(0).build()).text());
    }

    @Test
    void filtersThatKeepOneTokenAreGreedy() {
        DjlBackend b = backend();
        String greedy = run(b, PROMPT, opts(24).temperature(0).build()).text();
        assertThat(run(b, PROMPT, opts(24).temperature(1.5).topK(1).seed(3).build()).text()).isEqualTo(greedy);
        assertThat(run(b, PROMPT, opts(24).temperature(1.5).topP(1e-6).seed(3).build()).text()).isEqualTo(greedy);
        assertThat(run(b, PROMPT, opts(24).temperature(1.5).minP(1.0).seed(3).build()).text()).isEqualTo(greedy);
        assertThat(run(b, PROMPT, opts(24).temperature(1.5).topK(40).seed(3).build()).text()).isNotEqualTo(greedy);
    }

    @Test
    void repetitionPenaltyFollowsItsDefinition() {
        float[] logits = {2f, -1f, 0.5f, 3f};
        new Sampler(0, 0, 1, 0, 2.0, 1).sample(logits, new int[] {0, 1, 1}, 3);
        assertThat(logits).containsExactly(1f, -2f, 0.5f, 3f);
        // With the top token penalized enough, greedy moves to the next one.
        float[] l2 = {2f, 1.5f};
        assertThat(new Sampler(0, 0, 1, 0, 2.0, 1).sample(l2, new int[] {0}, 1)).isEqualTo(1);
        DjlBackend b = backend();
        String plain = run(b, PROMPT, opts(32).temperature(0).build()).text();
        assertThat(run(b, PROMPT, opts(32).temperature(0).repeatPenalty(3.0).build()).text()).isNotEqualTo(plain);
    }

    @Test
    void samplingFrequenciesFollowTheProbabilities() {
        float[] logits = {0f, (float) Math.log(3)};
        Sampler s = new Sampler(1.0, 0, 1, 0, 1, 99);
        int ones = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            ones += s.sample(logits.clone(), new int[0], 0);
        }
        assertThat(ones / (double) n).isCloseTo(0.75, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void stopSequenceCutsTheTextAndEnds() {
        DjlBackend b = backend();
        String full = run(b, PROMPT, opts(24).temperature(0).build()).text();
        String stop = full.substring(10, 13);
        Run r = run(b, PROMPT, opts(24).temperature(0).stop(stop).build());
        assertThat(r.result().finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.text()).isEqualTo(full.substring(0, full.indexOf(stop))).doesNotContain(stop);
    }

    @Test
    void everyEndTokenOfTheGenerationConfigStops() throws Exception {
        int[] ids = greedyIds(parts(), PROMPT, 12);
        int end = ids[5];
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.GQA_F32, "eos-list");
        Path gen = dir.resolve("generation_config.json");
        String s = Files.readString(gen);
        Files.writeString(gen, s.replaceFirst("\"eos_token_id\" : \\[ ([0-9]+), ([0-9]+) \\]",
                "\"eos_token_id\" : [ $1, $2, " + end + " ]"));
        try (DjlBackend b = Backends.open(dir, Map.of())) {
            int first = indexOf(ids, end);
            Run r = run(b, PROMPT, opts(12).temperature(0).build());
            assertThat(r.result().finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.result().completionTokens()).isEqualTo(first);
        }
    }

    @Test
    void theGenerationConfigsDefaultsAndEndTokensAreDetails() throws Exception {
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.GQA_F32, "sampling-defaults");
        Path gen = dir.resolve("generation_config.json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode g =
                (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(gen.toFile());
        g.put("do_sample", true).put("temperature", 0.6).put("top_k", 20).put("top_p", 0.95)
                .put("repetition_penalty", 1.1).put("max_new_tokens", 64);
        json.writeValue(gen.toFile(), g);
        List<String> ends = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode id : g.path("eos_token_id")) {
            ends.add(parts().tokenizer().decode(new int[] {id.asInt()}, 0, 1, false));
        }
        assertThat(ends).isNotEmpty();
        try (DjlBackend b = Backends.open(dir, Map.of())) {
            assertThat(b.info().details().get("sampling_defaults")).isEqualTo(
                    "temperature 0.6\ntop_k 20\ntop_p 0.95\nrepeat_penalty 1.1\nnum_predict 64");
            assertThat(b.info().details().get("stop_tokens").split("\n")).containsSubsequence(ends);
        }
        // greedy without do_sample: the sampling filters do not apply
        assertThat(DjlBackend.samplingDefaults(json.readTree("{\"top_k\":50,\"repetition_penalty\":1.3}")))
                .isEqualTo("temperature 0\nrepeat_penalty 1.3");
        assertThat(DjlBackend.samplingDefaults(json.readTree("{}"))).isEmpty();
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void streamedPiecesNeverSplitCharacters() {
        DjlBackend b = backend();
        // Multi-byte text in the prompt steers the tiny model towards byte tokens.
        String prompt = "Café, naïve, résumé, 日本語 のテキスト; emoji 🙂 and 🚀";
        for (long seed = 1; seed <= 6; seed++) {
            Run r = run(b, prompt, opts(40).temperature(1.2).seed(seed).build());
            for (String p : r.pieces()) {
                assertThat(p).isNotEmpty();
                assertThat(Character.isLowSurrogate(p.charAt(0))).as("piece %s", p).isFalse();
                assertThat(Character.isHighSurrogate(p.charAt(p.length() - 1))).as("piece %s", p).isFalse();
            }
        }
    }

    @Test
    void byteByByteTextStreamsWholeCharacters() {
        CheckpointTokenizer tok = parts().tokenizer();
        String text = "Grüße, 日本語, emoji 🙂🚀 and naïve café";
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int[] ids = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            ids[i] = utf8[i] & 0xff; // token i < 256 is the byte i
        }
        CheckpointTokenizer.StreamDecoder d = tok.new StreamDecoder();
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            String p = d.push(id);
            if (!p.isEmpty()) {
                pieces.add(p);
            }
        }
        String rest = d.flush();
        assertThat(String.join("", pieces) + rest).isEqualTo(text);
        assertThat(pieces).noneMatch(p -> p.contains("\uFFFD"));
        assertThat(pieces).contains("🙂", "日");
    }

    @Test
    void streamingGivesTheWholeDecodingOfRandomTokens() {
        CheckpointTokenizer tok = parts().tokenizer();
        java.util.Random random = new java.util.Random(5);
        int vocab = parts().decoder().config().vocabSize();
        for (int round = 0; round < 200; round++) {
            int[] seq = new int[1 + random.nextInt(30)];
            for (int i = 0; i < seq.length; i++) {
                // Mostly single bytes (often partial characters), some merged and special tokens.
                seq[i] = random.nextInt(3) == 0 ? random.nextInt(vocab) : 0x80 + random.nextInt(0x80);
            }
            String whole = tok.decode(seq, 0, seq.length, true);
            // Invalid byte sequences included: the pieces render them exactly as the tokenizer's decode does.
            CheckpointTokenizer.StreamDecoder d = tok.new StreamDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : seq) {
                String p = d.push(id);
                assertThat(p.isEmpty() || !Character.isHighSurrogate(p.charAt(p.length() - 1))).isTrue();
                sb.append(p);
            }
            sb.append(d.flush());
            assertThat(sb.toString()).as("streaming of %s", java.util.Arrays.toString(seq)).isEqualTo(whole);
        }
    }

    @Test
    void incrementalDecodingEqualsWholeDecoding() {
        CheckpointTokenizer tok = parts().tokenizer();
        // Token ids of single bytes of multi-byte characters: "é" is C3 A9, "🙂" is F0 9F 99 82.
        int[] ids = tok.encode("aé🙂b 日本", false);
        int[] bytes = {0xC3, 0xA9, 0xF0, 0x9F, 0x99, 0x82};
        int[] seq = new int[ids.length + bytes.length];
        System.arraycopy(ids, 0, seq, 0, ids.length);
        System.arraycopy(bytes, 0, seq, ids.length, bytes.length);
        CheckpointTokenizer.StreamDecoder d = tok.new StreamDecoder();
        StringBuilder sb = new StringBuilder();
        List<String> pieces = new ArrayList<>();
        for (int id : seq) {
            String p = d.push(id);
            if (!p.isEmpty()) {
                pieces.add(p);
            }
            sb.append(p);
        }
        sb.append(d.flush());
        assertThat(sb.toString()).isEqualTo(tok.decode(seq, 0, seq.length, true)).endsWith("é🙂");
        assertThat(pieces).noneMatch(p -> p.contains("\uFFFD"));
    }

    @Test
    void cancellationStopsPromptly() {
        DjlBackend b = backend();
        AtomicBoolean cancelled = new AtomicBoolean();
        CancelSignal signal = new CancelSignal() {
            @Override
            public boolean isCancelled() {
                return cancelled.get();
            }

            @Override
            public void onCancel(Runnable action) {
            }
        };
        List<String> pieces = new ArrayList<>();
        BackendResult r = b.generate(GenerationRequest.completion(PROMPT, opts(200).temperature(0).build()), t -> {
            pieces.add(t);
            if (pieces.size() == 3) {
                cancelled.set(true);
            }
        }, signal);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(pieces).hasSize(3);
        assertThat(r.completionTokens()).isLessThan(10);
    }

    @Test
    void noArraysAccumulatePerToken() {
        Backends.Parts p = parts();
        int before = p.liveArrays();
        List<Integer> live = new ArrayList<>();
        p.backend().generate(GenerationRequest.completion(PROMPT, opts(48).temperature(0).build()),
                t -> live.add(p.liveArrays()), NEVER);
        assertThat(live).hasSizeGreaterThan(10);
        assertThat(live).as("live arrays while generating").allMatch(n -> n.equals(live.get(0)));
        assertThat(p.liveArrays()).as("after the generation").isEqualTo(before);
    }

    @Test
    void contextOverflowIsReported() {
        try (DjlBackend b = Backends.open(TinyCheckpoints.dir(TinyCheckpoints.Variant.GQA_F32), Map.of("ctx", "32"))) {
            String longPrompt = "The quick brown fox jumps over the lazy dog. ".repeat(10);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> run(b, longPrompt, opts(4).build()))
                    .isInstanceOf(io.github.locallm.ContextOverflowException.class)
                    .hasMessageContaining("32");
            Run r = run(b, "Hello", opts(100).temperature(0).build());
            assertThat(r.result().promptTokens() + r.result().completionTokens()).isLessThanOrEqualTo(32);
        }
    }
}
