package io.github.locallm.llamacpp;

import io.github.locallm.spi.OpenRequest;
import io.github.locallm.spi.OptionValues;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The load settings of a model, parsed and validated in Java so that no bad value reaches the native
 * argument parser (which prints usage text and leaves a broken model behind).
 */
record LoadSettings(int ctx, int threads, int batch, int gpuLayers, boolean mmap, boolean mlock,
                    String template, boolean embedding, String pooling, Path libPath, String kvType, String engine) {

    static final String CTX = "ctx";
    static final String THREADS = "threads";
    static final String BATCH = "batch";
    static final String GPU_LAYERS = "gpu_layers";
    static final String MMAP = "mmap";
    static final String MLOCK = "mlock";
    static final String TEMPLATE = "template";
    static final String TEMPLATE_FILE = "template_file";
    static final String EMBEDDING = "embedding";
    static final String POOLING = "pooling";
    static final String LIB_PATH = "lib_path";
    static final String KV_TYPE = "kv_type";
    static final String ENGINE = "engine";
    static final List<String> KEYS = List.of(CTX, THREADS, BATCH, GPU_LAYERS, MMAP, MLOCK, TEMPLATE, TEMPLATE_FILE,
            EMBEDDING, POOLING, LIB_PATH, KV_TYPE, ENGINE);
    /** The engine of the current llama.cpp C API. */
    static final String ENGINE_LLAMACPP = "llamacpp";
    /** The de.kherud:llama engine. */
    static final String ENGINE_JLLAMA = "jllama";

    /** The context size used when the model's own is larger or unknown. */
    static final int DEFAULT_CTX_CAP = OptionValues.DEFAULT_CONTEXT_CAP;
    private static final int MAX_CTX = 1 << 20;
    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final Set<String> KV_TYPES = Set.of("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl",
            "q5_0", "q5_1");

    /**
     * Parses the settings of an open request.
     *
     * @param request      the request
     * @param gguf    the model's header
     * @throws IllegalArgumentException naming the bad setting and what is accepted
     */
    static LoadSettings parse(OpenRequest request, GgufFile gguf) {
        long trainedCtx = gguf.trainedContext();
        request.requireKnown(KEYS);
        String model = request.spec().toString();
        int ctx = request.integer(CTX, 1).orElse((int) Math.min(trainedCtx > 0 ? trainedCtx : DEFAULT_CTX_CAP,
                DEFAULT_CTX_CAP));
        if (ctx < 16 || ctx > MAX_CTX) {
            throw new IllegalArgumentException("ctx must be in [16, " + MAX_CTX + "]: " + ctx + " (model " + model + ")");
        }
        if (trainedCtx > 0 && ctx > trainedCtx) {
            LOG.log(System.Logger.Level.WARNING, "ctx={0} is above the {1} tokens model {2} was trained for: the window"
                    + " is allocated, but text past {1} tokens gives poor answers",
                    Integer.toString(ctx), Long.toString(trainedCtx), model);
        }
        int threads = request.integer(THREADS, 1).orElse(defaultThreads(gguf.fileSize - gguf.dataStart));
        int maxThreads = 4 * Runtime.getRuntime().availableProcessors();
        if (threads > maxThreads) {
            throw new IllegalArgumentException("threads must be in [1, " + maxThreads + "] (4 per CPU of this machine): "
                    + threads + " (model " + model + ")");
        }
        int batch = request.integer(BATCH, 1).orElse(Math.min(512, ctx));
        if (batch > ctx) {
            throw new IllegalArgumentException("batch must be in [1, ctx=" + ctx + "]: " + batch + " (model " + model
                    + ")");
        }
        checkCacheFitsMemory(gguf, ctx, model);
        int gpuLayers = request.integer(GPU_LAYERS, -1).orElse(0);
        boolean mmap = request.bool(MMAP).orElse(Boolean.TRUE);
        boolean mlock = request.bool(MLOCK).orElse(Boolean.FALSE);
        String template = request.string(TEMPLATE).orElse(null);
        String templateFile = request.string(TEMPLATE_FILE).orElse(null);
        if (template != null && templateFile != null) {
            throw new IllegalArgumentException("give either template or template_file, not both (model " + model + ")");
        }
        if (templateFile != null) {
            template = readTemplateFile(templateFile, model);
        }
        if (template != null && template.isBlank()) {
            throw new IllegalArgumentException("template must not be blank (model " + model + ")");
        }
        if (template != null) {
            String problem = GgufChecks.templateProblem(template);
            if (problem != null) {
                throw new IllegalArgumentException("the template " + problem + " (model " + model + ")");
            }
        }
        boolean embedding = request.bool(EMBEDDING).orElse(Boolean.FALSE);
        String pooling = request.string(POOLING).map(p -> p.strip().toLowerCase(Locale.ROOT)).orElse(null);
        if (pooling != null) {
            if (!embedding) {
                throw new IllegalArgumentException("pooling only applies with embedding=true (model " + model + ")");
            }
            if (!List.of("last", "cls", "mean", "none", "rank").contains(pooling)) {
                throw new IllegalArgumentException("pooling must be last, cls, mean, none or rank: '" + pooling
                        + "' (model " + model + ")");
            }
            if (pooling.equals("rank") && !hasClassifierHead(gguf)) {
                throw new IllegalArgumentException("pooling=rank needs a reranker: a model with a classifier head"
                        + " (tensor cls.output.weight or cls.weight), and " + model + " has none; use pooling=last,"
                        + " cls, mean or none for a sentence or token embedding");
            }
        } else if (embedding) {
            pooling = declaredPooling(gguf).orElse("last");
        }
        String engine = request.string(ENGINE).map(e -> e.strip().toLowerCase(Locale.ROOT)).orElse(null);
        if (engine != null && !engine.equals(ENGINE_LLAMACPP) && !engine.equals(ENGINE_JLLAMA)) {
            throw new IllegalArgumentException("engine must be " + ENGINE_LLAMACPP + " (the current llama.cpp) or "
                    + ENGINE_JLLAMA + " (de.kherud:llama, llama.cpp b4916): '" + engine + "' (model " + model + ")");
        }
        Path libPath = null;
        String lib = request.string(LIB_PATH).orElse(null);
        if (lib != null) {
            libPath = Path.of(lib).toAbsolutePath().normalize();
            boolean jllama = Files.isRegularFile(libPath.resolve(NativeRuntime.libraryFileName()));
            boolean current = LlamaRuntime.locate(libPath).isPresent();
            if (!jllama && !current) {
                throw new IllegalArgumentException("lib_path " + libPath + " must be a directory holding a llama.cpp"
                        + " build (libllama with libggml and libggml-base) or " + NativeRuntime.libraryFileName()
                        + " for engine=jllama (model " + model + ")");
            }
            if (engine == null) {
                engine = current ? ENGINE_LLAMACPP : ENGINE_JLLAMA;
            } else if (engine.equals(ENGINE_JLLAMA) && !jllama || engine.equals(ENGINE_LLAMACPP) && !current) {
                throw new IllegalArgumentException("lib_path " + libPath + " holds no library for engine=" + engine
                        + " (model " + model + ")");
            }
        }
        String kvType = request.string(KV_TYPE).map(k -> k.strip().toLowerCase(Locale.ROOT)).orElse("f16");
        if (!KV_TYPES.contains(kvType)) {
            throw new IllegalArgumentException("kv_type must be one of " + new java.util.TreeSet<>(KV_TYPES) + ": '"
                    + kvType + "' (model " + model + ")");
        }
        if (!kvType.startsWith("f") && !kvType.startsWith("b")) {
            // llama.cpp asserts (and aborts the JVM) when a quantized cache block does not divide a head
            String arch = gguf.architecture();
            long heads = gguf.number(arch + ".attention.head_count", 0);
            long width = gguf.number(arch + ".embedding_length", 0);
            long fallback = heads > 0 ? width / heads : 0;
            long keyDim = gguf.number(arch + ".attention.key_length", fallback);
            long valueDim = gguf.number(arch + ".attention.value_length", fallback);
            if (keyDim <= 0 || keyDim % 32 != 0 || valueDim <= 0 || valueDim % 32 != 0) {
                throw new IllegalArgumentException("kv_type=" + kvType + " needs attention heads whose size is a"
                        + " multiple of 32, but this model's are " + keyDim + " (keys) and " + valueDim
                        + " (values); use kv_type=f16 or f32 (model " + model + ")");
            }
        }
        return new LoadSettings(ctx, threads, batch, gpuLayers, mmap, mlock, template, embedding, pooling, libPath,
                kvType, engine);
    }

    /** llama.cpp's {@code enum llama_pooling_type} values 1..4, by name. */
    private static final List<String> POOLING_NAMES = List.of("mean", "cls", "last", "rank");

    /**
     * Returns the pooling the model declares ({@code <arch>.pooling_type}, as embedding and reranker GGUFs carry
     * it), when it is one that gives one vector per text; empty for none declared or NONE.
     */
    static java.util.Optional<String> declaredPooling(GgufFile gguf) {
        long type = gguf.number(gguf.architecture() + ".pooling_type", -1);
        if (type < 1 || type > POOLING_NAMES.size()) {
            return java.util.Optional.empty();
        }
        String name = POOLING_NAMES.get((int) type - 1);
        return name.equals("rank") && !hasClassifierHead(gguf) ? java.util.Optional.empty()
                : java.util.Optional.of(name);
    }

    /** Returns these settings with another pooling. */
    LoadSettings withPooling(String other) {
        return new LoadSettings(ctx, threads, batch, gpuLayers, mmap, mlock, template, embedding, other, libPath,
                kvType, engine);
    }

    /** Whether the model has the classifier head that llama.cpp's RANK pooling applies. */
    static boolean hasClassifierHead(GgufFile gguf) {
        return gguf.tensorInfos().stream().anyMatch(t -> t.name().equals("cls.output.weight")
                || t.name().equals("cls.weight"));
    }

    /** The largest template_file read, in bytes. */
    static final long MAX_TEMPLATE_FILE_BYTES = 4L * GgufChecks.MAX_TEMPLATE_CHARS;

    private static String readTemplateFile(String templateFile, String model) {
        Path file;
        try {
            file = Path.of(templateFile);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("template_file " + templateFile + " is not a valid path (model " + model
                    + ")", e);
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("template_file " + templateFile + " is not a regular file (a device,"
                    + " pipe or directory is refused) (model " + model + ")");
        }
        try {
            long size = Files.size(file);
            if (size > MAX_TEMPLATE_FILE_BYTES) {
                throw new IllegalArgumentException("template_file " + templateFile + " is " + size + " bytes, more than"
                        + " the " + MAX_TEMPLATE_FILE_BYTES + " allowed (model " + model + ")");
            }
            return Files.readString(file);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("template_file")) {
                throw iae;
            }
            throw new IllegalArgumentException("template_file " + templateFile + " cannot be read: " + e.getMessage()
                    + " (model " + model + ")", e);
        }
    }

    /**
     * Refuses a context whose KV cache (F16, the default) alone would need more memory than the machine has,
     * before llama.cpp tries to allocate it.
     */
    private static void checkCacheFitsMemory(GgufFile gguf, int ctx, String model) {
        String arch = gguf.architecture();
        long layers = gguf.number(arch + ".block_count", 0);
        long width = gguf.number(arch + ".embedding_length", 0);
        long heads = gguf.number(arch + ".attention.head_count", 0);
        long kvHeads = gguf.number(arch + ".attention.head_count_kv", heads);
        if (layers <= 0 || width <= 0 || heads <= 0 || kvHeads <= 0) {
            return;
        }
        long headDim = gguf.number(arch + ".attention.key_length", width / heads);
        long bytes;
        try {
            bytes = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(2L * 2L, layers), (long) ctx),
                    Math.multiplyExact(kvHeads, headDim));
        } catch (ArithmeticException e) {
            bytes = Long.MAX_VALUE;
        }
        long memory = physicalMemory();
        if (memory > 0 && bytes > memory) {
            throw new IllegalArgumentException("ctx=" + ctx + " needs a KV cache of about " + (bytes >> 20) + " MiB, more"
                    + " than the " + (memory >> 20) + " MiB of memory of this machine; open the model with a smaller"
                    + " ctx (model " + model + ")");
        }
    }

    private static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: no bound from here
        }
        return -1;
    }

    /**
     * Returns the settings that shape the native model, without those applied in Java (the chat template)
     * or JVM-wide (the native library): two opens that differ only there share one native model.
     */
    LoadSettings nativePart() {
        return new LoadSettings(ctx, threads, batch, gpuLayers, mmap, mlock, null, embedding, pooling, null, kvType,
                null);
    }

    /**
     * Models whose weights are below this many bytes decode fastest on one thread: the work of one token is
     * then smaller than what ggml's worker threads spend meeting at the barrier of every operation. Measured
     * with the same library driven from C on 2 cores: the embedded demo model (1.1 MB of weights) 5,270
     * tokens/s on one thread against 4,280 on two; a 3.2 MB model 2,700 against 3,200.
     */
    static final long ONE_THREAD_BELOW_BYTES = 2L << 20;

    /**
     * Returns the number of threads used when none is given: one for a model whose weights are below
     * {@link #ONE_THREAD_BELOW_BYTES}, else the physical cores.
     *
     * @param weightBytes the bytes of the model's tensor data
     */
    static int defaultThreads(long weightBytes) {
        return weightBytes >= 0 && weightBytes < ONE_THREAD_BELOW_BYTES ? 1 : physicalCores();
    }

    /** Returns the number of physical cores (not hardware threads) available, at least 1. */
    static int physicalCores() {
        int logical = Runtime.getRuntime().availableProcessors();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            Set<String> cores = new HashSet<>();
            String physical = "0";
            for (String line : lines) {
                if (line.startsWith("physical id")) {
                    physical = line.substring(line.indexOf(':') + 1).strip();
                } else if (line.startsWith("core id")) {
                    cores.add(physical + "/" + line.substring(line.indexOf(':') + 1).strip());
                }
            }
            if (!cores.isEmpty()) {
                return Math.max(1, Math.min(cores.size(), logical));
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: fall back to the logical count
        }
        return Math.max(1, logical);
    }
}
