package io.github.locallm.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ModelLoadException;
import io.github.locallm.OpenOptions;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.ProcessIsolation;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code djl} backend: runs Hugging Face causal-LM checkpoints in-process on the PyTorch engine of DJL,
 * with the checkpoint's own tokenizer and chat template, without Python. Architectures: Llama (with
 * {@code llama3}, {@code linear}, {@code dynamic} and {@code yarn} RoPE scaling), Mistral, Qwen2, Qwen3,
 * Phi-2, Phi-3, Gemma 2, Gemma 3 (text), Mixtral, Qwen2-MoE and Qwen3-MoE.
 *
 * <p>A model is a checkpoint directory holding {@code config.json}, {@code tokenizer.json} and
 * {@code model.safetensors} (or shards listed in {@code model.safetensors.index.json}); weights may be
 * F16 (used in place from the memory-mapped files), F32 (projection matrices copied once into the transposed
 * layout that PyTorch's F32 matrix product reads fastest, embeddings used in place) or BF16 (converted to F16 when
 * exact, else F32); activations are F32. Each model has one inference thread that loads it and runs every forward pass.
 * {@code config.json} and {@code tokenizer.json} are checked in Java first, and the memory the weights and
 * cache need is compared with what the system has available before anything is allocated. Chat uses the template of {@code tokenizer_config.json} (or
 * {@code chat_template.jinja}); end tokens come from {@code generation_config.json}, {@code config.json} and
 * the tokenizer's {@code eos_token}; sampling defaults from {@code generation_config.json}. Settings (spec
 * query or {@link OpenOptions}):
 * <ul>
 *   <li>{@code ctx}: context window in tokens (default: the model's, at most
 *       {@value io.github.locallm.spi.OptionValues#DEFAULT_CONTEXT_CAP})</li>
 *   <li>{@code device}: {@code cpu} (default) or {@code gpu}, which needs a CUDA build of the PyTorch
 *       native library on the class path and a visible GPU</li>
 *   <li>{@code pooling}: how {@code embed} pools the final hidden states: {@code mean}, {@code cls},
 *       {@code last}, {@code max}, {@code mean_sqrt_len_tokens} or {@code weightedmean} (several joined by
 *       {@code +} are concatenated); {@code normalize}: {@code true} for L2-normalised vectors. A checkpoint
 *       saved by sentence-transformers ({@code modules.json}, {@code 1_Pooling/config.json}, a
 *       {@code Normalize} module, {@code sentence_bert_config.json}) is pooled as it says; these settings
 *       override it. A model with neither reports no {@code EMBEDDINGS} capability.</li>
 * </ul>
 * F32 and F16 weights stay mapped from the safetensors files while the model is open: each file is checked
 * against its header whenever its data is opened, but a file shortened or rewritten in place afterwards makes
 * the process fault when the missing pages are read (as with any memory-mapped file). Replace checkpoint files
 * by writing a new file and renaming it over the old one (the open mapping keeps the old contents), never by
 * rewriting them in place while a model using them is open.
 *
 * <p>Opening a model changes nothing process-wide. PyTorch's intra-op thread count is process-wide, so it is
 * not a setting of a model: set the system property {@code ai.djl.pytorch.num_threads} (or the environment
 * variable {@code OMP_NUM_THREADS}) before the first model opens. Where other busy processes share the cores,
 * one thread is often faster than several: each operator ends at a barrier that waits for every thread of the
 * team, and a descheduled thread stalls them all (F16 products especially). The native library comes from the
 * {@code pytorch-native-cpu} jar on the class path; to make sure DJL never downloads one, run with the
 * system property {@code ai.djl.offline=true}.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("djl:/models/Qwen2.5-0.5B-Instruct?ctx=2048")) {
 *     System.out.println(llm.chat(List.of(ChatMessage.user("Hello"))).text());
 * }
 * }</pre>
 *
 * <p>Thread-safe; found through {@link java.util.ServiceLoader}.
 */
public final class DjlProvider implements LlmProvider {
    private static final String CTX = OpenOptions.CONTEXT_LENGTH;
    private static final String DEVICE = "device";
    private static final String THREADS = OpenOptions.THREADS;
    private static final List<String> SETTINGS = List.of(CTX, DEVICE, EmbeddingPooling.POOLING,
            EmbeddingPooling.NORMALIZE);

    /** Creates the provider; cheap, loads no native code. */
    public DjlProvider() {
    }

    @Override
    public String name() {
        return "djl";
    }

    @Override
    public Set<String> schemes() {
        return Set.of("djl");
    }

    @Override
    public Optional<String> artifact() {
        return Optional.of("io.github.locallm:llm-djl");
    }

    @Override
    public boolean accepts(Path path) {
        return path != null && Files.isDirectory(path) && Files.isRegularFile(path.resolve(Checkpoint.CONFIG));
    }

    @Override
    public LlmBackend open(OpenRequest request) {
        Objects.requireNonNull(request, "request");
        if (ProcessIsolation.requested(request)) {
            return ProcessIsolation.open(this, request);
        }
        request = ProcessIsolation.strip(request);
        if (request.parameters().containsKey(THREADS)) {
            throw new IllegalArgumentException("threads is not a setting of a djl model: PyTorch's thread count is"
                    + " process-wide; set the system property ai.djl.pytorch.num_threads (or OMP_NUM_THREADS) before"
                    + " the first model opens (model " + request.spec() + ")");
        }
        request.requireKnown(SETTINGS);
        String model = request.spec().toString();
        Path dir;
        try {
            dir = Path.of(request.spec().location());
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + request.spec().location() + "' is not a valid path (djl model "
                    + model + ")", e);
        }
        String device = request.string(DEVICE).orElse("cpu").strip().toLowerCase(Locale.ROOT);
        if (!device.equals("cpu") && !device.equals("gpu")) {
            throw new IllegalArgumentException("device must be cpu or gpu: '" + device + "' (model " + model + ")");
        }

        // Everything is checked in Java before the engine or any native code starts.
        Checkpoint ckpt = Checkpoint.read(dir, model);
        CheckpointConfig c = ckpt.config();
        int limit = c.contextLimit();
        int ctx = request.contextLength(limit);

        EmbeddingPooling.Setup embedding = EmbeddingPooling.read(dir, model, c.hiddenSize(),
                request.string(EmbeddingPooling.POOLING), request.bool(EmbeddingPooling.NORMALIZE));
        checkMemory(ckpt, ctx, availableMemory());
        Engine engine = engine(model);
        Device dev = Device.cpu();
        if (device.equals("gpu")) {
            if (engine.getGpuCount() == 0) {
                throw new BackendUnavailableException("device=gpu was asked for djl model " + model
                        + ", but PyTorch " + engine.getVersion() + " sees no CUDA GPU; drop the device setting to run "
                        + "on the CPU, or put a CUDA build of pytorch-native on the class path");
            }
            dev = Device.gpu();
        }
        CheckpointTokenizer tokenizer = CheckpointTokenizer.open(dir.resolve(Checkpoint.TOKENIZER), model,
                c.vocabSize());
        NDManager weights = engine.newBaseManager(dev);
        LlamaDecoder decoder = null;
        try {
            String where = dev.isGpu() ? "gpu:" + dev.getDeviceId() : "cpu";
            decoder = LlamaDecoder.load(ckpt, weights);
            return new DjlBackend(ckpt, tokenizer, new CheckpointChat(ckpt, tokenizer, null), decoder, ctx, where,
                    embedding);
        } catch (RuntimeException | Error e) {
            if (decoder != null) {
                decoder.close(); // closes the weights too
            } else {
                weights.close();
            }
            tokenizer.close();
            if (e instanceof ai.djl.engine.EngineException) {
                throw new ModelLoadException("the PyTorch engine could not load djl model " + model + ": "
                        + e.getMessage(), e);
            }
            throw e;
        }
    }

    /**
     * Fails before anything is allocated when the weights and the key/value cache cannot fit in memory.
     *
     * @param ckpt the checked checkpoint
     * @param ctx the context length the cache may reach
     * @param available bytes of memory available, or a negative number when unknown
     * @throws ModelLoadException giving the needed and available bytes
     */
    static void checkMemory(Checkpoint ckpt, int ctx, long available) {
        CheckpointConfig c = ckpt.config();
        long weights = ckpt.weightBytes();
        long cache = 2L * c.numLayers() * c.numKvHeads() * c.headDim() * ctx * Float.BYTES;
        long needed = weights + cache;
        if (available >= 0 && needed > available) {
            throw new ModelLoadException("djl model " + ckpt.model() + " needs about " + needed + " bytes of memory ("
                    + weights + " for the weights, " + cache + " for a key/value cache of " + ctx + " positions), but "
                    + "only " + available + " bytes are available; use a machine with more memory, a smaller ctx, "
                    + "or a smaller or quantized model (the llamacpp backend reads quantized GGUF files)");
        }
    }

    /** @return memory available to this process now, from the OS; -1 when it cannot be told */
    static long availableMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // Not Linux, or no procfs: fall back to the JVM's view.
        }
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getFreeMemorySize();
        }
        return -1;
    }

    private static Engine engine(String model) {
        try {
            return Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new BackendUnavailableException("the PyTorch engine of DJL cannot start for djl model " + model
                    + ": " + e.getMessage() + ". Put ai.djl.pytorch:pytorch-jni and ai.djl.pytorch:pytorch-native-cpu "
                    + "(classifier for this platform, for example linux-x86_64) on the class path", e);
        }
    }
}
