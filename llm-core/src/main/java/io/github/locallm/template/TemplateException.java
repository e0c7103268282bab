package io.github.locallm.template;

import io.github.locallm.LlmException;

/**
 * Thrown when a chat template cannot be parsed or rendered.
 *
 * <p>Raised for syntax errors (the message gives the line and column), for errors while
 * rendering (an undefined value used where a value is needed, a type error, a call of
 * {@code raise_exception(msg)} by the template itself, whose message is {@code msg}), and when a
 * template hits one of the sandbox's limits (output size, loop iterations, recursion depth) or
 * tries something the sandbox refuses (calling a method of a value, loading another template).
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public class TemplateException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** The 1-based line of the problem, or 0 when unknown. */
    private final int line;
    /** The 1-based column of the problem, or 0 when unknown. */
    private final int column;

    /**
     * Creates an exception without a source position.
     *
     * @param message what failed
     */
    public TemplateException(String message) {
        super(message);
        this.line = 0;
        this.column = 0;
    }

    /**
     * Creates an exception for a position in the template source.
     *
     * @param message what failed
     * @param line the 1-based line in the template, or 0 if unknown
     * @param column the 1-based column in the template, or 0 if unknown
     */
    public TemplateException(String message, int line, int column) {
        super(line > 0 ? message + " (template line " + line + ", column " + column + ")" : message);
        this.line = line;
        this.column = column;
    }

    /** @return the 1-based line in the template where the error was found, or 0 if unknown */
    public int line() {
        return line;
    }

    /** @return the 1-based column in the template where the error was found, or 0 if unknown */
    public int column() {
        return column;
    }
}
