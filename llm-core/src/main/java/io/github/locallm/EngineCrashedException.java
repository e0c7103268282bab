package io.github.locallm;

import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The process that ran a model's engine died (a native crash, an abort, a kill) while the call ran or
 * before it could start. Raised in the calling process for models opened with {@code isolate=process}:
 * the caller's JVM is unaffected, and the next call starts a fresh engine process.
 */
public class EngineCrashedException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** The engine process's id, or a negative number when unknown. */
    private final long pid;
    /** Its exit status, when {@link #exited} is true. */
    private final int exitCode;
    /** Whether the process's exit status is known. */
    private final boolean exited;

    /**
     * Creates the exception.
     *
     * @param message what failed, for which model, and what to do next
     * @param pid the engine process's id, or a negative number when unknown
     * @param exitCode its exit status when {@code exited}; a status above 128 is 128 plus a signal number
     * @param exited whether the process's exit status is known
     */
    public EngineCrashedException(String message, long pid, int exitCode, boolean exited) {
        super(message);
        this.pid = pid;
        this.exitCode = exitCode;
        this.exited = exited;
    }

    /** @return the id of the engine process that died, if known */
    public OptionalLong pid() {
        return pid < 0 ? OptionalLong.empty() : OptionalLong.of(pid);
    }

    /** @return the engine process's exit status, if it is known (above 128: killed by signal status - 128) */
    public OptionalInt exitCode() {
        return exited ? OptionalInt.of(exitCode) : OptionalInt.empty();
    }
}
