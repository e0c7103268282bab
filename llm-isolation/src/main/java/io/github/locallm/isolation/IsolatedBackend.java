package io.github.locallm.isolation;

import io.github.locallm.ChatMessage;
import io.github.locallm.ModelInfo;
import io.github.locallm.TokenLogprob;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.TokenSink;
import java.util.List;

/**
 * A model that runs in an engine process: every call is forwarded over the private loopback connection.
 * When the process dies, the calls in flight fail at once with
 * {@link io.github.locallm.EngineCrashedException} and the next call starts a fresh process that opens
 * the model again. Thread-safe.
 */
final class IsolatedBackend implements LlmBackend {
    private final String provider;
    private final OpenRequest request;
    private final ModelInfo info;
    private final Object lock = new Object();
    private EngineConnection engine;
    private boolean closed;

    IsolatedBackend(String provider, OpenRequest request) {
        this.provider = provider;
        this.request = request;
        this.engine = EngineConnection.start(provider, request);
        ModelInfo child = engine.info();
        java.util.Map<String, String> details = new java.util.LinkedHashMap<>(child.details());
        details.put("isolation", "process");
        this.info = new ModelInfo(child.backend(), child.model(), child.contextLength(), child.capabilities(), details);
    }

    /** @return the live engine process, started anew when the last one died */
    EngineConnection engine() {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the isolated " + provider + " model " + request.spec() + " is closed");
            }
            if (!engine.alive()) {
                engine.shutdown();
                engine = EngineConnection.start(provider, request);
            }
            return engine;
        }
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    @SuppressWarnings("unchecked")
    public BackendResult generate(GenerationRequest r, TokenSink sink, CancelSignal cancel) {
        EngineConnection e = engine();
        try (EngineConnection.Call call = e.call(Wire.GENERATE, o -> Wire.request(o, r))) {
            cancel.onCancel(call::cancel);
            while (true) {
                EngineConnection.Event ev = call.next();
                // Pieces the engine sent before it saw the cancel (several may come in one batch) are dropped:
                // the caller gets none after cancelling, and the answer's text is what it received.
                boolean live = !cancel.isCancelled();
                switch (ev.type()) {
                    case Wire.TOKEN:
                        if (live) {
                            sink.token((String) ev.value());
                        }
                        break;
                    case Wire.THINKING:
                        if (live) {
                            sink.thinking((String) ev.value());
                        }
                        break;
                    case Wire.LOGPROBS:
                        if (live) {
                            sink.logprobs((List<TokenLogprob>) ev.value());
                        }
                        break;
                    case Wire.RESULT:
                        return (BackendResult) ev.value();
                    case Wire.ERROR:
                        throw (RuntimeException) ev.value();
                    default:
                        throw new IllegalStateException("engine protocol: unexpected frame " + ev.type());
                }
            }
        }
    }

    private Object value(byte type, EngineConnection.Payload payload) {
        EngineConnection e = engine();
        try (EngineConnection.Call call = e.call(type, payload)) {
            EngineConnection.Event ev = call.next();
            if (ev.type() == Wire.ERROR) {
                throw (RuntimeException) ev.value();
            }
            return ev.value();
        }
    }

    @Override
    public int[] tokenize(String text) {
        return (int[]) value(Wire.TOKENIZE, o -> Wire.string(o, text));
    }

    @Override
    public String detokenize(int[] tokens) {
        return (String) value(Wire.DETOKENIZE, o -> Wire.ints(o, tokens));
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        return (Integer) value(Wire.COUNT, o -> Wire.messages(o, messages));
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<float[]> embed(List<String> texts) {
        return (List<float[]>) value(Wire.EMBED, o -> Wire.strings(o, texts));
    }

    /** Ends the engine process; its memory returns to the operating system when it exits. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            engine.shutdown();
        }
    }
}
