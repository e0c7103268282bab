package io.github.locallm.spi;

import io.github.locallm.BackendUnavailableException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Runs a provider's model in a child process, for the {@code isolate=process} open setting: the engine's
 * native crashes then kill the child, not the caller's JVM.
 *
 * <p>An in-process backend supports the setting with three lines at the start of its
 * {@link LlmProvider#open}:
 *
 * <pre>{@code
 * if (ProcessIsolation.requested(request)) {
 *     return ProcessIsolation.open(this, request);
 * }
 * request = ProcessIsolation.strip(request);
 * }</pre>
 *
 * <p>The implementation is found with {@link ServiceLoader} (module {@code llm-isolation}); the child
 * process opens the same provider with the same settings, without {@code isolate}. Implementations must be
 * thread-safe and have a public no-argument constructor.
 */
public interface ProcessIsolation {

    /** The open setting: {@code process} runs the model in a child process, {@code none} (the default) in this one. */
    String SETTING = "isolate";

    /**
     * Opens a model in a child process.
     *
     * @param provider the name of the provider the child opens the model with
     * @param request the request, without the {@code isolate} setting
     * @return a backend that forwards every call to the child
     */
    LlmBackend openIsolated(String provider, OpenRequest request);

    /**
     * @param request an open request
     * @return true when it asks for {@code isolate=process}
     * @throws IllegalArgumentException when {@code isolate} has another value than {@code process} or {@code none}
     */
    static boolean requested(OpenRequest request) {
        String v = request.parameters().get(SETTING);
        if (v == null) {
            return false;
        }
        switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "process":
                return true;
            case "none", "":
                return false;
            default:
                throw new IllegalArgumentException(SETTING + " must be 'process' or 'none': '" + v + "' (model "
                        + request.spec() + ")");
        }
    }

    /**
     * @param request an open request
     * @return the same request without the {@code isolate} setting
     */
    static OpenRequest strip(OpenRequest request) {
        if (!request.parameters().containsKey(SETTING)) {
            return request;
        }
        Map<String, String> p = new LinkedHashMap<>(request.parameters());
        p.remove(SETTING);
        return new OpenRequest(request.spec(), p);
    }

    /**
     * Opens a provider's model in a child process through the installed implementation.
     *
     * @param provider the provider that the child uses
     * @param request the request, {@code isolate} included or not
     * @return the isolated backend
     * @throws BackendUnavailableException when no implementation is installed
     */
    static LlmBackend open(LlmProvider provider, OpenRequest request) {
        ProcessIsolation impl = null;
        Iterator<ProcessIsolation> it = ServiceLoader.load(ProcessIsolation.class, ProcessIsolation.class.getClassLoader())
                .iterator();
        try {
            if (it.hasNext()) {
                impl = it.next();
            }
        } catch (ServiceConfigurationError e) {
            throw new BackendUnavailableException("isolate=process for " + request.spec()
                    + ": the process isolation module is broken: " + e.getMessage(), e);
        }
        if (impl == null) {
            throw new BackendUnavailableException("isolate=process for " + request.spec()
                    + " needs process isolation: add the io.github.locallm:llm-isolation dependency");
        }
        return impl.openIsolated(provider.name(), strip(request));
    }
}
