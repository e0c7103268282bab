package io.github.locallm.modelkit;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BpeTokenizerTest {

    private final BpeTokenizer tok = TinyModels.tokenizer();

    @Test
    void vocabularyHasByteTokensMergesAndSpecials() {
        assertThat(tok.tokens().subList(0, 256)).doesNotHaveDuplicates();
        assertThat(tok.tokens().get(' ')).isEqualTo("\u0120");
        assertThat(tok.tokens().get('A')).isEqualTo("A");
        assertThat(tok.merges()).hasSizeGreaterThan(100);
        assertThat(tok.specialTokens().keySet()).containsExactly("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        assertThat(tok.specialTokens().get("<|im_end|>")).isEqualTo(tok.size() - 1);
        assertThat(tok.tokens()).doesNotHaveDuplicates();
    }

    @Test
    void trainingIsDeterministic() {
        BpeTokenizer again = BpeTokenizer.train(TinyModels.CORPUS, 200);
        assertThat(again.tokens()).isEqualTo(tok.tokens());
        assertThat(again.merges()).usingRecursiveFieldByFieldElementComparator().isEqualTo(tok.merges());
    }

    @Test
    void encodeDecodeRoundTripsAnyText() {
        for (String s : List.of("", "The quick brown fox.", "  two  spaces\n\n\tand tabs", "Café 日本語 🙂🚀",
                "it's we're they'll I've", "123456789 3.14159", "\u0000\u0001 control")) {
            assertThat(tok.decode(tok.encode(s))).isEqualTo(s);
        }
        assertThat(tok.encode("The quick brown fox").length).isLessThan("The quick brown fox".length());
    }

    @Test
    void specialTokenTextIsPlainTextUnlessAskedFor() {
        String text = "<|im_start|>user\nhi<|im_end|>";
        int[] plain = tok.encode(text);
        for (int id : plain) {
            assertThat(tok.isSpecial(id)).isFalse();
        }
        int[] withSpecials = tok.encodeWithSpecials(text);
        assertThat(withSpecials[0]).isEqualTo(tok.tokenId("<|im_start|>"));
        assertThat(withSpecials[withSpecials.length - 1]).isEqualTo(tok.tokenId("<|im_end|>"));
        assertThat(tok.decode(withSpecials)).isEqualTo(text);
        assertThat(tok.decode(plain)).isEqualTo(text);
    }

    @Test
    void preTokenizerFollowsGpt2() {
        assertThat(BpeTokenizer.preTokenize("Hello world's  end!!\n"))
                .containsExactly("Hello", " world", "'s", " ", " end", "!!", "\n");
    }
}
