package io.github.locallm.llamacpp;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.PoolingType;
import io.github.locallm.ModelLoadException;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One natively loaded model, shared by every handle that opened the same file with the same load settings.
 *
 * <p>The binding's {@code close()} stops the model's worker thread but frees none of its native memory
 * (about the model's size plus its context, every time), so unloading and reloading a model only grows
 * the process. A loaded model therefore stays loaded, idle, once its last handle is closed, and the next
 * open of the same (file, settings) reuses it: each distinct (file, settings) pair costs its memory once
 * per JVM, and no more. Native calls are serialized by a fair lock because the binding serves one request
 * at a time.
 */
final class SharedModel {

    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final Map<Key, SharedModel> LOADED = new HashMap<>();
    private static final Object REGISTRY = new Object();

    /** What identifies a loaded model: the file (as it is now) and every load setting. */
    record Key(Path canonicalPath, long size, long modified, LoadSettings settings) {
    }

    final Key key;
    final LlamaModel model;
    final GgufFile gguf;
    final ReentrantLock lock = new ReentrantLock(true);
    private int handles;
    private int loads;

    private SharedModel(Key key, LlamaModel model, GgufFile gguf) {
        this.key = key;
        this.model = model;
        this.gguf = gguf;
    }

    /**
     * Returns the loaded model for this file and settings, loading it on first use, with one more handle.
     *
     * @throws ModelLoadException if llama.cpp cannot load it
     */
    static SharedModel acquire(Path canonicalPath, GgufFile gguf, LoadSettings settings, String spec)
            throws IOException {
        Key key = new Key(canonicalPath, Files.size(canonicalPath),
                Files.getLastModifiedTime(canonicalPath).toMillis(), settings.nativePart());
        synchronized (REGISTRY) {
            SharedModel shared = LOADED.get(key);
            if (shared == null) {
                shared = new SharedModel(key, load(canonicalPath, settings, spec), gguf);
                shared.loads++;
                LOADED.put(key, shared);
            }
            shared.handles++;
            return shared;
        }
    }

    /** Gives back one handle; the model stays loaded for the next open (see the class comment). */
    void release() {
        synchronized (REGISTRY) {
            handles--;
        }
    }

    /** Returns how many native models are loaded in this JVM. */
    static int loadedCount() {
        synchronized (REGISTRY) {
            return LOADED.size();
        }
    }

    private static LlamaModel load(Path path, LoadSettings s, String spec) {
        ModelParameters p = new ModelParameters()
                .setModel(path.toString())
                .setCtxSize(s.ctx())
                .setThreads(s.threads())
                .setThreadsBatch(s.threads())
                .setBatchSize(s.batch())
                .setUbatchSize(s.embedding() ? s.batch() : Math.min(s.batch(), 512))
                .setParallel(1)
                .disableContextShift()
                .skipWarmup();
        if (s.gpuLayers() != 0) {
            if (s.libPath() == null) {
                // The bundled build is CPU-only: the request cannot be honoured, and the user must hear it.
                LOG.log(System.Logger.Level.WARNING, "gpu_layers={0} ignored for {1}: the bundled llama.cpp build"
                        + " runs on the CPU only; give lib_path of a GPU build of the native library to offload layers",
                        Integer.toString(s.gpuLayers()), spec);
            } else {
                p.setGpuLayers(s.gpuLayers());
            }
        }
        if (!s.mmap()) {
            p.disableMmap();
        }
        if (s.mlock()) {
            p.enableMlock();
        }
        CacheType kv = CacheType.valueOf(s.kvType().toUpperCase(Locale.ROOT));
        p.setCacheTypeK(kv).setCacheTypeV(kv);
        if (kv != CacheType.F32 && kv != CacheType.F16 && kv != CacheType.BF16) {
            p.enableFlashAttn();
        }
        if (s.embedding()) {
            p.enableEmbedding().setPoolingType(s.pooling().equals("cls") ? PoolingType.CLS : PoolingType.LAST);
        }
        if (!LOG.isLoggable(System.Logger.Level.DEBUG)) {
            p.disableLog();
        }
        LlamaModel model;
        java.util.Set<Thread> before = NativeWorkers.liveThreads();
        try {
            model = new LlamaModel(p);
        } catch (RuntimeException | LinkageError e) {
            throw new ModelLoadException("llama.cpp could not load model " + spec + " (" + path + "): "
                    + e.getMessage() + ". Check that the file is a complete GGUF model of an architecture"
                    + " llama.cpp b4916 supports, and that ctx=" + s.ctx() + " fits in memory.", e);
        }
        if (nativeHandle(model) == 0) {
            throw new ModelLoadException("llama.cpp rejected the load settings of model " + spec + ": " + s
                    + "; the native library was left without a model, so it is not used");
        }
        NativeWorkers.adoptNewThreads(before);
        LOG.log(System.Logger.Level.DEBUG, "loaded {0} with {1}", path, s);
        return model;
    }

    /** Reads the binding's native pointer; 0 means its argument parser refused the settings. */
    private static long nativeHandle(LlamaModel model) {
        try {
            Field f = LlamaModel.class.getDeclaredField("ctx");
            f.setAccessible(true);
            return f.getLong(model);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public String toString() {
        return "SharedModel[" + key.canonicalPath() + ", handles=" + handles + ", loads=" + loads + "]";
    }
}
