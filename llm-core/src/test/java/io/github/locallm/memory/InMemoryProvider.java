package io.github.locallm.memory;

import io.github.locallm.ModelNotFoundException;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A deterministic in-memory backend for testing core and the TCK without any model: scheme
 * {@code memory}, for example {@code memory:tiny?delay_ms=2&ctx=256}.
 *
 * <p>Settings: {@code ctx} (context length, default 512), {@code delay_ms} (pause before each token),
 * {@code hold_after} (after that many tokens a generation waits until it is cancelled, so that tests of
 * cancellation never race a generation that ends on its own), {@code fail_after} (throw after that many
 * tokens), {@code tokenize} ({@code false} for a model that can neither tokenize nor count tokens),
 * {@code chat} ({@code false} for a model without a chat template), {@code json} ({@code true} for a model
 * that constrains its output to a JSON object when asked for JSON), {@code embed} ({@code true} for a model
 * that computes embeddings), {@code seed} ({@code false} for a model that cannot sample reproducibly),
 * {@code ignore_cancel} ({@code true} for a broken backend that never looks at its cancel signal, to show
 * that the TCK catches one). The model name {@code missing} is not found. Paths ending in {@code .mem} are
 * accepted by {@code LocalLlm.open(Path)}.
 *
 * <p>Thread-safe.
 */
public final class InMemoryProvider implements LlmProvider {
    /** Settings this backend knows. */
    static final List<String> KNOWN = List.of("ctx", "delay_ms", "hold_after", "fail_after", "tokenize", "chat",
            "json", "embed", "seed", "tools", "ignore_cancel");

    /** Creates the provider; called by the service loader. */
    public InMemoryProvider() {
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Set<String> schemes() {
        return Set.of("memory");
    }

    @Override
    public boolean accepts(Path path) {
        return Files.isRegularFile(path) && path.getFileName().toString().endsWith(".mem");
    }

    @Override
    public LlmBackend open(OpenRequest request) {
        request.requireKnown(KNOWN);
        String model = request.spec().location();
        if (model.equals("missing")) {
            throw new ModelNotFoundException("memory model 'missing' does not exist; use any other name");
        }
        int ctx = request.integer("ctx", 16).orElse(512);
        int delayMs = request.integer("delay_ms", 0).orElse(0);
        int holdAfter = request.integer("hold_after", 1).orElse(-1);
        int failAfter = request.integer("fail_after", 0).orElse(-1);
        boolean tokenize = request.bool("tokenize").orElse(true);
        boolean chat = request.bool("chat").orElse(true);
        boolean json = request.bool("json").orElse(false);
        boolean embed = request.bool("embed").orElse(false);
        boolean seed = request.bool("seed").orElse(true);
        boolean tools = request.bool("tools").orElse(false);
        boolean ignoreCancel = request.bool("ignore_cancel").orElse(false);
        return new InMemoryBackend(model, ctx, new InMemoryBackend.Behaviour(delayMs, holdAfter, failAfter, tokenize,
                chat, json, embed, seed, tools, ignoreCancel));
    }
}
