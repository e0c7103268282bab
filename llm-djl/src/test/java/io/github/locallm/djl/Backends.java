package io.github.locallm.djl;

import io.github.locallm.ModelSpec;
import io.github.locallm.spi.OpenRequest;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/** Opens test checkpoints through the provider, sharing one open backend per variant across tests. */
final class Backends {
    private static final Map<TinyCheckpoints.Variant, DjlBackend> SHARED = new EnumMap<>(TinyCheckpoints.Variant.class);

    private Backends() {
    }

    /** @return a new backend on the directory, owned by the caller */
    static DjlBackend open(Path dir, Map<String, String> settings) {
        return (DjlBackend) new DjlProvider().open(new OpenRequest(ModelSpec.parse("djl:" + dir), settings));
    }

    /** @return the shared backend of a variant; never closed by tests (the JVM ends) */
    static synchronized DjlBackend shared(TinyCheckpoints.Variant v) {
        return SHARED.computeIfAbsent(v, x -> open(TinyCheckpoints.dir(x), Map.of()));
    }
}
