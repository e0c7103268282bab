package io.github.locallm;

import java.util.Locale;

/**
 * How much a reasoning model should think, for models that take a level rather than on/off
 * (such as gpt-oss). Set it with {@link GenerationOptions.Builder#think(ThinkLevel)}; a backend whose
 * model takes only on/off treats any level as "think".
 */
public enum ThinkLevel {
    /** Short reasoning. */
    LOW,
    /** Moderate reasoning. */
    MEDIUM,
    /** Long reasoning. */
    HIGH;

    /** @return the level as servers write it: {@code low}, {@code medium} or {@code high} */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param text {@code low}, {@code medium} or {@code high}, in any case
     * @return the level
     * @throws IllegalArgumentException for any other text
     */
    public static ThinkLevel parse(String text) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        for (ThinkLevel l : values()) {
            if (l.wireName().equals(s)) {
                return l;
            }
        }
        throw new IllegalArgumentException("think level must be low, medium or high: '" + text + "'");
    }
}
