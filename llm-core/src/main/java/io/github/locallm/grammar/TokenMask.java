package io.github.locallm.grammar;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.IntPredicate;

/**
 * Which tokens of a vocabulary may come next under a grammar: those whose text keeps the output a prefix of
 * a sentence, and the end-of-generation tokens once the sentence is complete. A backend that computes logits
 * sets the others to minus infinity before sampling.
 *
 * <p>Immutable and thread-safe.
 */
public final class TokenMask {
    private final GrammarMatcher matcher;
    private final String[] texts;
    private final IntPredicate isEnd;

    /**
     * @param matcher the grammar
     * @param tokenTexts the text of each token id, {@code null} for tokens that are never allowed (control tokens,
     *     bytes that are not whole characters)
     * @param isEnd whether a token id ends generation
     */
    public TokenMask(GrammarMatcher matcher, List<String> tokenTexts, IntPredicate isEnd) {
        this.matcher = Objects.requireNonNull(matcher, "matcher");
        this.texts = Objects.requireNonNull(tokenTexts, "tokenTexts").toArray(new String[0]);
        this.isEnd = Objects.requireNonNull(isEnd, "isEnd");
    }

    /** @return the grammar this mask follows */
    public GrammarMatcher matcher() {
        return matcher;
    }

    /**
     * @param state where parsing stands
     * @return for each token id, whether it may come next
     */
    public boolean[] allowed(GrammarMatcher.State state) {
        boolean[] out = new boolean[texts.length];
        boolean complete = matcher.isComplete(state);
        for (int id = 0; id < texts.length; id++) {
            if (isEnd.test(id)) {
                out[id] = complete;
            } else if (texts[id] != null && !texts[id].isEmpty()) {
                out[id] = matcher.advance(state, texts[id]) != null;
            }
        }
        return out;
    }

    /**
     * Sets the logits of the tokens that may not come next to minus infinity.
     *
     * @param state where parsing stands
     * @param logits the logits over the vocabulary (at least as long as the token list)
     * @return whether any token is still allowed
     */
    public boolean apply(GrammarMatcher.State state, float[] logits) {
        boolean[] ok = allowed(state);
        boolean any = false;
        for (int i = 0; i < logits.length; i++) {
            if (i >= ok.length || !ok[i]) {
                logits[i] = Float.NEGATIVE_INFINITY;
            } else {
                any = true;
            }
        }
        return any;
    }

    @Override
    public String toString() {
        return "TokenMask[" + texts.length + " tokens, " + Arrays.stream(texts).filter(Objects::nonNull).count()
                + " with text]";
    }
}
