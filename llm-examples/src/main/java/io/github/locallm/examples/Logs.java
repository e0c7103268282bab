package io.github.locallm.examples;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * How the example programs log: everything goes to {@code java.util.logging} (LocalLLM logs through
 * {@link System.Logger}, whose default backend it is, and DJL's SLF4J calls arrive there through
 * {@code slf4j-jdk14}), one line per record on standard error, warnings and errors only for DJL, and
 * nothing from DJL's CUDA probe, which reports on every start that a CPU-only machine has no GPU.
 *
 * <p>This is an application's choice, made once in {@code main}; the library itself configures no logging.
 * {@code -Djava.util.logging.config.file=FILE} replaces it. Thread-safe.
 */
final class Logs {
    // Held so that the levels set here are not lost when java.util.logging drops unreferenced loggers.
    private static final Logger DJL = Logger.getLogger("ai.djl");
    private static final Logger CUDA_PROBE = Logger.getLogger("ai.djl.util.cuda");
    private static boolean configured;

    private Logs() {
    }

    /** Applies the examples' logging settings, unless a logging configuration file was given. */
    static synchronized void configure() {
        if (configured || System.getProperty("java.util.logging.config.file") != null) {
            return;
        }
        configured = true;
        DJL.setLevel(Level.WARNING);
        CUDA_PROBE.setLevel(Level.OFF);
        for (Handler h : Logger.getLogger("").getHandlers()) {
            if (h instanceof ConsoleHandler) {
                h.setFormatter(new OneLine());
            }
        }
    }

    /** {@code WARNING io.github.locallm.llamacpp: message}, then the stack trace if there is one. */
    static final class OneLine extends Formatter {
        @Override
        public String format(LogRecord r) {
            StringBuilder sb = new StringBuilder();
            sb.append(r.getLevel().getName()).append(' ').append(r.getLoggerName()).append(": ")
                    .append(formatMessage(r)).append(System.lineSeparator());
            if (r.getThrown() != null) {
                java.io.StringWriter trace = new java.io.StringWriter();
                r.getThrown().printStackTrace(new java.io.PrintWriter(trace));
                sb.append(trace);
            }
            return sb.toString();
        }
    }
}
