package io.github.locallm.llamacpp;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.ProcessIsolation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs GGUF models in-process with llama.cpp, for the spec schemes {@code llamacpp} and {@code gguf} and for
 * {@code LocalLlm.open(Path)} on {@code .gguf} files.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("llamacpp:/models/qwen2.5-0.5b-instruct-q8_0.gguf?ctx=4096&threads=4")) {
 *     System.out.println(llm.complete("The capital of France is"));
 * }
 * }</pre>
 *
 * <p>Two engines: {@code engine=llamacpp}, the default whenever its libraries are found, binds the current
 * llama.cpp C API through JNA ({@link LlamaRuntime} says where the libraries come from: {@code lib_path},
 * {@code LLAMA_CPP_LIB}, or the {@code llm-llamacpp-natives} jar) and frees every native object on
 * {@code close()}; {@code engine=jllama} uses {@code de.kherud:llama} (llama.cpp b4916), which frees nothing on
 * close, so its models stay loaded and are reused by the next open of the same file and settings, and whose
 * native worker threads are non-daemon (the provider ends the JVM with {@code System.exit(0)} once every other
 * non-daemon thread has finished). The jllama engine is also the fallback when no current libraries are found.
 * The choice is logged once per JVM at INFO, one line with the engine and the reason (for example
 * {@code llamacpp backend: engine llamacpp: current llama.cpp libraries found, the default; llama.cpp 0ad4a86 from
 * bundled linux-x64, CPU variant haswell}), and {@code info().details()} holds {@code engine} and
 * {@code native_origin}.
 *
 * <p>Settings (spec query or {@code OpenOptions}), validated in Java before anything reaches native code:
 * <ul>
 *   <li>{@code ctx}: context size in tokens; default the model's trained length, at most 4096; refused when
 *       its KV cache alone exceeds the machine's memory</li>
 *   <li>{@code threads}: CPU threads; default the number of physical cores (one for a model with under 2 MiB of
 *   weights, which decodes fastest on one), at most 4 per CPU</li>
 *   <li>{@code batch}: prompt batch size; default min(512, ctx), at most ctx</li>
 *   <li>{@code gpu_layers}: layers offloaded to a GPU (-1 for all); default 0 (the bundled builds are CPU-only)</li>
 *   <li>{@code mmap} (default true), {@code mlock} (default false)</li>
 *   <li>{@code template} or {@code template_file} (a regular file of at most 4 MiB): chat template override
 *       ({@code chatml} or a template text, at most 1 MiB and 64 levels of nesting)</li>
 *   <li>{@code embedding}: open for embeddings only; {@code pooling}: the model's own
 *       ({@code <arch>.pooling_type}) by default, else {@code last}; {@code last}, {@code cls},
 *       {@code mean} (each an L2-normalized sentence vector), {@code none} (every token's vector, raw, one after
 *       the other: {@code tokens x dimension} floats) or {@code rank} (a reranker's classifier outputs, raw);
 *       {@code mean}, {@code none} and {@code rank} not on {@code engine=jllama}</li>
 *   <li>{@code lib_path}: a directory holding a llama.cpp build ({@code libllama}, {@code libggml},
 *       {@code libggml-base}) or a {@code libjllama} build for {@code engine=jllama}; one build per JVM</li>
 *   <li>{@code kv_type}: KV cache type, {@code f16} (default), {@code f32}, {@code q8_0}...</li>
 *   <li>{@code engine}: {@code llamacpp} or {@code jllama}</li>
 * </ul>
 *
 * <p>Generation: {@code GenerationOptions} fields; JSON mode and JSON schemas through grammars. Backend options under {@code llamacpp.}: {@code grammar} (GBNF, checked
 * in Java), {@code cache_prompt} (default true), {@code frequency_penalty}, {@code presence_penalty},
 * {@code repeat_last_n}, {@code typical_p}, {@code mirostat}, {@code mirostat_tau}, {@code mirostat_eta},
 * {@code dynatemp_range}, {@code dynatemp_exponent}, {@code xtc_probability}, {@code xtc_threshold},
 * {@code min_keep} and the {@code dry_*} options; {@code n_probs} is refused in favour of
 * {@code GenerationOptions.logprobs} / {@code topLogprobs} (on {@code engine=llamacpp}: the log-softmax of the
 * model's logits, before temperature, penalties and grammar). A chat session reuses the KV cache
 * of the prefix it shares with the previous turn; with F32 weights and {@code kv_type=f32} its output equals a
 * run without reuse, while with quantized weights or cache, batched and token-by-token evaluation round
 * differently and can change a greedy choice.
 *
 * <p>Shielding: the whole GGUF header and metadata are checked in Java before llama.cpp sees the path
 * ({@link GgufChecks}); settings, grammars and JSON schemas are validated in Java; prompts reach native code as
 * token ids, with user text tokenized so that special-token text in it stays text; chat templates are rendered
 * in Java; calls after {@code close()} throw {@link IllegalStateException}; calls on one model are serialized.
 * llama.cpp's log goes to the {@code io.github.locallm.llamacpp} logger at DEBUG (its warnings and errors also
 * complete the message of a load that fails), never to stderr; at the default level the backend itself logs
 * only the engine choice (INFO) and settings it cannot honour (WARNING).
 *
 * <p>Thread-safe and stateless; one instance is created by {@link java.util.ServiceLoader}.
 */
public final class LlamaCppProvider implements LlmProvider {

    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");

    /** Creates the provider; does no work (the native library is loaded on the first open). */
    public LlamaCppProvider() {
    }

    @Override
    public String name() {
        return LlamaCppBackend.NAME;
    }

    @Override
    public Set<String> schemes() {
        return Set.of("llamacpp", "gguf");
    }

    @Override
    public Optional<String> artifact() {
        return Optional.of("io.github.locallm:llm-llamacpp");
    }

    @Override
    public boolean accepts(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".gguf") && Files.isRegularFile(path);
    }

    @Override
    public LlmBackend open(OpenRequest request) {
        if (ProcessIsolation.requested(request)) {
            return ProcessIsolation.open(this, request);
        }
        request = ProcessIsolation.strip(request);
        String spec = request.spec().toString();
        String location = request.spec().location();
        Path path;
        try {
            path = Path.of(location);
        } catch (InvalidPathException e) {
            throw new ModelNotFoundException("'" + location + "' is not a valid file path (model " + spec + ")", e);
        }
        if (!Files.exists(path)) {
            throw new ModelNotFoundException("GGUF model file " + path.toAbsolutePath() + " does not exist (model "
                    + spec + "); check the path");
        }
        if (Files.isDirectory(path)) {
            throw new ModelNotFoundException(path.toAbsolutePath() + " is a directory, not a GGUF file (model " + spec
                    + "); give the path of the .gguf file");
        }
        if (!Files.isReadable(path)) {
            throw new ModelLoadException("GGUF model file " + path.toAbsolutePath() + " is not readable (model "
                    + spec + "); check its permissions");
        }
        Path canonical;
        GgufFile gguf;
        try {
            canonical = path.toRealPath();
            gguf = GgufFile.read(canonical);
        } catch (GgufFile.GgufException e) {
            throw new ModelLoadException(path.toAbsolutePath() + " is not a usable GGUF model: " + e.getMessage()
                    + " (model " + spec + "); download or convert the file again", e);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + path.toAbsolutePath() + " (model " + spec + "): " + e, e);
        }
        LoadSettings settings = LoadSettings.parse(request, gguf);
        boolean poolingAsked = request.string(LoadSettings.POOLING).isPresent();
        Engine engine = openEngine(canonical, gguf, settings, spec, poolingAsked);
        try {
            return new LlamaCppBackend(engine, gguf, canonical, spec, settings);
        } catch (RuntimeException e) {
            engine.lock().lock();
            try {
                engine.release();
            } finally {
                engine.lock().unlock();
            }
            throw e;
        }
    }

    /**
     * Chooses the engine: {@code engine=jllama} asks for the de.kherud binding; otherwise the current llama.cpp
     * is used whenever its libraries are found ({@code lib_path}, {@code LLAMA_CPP_LIB}, the natives jar), and
     * the de.kherud binding is the fallback when they are not (or do not load), said once in the log.
     */
    private static Engine openEngine(Path canonical, GgufFile gguf, LoadSettings settings, String spec,
                                     boolean poolingAsked) {
        String asked = settings.engine();
        if (!LoadSettings.ENGINE_JLLAMA.equals(asked)) {
            Optional<LlamaRuntime.Location> location = LlamaRuntime.locate(settings.libPath());
            String fallbackReason;
            if (location.isPresent()) {
                try {
                    LlamaRuntime rt = LlamaRuntime.load(location.get());
                    String why = settings.libPath() != null ? "lib_path holds a current llama.cpp build"
                            : asked != null ? "engine=llamacpp was asked for"
                            : "current llama.cpp libraries found, the default";
                    announce(LoadSettings.ENGINE_LLAMACPP, why + "; llama.cpp " + rt.commit + " from " + rt.origin
                            + ", CPU variant " + rt.cpuVariant);
                    return NativeEngine.open(rt, canonical, settings, spec);
                } catch (BackendUnavailableException e) {
                    if (asked != null || !location.get().origin().startsWith("bundled")) {
                        throw e;
                    }
                    fallbackReason = e.getMessage();
                }
            } else {
                if (asked != null) {
                    throw new BackendUnavailableException("engine=llamacpp needs the current llama.cpp libraries, and"
                            + " none were found for " + LlamaRuntime.platformKey() + " (model " + spec + "). Add"
                            + " io.github.locallm:llm-llamacpp-natives, set LLAMA_CPP_LIB or lib_path to a llama.cpp"
                            + " build, or use engine=jllama");
                }
                fallbackReason = "no current llama.cpp libraries found for " + LlamaRuntime.platformKey()
                        + " (no llm-llamacpp-natives jar for this platform, no LLAMA_CPP_LIB, no lib_path)";
            }
            announce(LoadSettings.ENGINE_JLLAMA, fallbackReason + "; using de.kherud:llama (llama.cpp b4916)");
        } else {
            announce(LoadSettings.ENGINE_JLLAMA, (settings.libPath() != null ? "lib_path " + settings.libPath()
                    + " holds a jllama build" : "engine=jllama was asked for") + "; de.kherud:llama (llama.cpp b4916)");
        }
        if (!poolingAsked && settings.pooling() != null && !List.of("last", "cls").contains(settings.pooling())) {
            // the model's own pooling, which this engine cannot apply: the request cannot be honoured as the
            // model describes it, and the user must hear it
            LOG.log(System.Logger.Level.WARNING, "model {0} declares pooling={1}, which engine=jllama (llama.cpp"
                    + " b4916) cannot apply; using pooling=last. Give pooling=last or cls to choose, or use the"
                    + " llamacpp engine", spec, settings.pooling());
            settings = settings.withPooling("last");
        }
        if (settings.pooling() != null && !List.of("last", "cls").contains(settings.pooling())) {
            // MEAN pooling aborts the native library of b4916; NONE and RANK are not offered there
            throw new IllegalArgumentException("pooling=" + settings.pooling() + " is not available with"
                    + " engine=jllama (llama.cpp b4916); use pooling=last or cls there, or the llamacpp engine (model "
                    + spec + ")");
        }
        NativeRuntime.ensureLoaded(settings.libPath());
        try {
            SharedModel shared = SharedModel.acquire(canonical, gguf, settings, spec);
            return new JllamaEngine(shared, spec, settings.libPath() == null);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + canonical + " (model " + spec + "): " + e, e);
        }
    }

    private static final Set<String> ANNOUNCED = ConcurrentHashMap.newKeySet();

    /** Logs at INFO, once per JVM for each distinct choice, which engine was chosen and why. */
    private static void announce(String engine, String why) {
        if (ANNOUNCED.add(engine + why)) {
            LOG.log(System.Logger.Level.INFO, "llamacpp backend: engine {0}: {1}", engine, why);
        }
    }
}
