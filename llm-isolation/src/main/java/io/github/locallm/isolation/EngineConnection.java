package io.github.locallm.isolation;

import io.github.locallm.EngineCrashedException;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ModelLoadException;
import io.github.locallm.spi.OpenRequest;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The caller's side of one engine process: starts it, checks that the connection is its own, sends
 * calls and routes the answers to the waiting threads. When the process dies, every waiting call gets
 * an {@link EngineCrashedException} at once. Thread-safe.
 */
final class EngineConnection {
    /** One event of a call, as the reader thread hands it over. */
    record Event(byte type, Object value) {
    }

    private static final Event DEATH = new Event((byte) 0, null);
    private static final long START_TIMEOUT_MS = 120_000;
    private static final int STDERR_LINES = 40;

    private final String label;
    private final Process process;
    private final Socket socket;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final Buffered received;
    private final Map<Integer, Call> pending = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final ArrayDeque<String> stderrTail;
    private volatile ModelInfo info;
    private volatile boolean dead;
    private volatile boolean closing;
    private volatile EngineCrashedException crash;

    private EngineConnection(String label, Process process, Socket socket, ArrayDeque<String> tail) throws IOException {
        this.label = label;
        this.process = process;
        this.socket = socket;
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 65536));
        this.received = new Buffered(socket.getInputStream());
        this.in = new DataInputStream(received);
        this.stderrTail = tail;
    }

    /** The stream of the engine process's frames, which tells how much of what it received is still unread. */
    private static final class Buffered extends BufferedInputStream {
        Buffered(InputStream in) {
            super(in, 65536);
        }

        /** @return the bytes received and not read yet, without asking the operating system */
        synchronized int buffered() {
            return count - pos;
        }
    }

    ModelInfo info() {
        return info;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return !dead && process.isAlive();
    }

    /**
     * Starts an engine process, connects to it and opens the model there.
     *
     * @param provider the provider the engine process opens the model with
     * @param request the open request, without {@code isolate}
     * @return the connection, model open
     */
    static EngineConnection start(String provider, OpenRequest request) {
        String label = provider + " model " + request.spec();
        // checked here, so that a bad setting fails in the caller rather than in the engine process
        FrameWriter.configuredHoldMillis();
        byte[] secretBytes = new byte[24];
        new SecureRandom().nextBytes(secretBytes);
        String secret = HexFormat.of().formatHex(secretBytes);
        Process process = null;
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            process = launch(server.getLocalPort());
            try (OutputStream stdin = process.getOutputStream()) {
                stdin.write((secret + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            ArrayDeque<String> tail = new ArrayDeque<>();
            drain(process.getErrorStream(), tail);
            Socket socket = accept(server, process, label, tail);
            socket.setTcpNoDelay(true);
            EngineConnection raw = new EngineConnection(label, process, socket, tail);
            if (raw.in.readByte() != Wire.HELLO || !MessageDigest.isEqual(
                    Wire.string(raw.in).getBytes(StandardCharsets.US_ASCII), secret.getBytes(StandardCharsets.US_ASCII))) {
                socket.close();
                throw new LlmException("the engine process for " + label + " answered with a wrong secret: "
                        + "another program took its loopback connection; try again");
            }
            raw.out.writeByte(Wire.OPEN);
            Wire.string(raw.out, provider);
            Wire.string(raw.out, request.spec().scheme());
            Wire.string(raw.out, request.spec().location());
            Wire.map(raw.out, request.spec().parameters());
            Wire.string(raw.out, request.spec().original());
            Wire.map(raw.out, request.parameters());
            raw.out.flush();
            byte type = raw.in.readByte();
            if (type == Wire.ERROR) {
                RuntimeException e = Wire.error(raw.in);
                raw.shutdown();
                throw e;
            }
            if (type != Wire.OPENED) {
                throw new IOException("engine protocol: expected OPENED, got " + type);
            }
            raw.info = Wire.info(raw.in);
            raw.startReader();
            return raw;
        } catch (IOException e) {
            if (process != null) {
                process.destroyForcibly();
                String why = exitDescription(process);
                throw new ModelLoadException("the engine process for " + label + " could not start or open the model ("
                        + why + "): " + e.getMessage(), e);
            }
            throw new ModelLoadException("could not start an engine process for " + label + ": " + e.getMessage(), e);
        }
    }

    private static Process launch(int port) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        String tmp = System.getProperty("java.io.tmpdir");
        // a crash report goes to the temporary directory, never the caller's working directory
        cmd.add("-XX:ErrorFile=" + Path.of(tmp, "locallm-engine-hs_err_pid%p.log"));
        cmd.add("-Xss4m");
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("ai.djl.") || key.startsWith("locallm.") || key.startsWith("de.kherud.")
                    || key.equals("java.library.path") || key.equals("jna.library.path")) {
                cmd.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        String cp = System.getProperty("java.class.path", "");
        String mp = System.getProperty("jdk.module.path");
        if (mp != null && !mp.isEmpty()) {
            cp = cp.isEmpty() ? mp : cp + File.pathSeparator + mp;
        }
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add(EngineProcess.class.getName());
        cmd.add(Integer.toString(port));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.directory(new File(tmp));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
    }

    private static Socket accept(ServerSocket server, Process process, String label, ArrayDeque<String> tail)
            throws IOException {
        server.setSoTimeout(200);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
        while (true) {
            try {
                return server.accept();
            } catch (SocketTimeoutException e) {
                if (!process.isAlive()) {
                    throw new IOException("it exited before connecting (" + exitDescription(process) + ")"
                            + lastLines(tail));
                }
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new IOException("it did not connect within " + START_TIMEOUT_MS / 1000 + " s");
                }
            }
        }
    }

    private static void drain(InputStream err, ArrayDeque<String> tail) {
        Thread t = new Thread(() -> {
            try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(err, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (tail) {
                        tail.addLast(line.length() > 500 ? line.substring(0, 500) + "..." : line);
                        while (tail.size() > STDERR_LINES) {
                            tail.removeFirst();
                        }
                    }
                }
            } catch (IOException e) {
                // the process is gone
            }
        }, "locallm-engine-stderr");
        t.setDaemon(true);
        t.start();
    }

    private static String lastLines(ArrayDeque<String> tail) {
        synchronized (tail) {
            if (tail.isEmpty()) {
                return "";
            }
            List<String> last = new ArrayList<>(tail);
            return "; its last output: " + String.join(" | ", last.subList(Math.max(0, last.size() - 8), last.size()));
        }
    }

    private static String exitDescription(Process p) {
        try {
            if (!p.waitFor(2, TimeUnit.SECONDS)) {
                return "still running";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "exit status unknown";
        }
        int code = p.exitValue();
        return code > 128 ? "killed by signal " + (code - 128) + ", exit status " + code : "exit status " + code;
    }

    private void startReader() {
        Thread t = new Thread(this::readLoop, "locallm-engine-reader-" + process.pid());
        t.setDaemon(true);
        t.start();
    }

    private void readLoop() {
        // the frames already received are read in one go and handed to each call as one batch, so that a
        // burst of pieces wakes the waiting thread once
        Map<Call, List<Event>> batch = new java.util.LinkedHashMap<>();
        try {
            while (true) {
                byte type = in.readByte();
                int id = in.readInt();
                Call call = pending.get(id);
                Object value;
                switch (type) {
                    case Wire.TOKEN, Wire.THINKING:
                        value = Wire.string(in);
                        break;
                    case Wire.LOGPROBS:
                        value = Wire.logprobs(in);
                        break;
                    case Wire.RESULT:
                        value = Wire.result(in);
                        break;
                    case Wire.ERROR:
                        value = Wire.error(in);
                        break;
                    case Wire.VALUE:
                        if (call == null) {
                            throw new IOException("engine protocol: a value for an unknown call " + id);
                        }
                        value = readValue(call.kind);
                        break;
                    default:
                        throw new IOException("engine protocol: unknown frame type " + type);
                }
                if (call != null) {
                    batch.computeIfAbsent(call, c -> new ArrayList<>()).add(new Event(type, value));
                }
                if (received.buffered() == 0) {
                    for (Map.Entry<Call, List<Event>> e : batch.entrySet()) {
                        e.getKey().events.addAll(e.getValue());
                    }
                    batch.clear();
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Map.Entry<Call, List<Event>> b : batch.entrySet()) {
                b.getKey().events.addAll(b.getValue());
            }
            die();
        }
    }

    private Object readValue(byte kind) throws IOException {
        switch (kind) {
            case Wire.TOKENIZE:
                return Wire.ints(in);
            case Wire.DETOKENIZE:
                return Wire.string(in);
            case Wire.COUNT:
                return in.readInt();
            case Wire.EMBED:
                return Wire.vectors(in);
            default:
                throw new IOException("engine protocol: no value expected for a call of type " + kind);
        }
    }

    private void die() {
        dead = true;
        if (!closing) {
            String why = exitDescription(process);
            int code = process.isAlive() ? 0 : process.exitValue();
            crash = new EngineCrashedException("the engine process (pid " + process.pid() + ") of " + label
                    + " died (" + why + ")" + lastLines(stderrTail) + ". The call failed; the next call starts a new "
                    + "engine process. A crash report, if the JVM wrote one, is in "
                    + Path.of(System.getProperty("java.io.tmpdir"), "locallm-engine-hs_err_pid" + process.pid() + ".log"),
                    process.pid(), code, !process.isAlive());
        }
        for (Call c : pending.values()) {
            c.events.add(DEATH);
        }
    }

    /** A call in flight. */
    final class Call implements AutoCloseable {
        final int id;
        final byte kind;
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        /** The events taken from the queue and not returned yet, in order; only the calling thread uses it. */
        private final ArrayDeque<Event> taken = new ArrayDeque<>();

        private Call(int id, byte kind) {
            this.id = id;
            this.kind = kind;
        }

        /** @return the next event; an {@link EngineCrashedException} when the process died */
        Event next() {
            Event e = taken.poll();
            boolean interrupted = false;
            while (e == null) {
                try {
                    e = events.take();
                    // what else has arrived is taken along, with one hand-over instead of one per event
                    events.drainTo(taken);
                    break;
                } catch (InterruptedException ie) {
                    // the call's own cancellation stops it; the answer still comes
                    interrupted = true;
                    cancel();
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (e == DEATH) {
                throw crashed();
            }
            return e;
        }

        void cancel() {
            if (!dead) {
                send(Wire.CANCEL, id, o -> { });
            }
        }

        @Override
        public void close() {
            pending.remove(id);
        }
    }

    EngineCrashedException crashed() {
        EngineCrashedException c = crash;
        if (c != null) {
            return c;
        }
        return new EngineCrashedException("the engine process of " + label + " is gone (closed)", process.pid(), 0, false);
    }

    interface Payload {
        void write(DataOutputStream out) throws IOException;
    }

    /**
     * Sends a call.
     *
     * @param type the frame type
     * @param payload its body
     * @return the call, to read its events and close
     */
    Call call(byte type, Payload payload) {
        Call c = new Call(ids.incrementAndGet(), type);
        pending.put(c.id, c);
        if (dead) {
            c.close();
            throw crashed();
        }
        if (!send(type, c.id, payload)) {
            c.close();
            throw crashed();
        }
        return c;
    }

    private boolean send(byte type, int id, Payload payload) {
        synchronized (out) {
            try {
                out.writeByte(type);
                out.writeInt(id);
                payload.write(out);
                out.flush();
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }

    /** Ends the engine process: asks it to close the model and exit, then waits; kills it if it does not. */
    void shutdown() {
        closing = true;
        synchronized (out) {
            try {
                out.writeByte(Wire.CLOSE);
                out.flush();
            } catch (IOException e) {
                // already gone
            }
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to free
        }
    }
}
