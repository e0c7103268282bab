package io.github.locallm.isolation;

import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.ProcessIsolation;

/**
 * Process isolation by a child JVM: found with {@link java.util.ServiceLoader} by the providers that
 * support {@code isolate=process}. The child runs {@link EngineProcess} on the same class path, opens the
 * model with the same provider, and talks to this JVM over a loopback socket that only it can claim (a
 * secret given on its standard input). Thread-safe.
 */
public final class ChildProcessIsolation implements ProcessIsolation {
    /** Creates the service; used by {@link java.util.ServiceLoader}. */
    public ChildProcessIsolation() {
    }

    @Override
    public LlmBackend openIsolated(String provider, OpenRequest request) {
        return new IsolatedBackend(provider, request);
    }
}
