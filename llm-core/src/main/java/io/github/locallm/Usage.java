package io.github.locallm;

/**
 * Token counts of one generation.
 *
 * @param promptTokens tokens the model read (after the chat template was applied)
 * @param completionTokens tokens the model produced
 */
public record Usage(int promptTokens, int completionTokens) {
    /**
     * Validates the counts.
     *
     * @param promptTokens tokens the model read (after the chat template was applied)
     * @param completionTokens tokens the model produced
     */
    public Usage {
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException(
                    "token counts must be >= 0: " + promptTokens + ", " + completionTokens);
        }
    }

    /** @return prompt plus completion tokens */
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
