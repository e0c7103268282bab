package io.github.locallm.isolation;

import io.github.locallm.ModelSpec;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.TokenSink;
import io.github.locallm.TokenLogprob;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The engine process: opens one model with its provider and serves the caller's calls over the loopback
 * socket it was told about. Started by the caller as {@code java ... EngineProcess PORT} with the
 * connection secret on standard input; it exits when the caller closes the model or goes away.
 */
public final class EngineProcess {
    private final DataOutputStream out;
    /** Sends the frames of the calls, once the model is open. */
    private FrameWriter frames;
    private final Map<Integer, Cancel> running = new ConcurrentHashMap<>();
    private final ExecutorService calls = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "locallm-engine-call");
        t.setDaemon(true);
        return t;
    });
    private LlmBackend backend;

    private EngineProcess(DataOutputStream out) {
        this.out = out;
    }

    /**
     * Runs the engine process.
     *
     * @param args the caller's loopback port
     * @throws IOException when the caller cannot be reached
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("EngineProcess is started by LocalLLM's process isolation, not by hand");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String secret = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII)).readLine();
        // the caller going away ends this process, whatever state the engine is in
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(3)));
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setTcpNoDelay(true);
        DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 65536));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 65536));
        out.writeByte(Wire.HELLO);
        Wire.string(out, secret == null ? "" : secret);
        out.flush();
        EngineProcess engine = new EngineProcess(out);
        int code = 0;
        try {
            engine.serve(in);
        } catch (EOFException e) {
            // the caller closed the connection
        } catch (IOException e) {
            code = 1;
        }
        engine.shutdown();
        Runtime.getRuntime().halt(code);
    }

    private void serve(DataInputStream in) throws IOException {
        if (in.readByte() != Wire.OPEN) {
            throw new IOException("engine protocol: expected OPEN");
        }
        String providerName = Wire.string(in);
        ModelSpec spec = new ModelSpec(Wire.string(in), Wire.string(in), Wire.map(in), Wire.string(in));
        Map<String, String> parameters = Wire.map(in);
        try {
            LlmProvider provider = null;
            for (LlmProvider p : ServiceLoader.load(LlmProvider.class)) {
                if (p.name().equals(providerName)) {
                    provider = p;
                }
            }
            if (provider == null) {
                throw new IllegalStateException("the engine process has no provider named " + providerName
                        + " on its class path");
            }
            backend = provider.open(new OpenRequest(spec, parameters));
            // the caller gone, nothing is left to tell anyone: end at once
            frames = new FrameWriter(out, FrameWriter.configuredHoldMillis(), e -> Runtime.getRuntime().halt(1));
            synchronized (out) {
                out.writeByte(Wire.OPENED);
                Wire.info(out, backend.info());
                out.flush();
            }
        } catch (RuntimeException | LinkageError e) {
            synchronized (out) {
                out.writeByte(Wire.ERROR);
                Wire.error(out, e);
                out.flush();
            }
            return;
        }
        while (true) {
            byte type = in.readByte();
            if (type == Wire.CLOSE) {
                return;
            }
            int id = in.readInt();
            switch (type) {
                case Wire.GENERATE: {
                    GenerationRequest r = Wire.request(in);
                    Cancel c = new Cancel();
                    running.put(id, c);
                    calls.execute(() -> generate(id, r, c));
                    break;
                }
                case Wire.CANCEL: {
                    Cancel c = running.get(id);
                    if (c != null) {
                        c.cancel();
                    }
                    break;
                }
                case Wire.TOKENIZE: {
                    String text = Wire.string(in);
                    calls.execute(() -> value(id, o -> Wire.ints(o, backend.tokenize(text))));
                    break;
                }
                case Wire.DETOKENIZE: {
                    int[] tokens = Wire.ints(in);
                    calls.execute(() -> value(id, o -> Wire.string(o, backend.detokenize(tokens))));
                    break;
                }
                case Wire.COUNT: {
                    List<io.github.locallm.ChatMessage> messages = Wire.messages(in);
                    calls.execute(() -> value(id, o -> o.writeInt(backend.countTokens(messages))));
                    break;
                }
                case Wire.EMBED: {
                    List<String> texts = Wire.strings(in);
                    calls.execute(() -> value(id, o -> Wire.vectors(o, backend.embed(texts))));
                    break;
                }
                default:
                    throw new IOException("engine protocol: unknown frame type " + type);
            }
        }
    }

    private void generate(int id, GenerationRequest r, Cancel cancel) {
        TokenSink sink = new TokenSink() {
            /** Whether a piece of this call was sent yet: the first one goes out at once. */
            private boolean started;

            private boolean first() {
                boolean f = !started;
                started = true;
                return f;
            }

            @Override
            public void token(String text) {
                frames.piece(Wire.TOKEN, id, o -> Wire.string(o, text), first());
            }

            @Override
            public void thinking(String text) {
                frames.piece(Wire.THINKING, id, o -> Wire.string(o, text), first());
            }

            @Override
            public void logprobs(List<TokenLogprob> entries) {
                frames.piece(Wire.LOGPROBS, id, o -> Wire.logprobs(o, entries), first());
            }
        };
        try {
            BackendResult result = backend.generate(r, sink, cancel);
            send(Wire.RESULT, id, o -> Wire.result(o, result));
        } catch (RuntimeException | LinkageError e) {
            send(Wire.ERROR, id, o -> Wire.error(o, e));
        } finally {
            running.remove(id);
        }
    }

    private void value(int id, EngineConnection.Payload payload) {
        // the value is computed before the frame starts, so a failing call sends an ERROR frame instead
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        try {
            payload.write(new DataOutputStream(buf));
        } catch (RuntimeException | LinkageError e) {
            send(Wire.ERROR, id, o -> Wire.error(o, e));
            return;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        send(Wire.VALUE, id, o -> buf.writeTo(o));
    }

    private void send(byte type, int id, EngineConnection.Payload payload) {
        frames.answer(type, id, payload);
    }

    private void shutdown() {
        running.values().forEach(Cancel::cancel);
        if (backend != null) {
            try {
                backend.close();
            } catch (RuntimeException e) {
                // the process ends right after; the operating system frees what close could not
            }
        }
    }

    /** A call's cancellation, set by the caller's CANCEL frame. */
    private static final class Cancel implements CancelSignal {
        private volatile boolean cancelled;
        private final List<Runnable> actions = new CopyOnWriteArrayList<>();

        void cancel() {
            cancelled = true;
            for (Runnable a : actions) {
                actions.remove(a);
                a.run();
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public void onCancel(Runnable action) {
            actions.add(action);
            if (cancelled && actions.remove(action)) {
                action.run();
            }
        }
    }
}
