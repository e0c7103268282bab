package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.TinyModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The {@code tokenizer.json} that the checkpoint writer produces, read by the Hugging Face tokenizers
 * library, splits text exactly as the modelkit tokenizer (and so as the GGUF vocabulary) does.
 */
class TokenizerFileTest {
    static final List<String> TEXTS = List.of(
            "Hello, world!",
            "The quick brown fox jumps over the lazy dog.",
            "  leading spaces and\ttabs\nand newlines\n\n",
            "We're sure they'll agree, isn't it? It's what I've said.",
            "Numbers 3.14 and 1,000 and 2024!",
            "Café, naïve, résumé, über, jalapeño; 日本語 のテキスト; emoji 🙂 and 🚀",
            "{\"name\": \"tiny\", \"ok\": true}",
            "unseen words: zyxwvut qqq",
            "");

    private static CheckpointTokenizer tokenizer() {
        return Backends.sharedParts(TinyCheckpoints.Variant.GQA_F32).tokenizer();
    }

    @Test
    void encodesLikeTheModelkitTokenizer() {
        BpeTokenizer bpe = TinyModels.tokenizer();
        for (String t : TEXTS) {
            assertThat(tokenizer().encode(t, false)).as("ids of %s", t).containsExactly(bpe.encode(t));
            assertThat(tokenizer().encode(t, true)).as("no BOS is added for %s", t).containsExactly(bpe.encode(t));
        }
    }

    @Test
    void specialTokensInTextAreControlTokens() {
        BpeTokenizer bpe = TinyModels.tokenizer();
        String chat = "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n";
        assertThat(tokenizer().encode(chat, false)).containsExactly(bpe.encodeWithSpecials(chat));
        assertThat(tokenizer().tokenId(BpeTokenizer.IM_END)).isEqualTo(bpe.tokenId(BpeTokenizer.IM_END));
    }

    @Test
    void decodesLikeTheModelkitTokenizer() {
        BpeTokenizer bpe = TinyModels.tokenizer();
        for (String t : TEXTS) {
            int[] ids = bpe.encode(t);
            assertThat(tokenizer().decode(ids, 0, ids.length, false)).isEqualTo(t).isEqualTo(bpe.decode(ids));
        }
    }

    @Test
    void longTextIsNotTruncatedTo512Tokens() {
        String longText = "apples, pears, plums and cherries. ".repeat(200);
        int[] ids = tokenizer().encode(longText, false);
        assertThat(ids.length).isGreaterThan(1000).isEqualTo(TinyModels.tokenizer().encode(longText).length);
        assertThat(tokenizer().decode(ids, 0, ids.length, false)).isEqualTo(longText);
    }
}
