package io.github.locallm.template;

/**
 * Bounds on the work one rendering of a {@link ChatTemplate} may do.
 *
 * <p>A chat template comes with a model and is untrusted input, so every rendering is bounded:
 * a template that prints too much, loops too long or recurses too deep stops with a
 * {@link TemplateException} instead of exhausting memory or hanging.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.parse(source, new TemplateLimits(64 * 1024, 100_000, 50));
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param maxOutputChars the largest output, and the largest string or list built on the way, in characters
 * @param maxLoopIterations the most iterations of all for loops together, plus macro calls, in one rendering
 * @param maxRecursionDepth the deepest nesting of macro calls and recursive loops
 */
public record TemplateLimits(int maxOutputChars, long maxLoopIterations, int maxRecursionDepth) {
    /**
     * Validates the values.
     *
     * @param maxOutputChars the largest output in characters
     * @param maxLoopIterations the most loop iterations and macro calls in one rendering
     * @param maxRecursionDepth the deepest nesting of macro calls and recursive loops, at most 1000
     */
    public TemplateLimits {
        if (maxOutputChars <= 0) {
            throw new IllegalArgumentException("maxOutputChars must be positive: " + maxOutputChars);
        }
        if (maxLoopIterations <= 0) {
            throw new IllegalArgumentException("maxLoopIterations must be positive: " + maxLoopIterations);
        }
        if (maxRecursionDepth <= 0 || maxRecursionDepth > 1000) {
            throw new IllegalArgumentException("maxRecursionDepth must be in [1, 1000]: " + maxRecursionDepth);
        }
    }

    /**
     * Returns the limits used when none are given.
     *
     * @return 1 MiB (1,048,576 characters) of output, one million loop iterations and macro calls,
     *     macro calls 100 deep
     */
    public static TemplateLimits defaults() {
        return new TemplateLimits(1 << 20, 1_000_000, 100);
    }
}
