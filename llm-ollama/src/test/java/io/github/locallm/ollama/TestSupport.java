package io.github.locallm.ollama;

import io.github.locallm.ModelSpec;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.TokenSink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** Helpers shared by the tests of this backend. */
final class TestSupport {
    private TestSupport() {
    }

    /** Opens a model of the fake server through the provider, as core would. */
    static LlmBackend open(FakeOllamaServer server, String model, String... settings) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("host", server.url());
        for (int i = 0; i + 1 < settings.length; i += 2) {
            params.put(settings[i], settings[i + 1]);
        }
        return openSpec("ollama:" + model, params);
    }

    static LlmBackend openSpec(String spec, Map<String, String> params) {
        ModelSpec s = ModelSpec.parse(spec);
        Map<String, String> all = new LinkedHashMap<>(s.parameters());
        all.putAll(params);
        return new OllamaProvider().open(new OpenRequest(s, all));
    }

    /** Collects what a backend pushes. */
    static class Sink implements TokenSink {
        final List<String> pieces = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final StringBuilder thinking = new StringBuilder();

        @Override
        public void token(String t) {
            if (t.isEmpty()) {
                throw new AssertionError("empty piece");
            }
            pieces.add(t);
            text.append(t);
        }

        @Override
        public void thinking(String t) {
            thinking.append(t);
        }
    }

    /** A cancel signal a test can trigger. */
    static final class Cancel implements CancelSignal {
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private final List<Runnable> actions = new ArrayList<>();

        @Override
        public boolean isCancelled() {
            return cancelled.get();
        }

        @Override
        public void onCancel(Runnable action) {
            boolean now;
            synchronized (actions) {
                now = cancelled.get();
                if (!now) {
                    actions.add(action);
                }
            }
            if (now) {
                action.run();
            }
        }

        void cancel() {
            List<Runnable> run;
            synchronized (actions) {
                if (!cancelled.compareAndSet(false, true)) {
                    return;
                }
                run = new ArrayList<>(actions);
            }
            run.forEach(Runnable::run);
        }
    }

    static final CancelSignal NEVER = new CancelSignal() {
        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void onCancel(Runnable action) {
        }
    };
}
