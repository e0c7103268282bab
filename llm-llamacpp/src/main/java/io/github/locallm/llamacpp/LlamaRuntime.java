package io.github.locallm.llamacpp;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import io.github.locallm.BackendUnavailableException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The current llama.cpp libraries, found, loaded and checked once per JVM.
 *
 * <p>Where they come from, first match wins: the {@code lib_path} setting of the first open, the
 * {@code LLAMA_CPP_LIB} environment variable (a directory, or the path of {@code libllama} itself), or the
 * {@code llm-llamacpp-natives} jar on the class path, whose libraries are unpacked into a private versioned
 * directory ({@code <java.io.tmpdir>/locallm-llamacpp-<user>/natives-<hash>/}). {@code libggml-base},
 * {@code libggml} and {@code libllama} are loaded by absolute path in that order; ggml then loads the best
 * {@code libggml-cpu-*} variant of the directory for this CPU (and any GPU backend a user's build has), and
 * only then is llama.cpp initialised.
 *
 * <p>Before any other call, the struct layouts this binding was written for are checked against the library:
 * on x86-64 the size of the structs the library writes is measured, and on every platform the default values
 * it returns must be those of the pinned build. A library that differs is refused with a message naming the
 * build this binding expects. Thread-safe.
 */
final class LlamaRuntime {

    /** The llama.cpp commit of the bundled libraries, whose {@code llama.h} this binding follows. */
    static final String PINNED_COMMIT = "0ad4a86";
    /** The npm package the bundled libraries come from. */
    static final String PINNED_PACKAGE = "@node-llama-cpp/linux-x64 3.22.1 (llama.cpp release v0.5.0)";
    static final int MODEL_PARAMS_SIZE = 80;
    static final int CONTEXT_PARAMS_SIZE = 160;

    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final String RESOURCES = "/io/github/locallm/llamacpp/natives/";
    private static final Object LOCK = new Object();
    /** The file of the private directory that records the unpacked files as last verified. */
    private static final String VERIFIED_STAMP = "verified.stamp";
    /** The file of the private directory that records the CPU variant ggml chose for this CPU. */
    private static final String CPU_CHOICE = "cpu-variant.choice";
    /** Kept in a static field: the native side holds it for the life of the process. */
    private static final LlamaApi.LogCallback LOG_CALLBACK = LlamaRuntime::onLog;
    private static final Deque<String> RECENT = new ArrayDeque<>();
    private static long logSequence;
    private static int lastLevel = 2;
    private static StringBuilder pending;

    /**
     * dlopen flags RTLD_LAZY without RTLD_GLOBAL: these libraries' symbols must not interpose those of another
     * llama.cpp in the process (the jllama engine's library carries its own, older, ggml).
     */
    private static final Map<String, Object> LOCAL = Map.of(com.sun.jna.Library.OPTION_OPEN_FLAGS, 1);

    private static volatile LlamaRuntime loaded;
    private static volatile String unavailable;

    final Path dir;
    final String commit;
    final String ggmlVersion;
    final String cpuVariant;
    final String devices;
    /** Whether a GPU (or integrated GPU) device is present. */
    final boolean gpu;
    final String origin;
    final LlamaApi.Llama llama;

    private LlamaRuntime(Path dir, String commit, String ggmlVersion, String cpuVariant, String devices, boolean gpu,
                         String origin, LlamaApi.Llama llama) {
        this.gpu = gpu;
        this.dir = dir;
        this.commit = commit;
        this.ggmlVersion = ggmlVersion;
        this.cpuVariant = cpuVariant;
        this.devices = devices;
        this.origin = origin;
        this.llama = llama;
    }

    /** Where the libraries of this engine can be found, without loading anything. */
    record Location(Path dir, String origin) {
    }

    /**
     * Returns where the current libraries are, or empty when there are none (then the jllama engine is used).
     *
     * @param libPath the {@code lib_path} setting, or {@code null}
     */
    static Optional<Location> locate(Path libPath) {
        if (libPath != null) {
            return findLlama(libPath).isPresent() ? Optional.of(new Location(libPath, "lib_path " + libPath))
                    : Optional.empty();
        }
        String env = System.getenv("LLAMA_CPP_LIB");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env.strip()).toAbsolutePath().normalize();
            Path d = Files.isDirectory(p) ? p : p.getParent();
            if (d == null || findLlama(d).isEmpty()) {
                throw new BackendUnavailableException("LLAMA_CPP_LIB=" + env + " names no directory holding libllama"
                        + " (libllama.so, libllama.dylib or llama.dll); point it at your llama.cpp build or unset it");
            }
            return Optional.of(new Location(d, "LLAMA_CPP_LIB " + d));
        }
        return bundledPlatform().map(pl -> new Location(null, "bundled " + pl));
    }

    /** Returns the bundled natives' platform folder for this machine, if the natives jar is present. */
    static Optional<String> bundledPlatform() {
        String os = Platform.isLinux() ? "linux" : Platform.isMac() ? "mac" : Platform.isWindows() ? "win" : "other";
        String arch = Platform.is64Bit() && Platform.isIntel() ? "x64" : Platform.isARM() && Platform.is64Bit()
                ? "arm64" : System.getProperty("os.arch");
        String base = os + "-" + arch;
        for (String candidate : List.of(base + "-cuda", base + "-vulkan", base + "-metal", base)) {
            if (LlamaRuntime.class.getResource(RESOURCES + candidate + "/natives.list") != null) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Returns the loaded runtime, or {@code null}. */
    static LlamaRuntime current() {
        return loaded;
    }

    /**
     * Loads the libraries at this location (once per JVM).
     *
     * @throws BackendUnavailableException if they cannot be loaded, fail the layout check, or another build is
     *                                     already loaded
     */
    static LlamaRuntime load(Location location) {
        synchronized (LOCK) {
            LlamaRuntime rt = loaded;
            if (rt != null) {
                if (location.dir() != null && !location.dir().equals(rt.dir)) {
                    throw new BackendUnavailableException("llama.cpp is already loaded from " + rt.dir + " in this JVM;"
                            + " " + location.origin() + " cannot be loaded as well. Use one llama.cpp build per JVM.");
                }
                return rt;
            }
            if (unavailable != null) {
                throw new BackendUnavailableException(unavailable);
            }
            try {
                Path dir = location.dir() != null ? location.dir() : extractBundled(bundledPlatform().orElseThrow());
                rt = open(dir, location.origin());
                loaded = rt;
                return rt;
            } catch (IOException e) {
                unavailable = "cannot unpack the bundled llama.cpp libraries: " + e.getMessage() + ". Check that"
                        + " java.io.tmpdir (" + System.getProperty("java.io.tmpdir") + ") is writable.";
                throw new BackendUnavailableException(unavailable, e);
            } catch (UnsatisfiedLinkError e) {
                unavailable = "cannot load the llama.cpp libraries of " + location.origin() + ": " + e.getMessage();
                throw new BackendUnavailableException(unavailable, e);
            }
        }
    }

    private static LlamaRuntime open(Path dir, String origin) {
        if (!Platform.is64Bit()) {
            throw new BackendUnavailableException("the llamacpp engine runs on 64-bit platforms only (" + origin + ")");
        }
        Path base = find(dir, "ggml-base").orElseThrow(() -> new BackendUnavailableException("no libggml-base in "
                + dir + " (" + origin + "); a llama.cpp build directory holds libggml-base, libggml and libllama"));
        Path ggmlPath = find(dir, "ggml").orElseThrow(() -> new BackendUnavailableException("no libggml in " + dir
                + " (" + origin + ")"));
        Path llamaPath = findLlama(dir).orElseThrow();
        NativeLibrary.getInstance(base.toString(), LOCAL);
        LlamaApi.GgmlBase ggmlBase = Native.load(base.toString(), LlamaApi.GgmlBase.class, LOCAL);
        ggmlBase.ggml_log_set(LOG_CALLBACK, null);
        String commit = ggmlBase.ggml_commit();
        String version = ggmlBase.ggml_version();
        NativeLibrary.getInstance(ggmlPath.toString(), LOCAL);
        LlamaApi.Ggml ggml = Native.load(ggmlPath.toString(), LlamaApi.Ggml.class, LOCAL);
        long mark = logMark();
        loadBackends(ggml, dir, origin);
        String variant = cpuVariant(linesSince(mark, 2));
        StringBuilder devs = new StringBuilder();
        long n = ggml.ggml_backend_dev_count();
        boolean gpu = false;
        for (long i = 0; i < n; i++) {
            Pointer d = ggml.ggml_backend_dev_get(i);
            int type = ggml.ggml_backend_dev_type(d);
            gpu |= type == 1 || type == 2;
            devs.append(i == 0 ? "" : ", ").append(ggml.ggml_backend_dev_name(d)).append(" (")
                    .append(ggml.ggml_backend_dev_description(d)).append(')');
        }
        NativeLibrary llamaLib = NativeLibrary.getInstance(llamaPath.toString(), LOCAL);
        checkLayout(llamaLib, commit, origin);
        LlamaApi.Llama llama = Native.load(llamaPath.toString(), LlamaApi.Llama.class, LOCAL);
        llama.llama_log_set(LOG_CALLBACK, null);
        checkDefaults(llama, commit, origin);
        LlamaDirect.register(llamaLib);
        llama.llama_backend_init();
        LOG.log(System.Logger.Level.DEBUG, "llama.cpp {0} (ggml {1}) loaded from {2}; CPU variant {3}; devices {4}",
                commit, version, dir, variant, devs);
        return new LlamaRuntime(dir, commit, version, variant, devs.toString(), gpu, origin, llama);
    }

    /** Picks the CPU variant from ggml's "loaded CPU backend from .../libggml-cpu-X.so" line. */
    private static String cpuVariant(List<String> lines) {
        for (String l : lines) {
            int at = l.indexOf("ggml-cpu-");
            if (at >= 0) {
                String rest = l.substring(at + "ggml-cpu-".length());
                int end = 0;
                while (end < rest.length() && (Character.isLetterOrDigit(rest.charAt(end)) || rest.charAt(end) == '_')) {
                    end++;
                }
                return rest.substring(0, end);
            }
        }
        return "built in";
    }

    /**
     * Measures the structs that the library's {@code *_default_params()} write (x86-64 only, where a struct
     * returned by value is written through a hidden first argument), into a guarded buffer: a library whose
     * structs are larger or smaller than this binding's is refused before anything reads them.
     */
    private static void checkLayout(NativeLibrary lib, String commit, String origin) {
        if (!(Platform.isIntel() && Platform.is64Bit())) {
            if (!commit.startsWith(PINNED_COMMIT)) {
                throw new BackendUnavailableException(mismatch(commit, origin, "a build of another commit cannot be"
                        + " checked on this CPU architecture"));
            }
            return;
        }
        measure(lib, "llama_model_default_params", MODEL_PARAMS_SIZE, commit, origin);
        measure(lib, "llama_context_default_params", CONTEXT_PARAMS_SIZE, commit, origin);
    }

    private static void measure(NativeLibrary lib, String function, int expected, String commit, String origin) {
        int guard = 1024;
        try (Memory buf = new Memory(guard)) {
            buf.setMemory(0, guard, (byte) 0xA5);
            Function f = lib.getFunction(function);
            f.invokePointer(new Object[] {buf});
            int written = 0;
            for (int i = guard - 1; i >= 0; i--) {
                if (buf.getByte(i) != (byte) 0xA5) {
                    written = i + 1;
                    break;
                }
            }
            // the tail of the last field may hold padding that the library does not write
            if (written > expected || written < expected - 8) {
                throw new BackendUnavailableException(mismatch(commit, origin, function + " writes " + written
                        + " bytes where this binding's struct has " + expected));
            }
        }
    }

    private static void checkDefaults(LlamaApi.Llama llama, String commit, String origin) {
        LlamaApi.ModelParams m = llama.llama_model_default_params();
        LlamaApi.ContextParams c = llama.llama_context_default_params();
        List<String> wrong = new ArrayList<>();
        expect(wrong, "model.n_gpu_layers", m.n_gpu_layers, -1);
        expect(wrong, "model.split_mode", m.split_mode, 1);
        expect(wrong, "model.main_gpu", m.main_gpu, 0);
        expect(wrong, "model.vocab_only", m.vocab_only, 0);
        expect(wrong, "model.use_extra_bufts", m.use_extra_bufts, 1);
        expect(wrong, "model.devices", Pointer.nativeValue(m.devices), 0);
        expect(wrong, "model.kv_overrides", Pointer.nativeValue(m.kv_overrides), 0);
        expect(wrong, "context.n_ctx", c.n_ctx, 512);
        expect(wrong, "context.n_batch", c.n_batch, 2048);
        expect(wrong, "context.n_ubatch", c.n_ubatch, 512);
        expect(wrong, "context.n_seq_max", c.n_seq_max, 1);
        expect(wrong, "context.rope_scaling_type", c.rope_scaling_type, -1);
        expect(wrong, "context.pooling_type", c.pooling_type, -1);
        expect(wrong, "context.attention_type", c.attention_type, -1);
        expect(wrong, "context.flash_attn_type", c.flash_attn_type, -1);
        expect(wrong, "context.yarn_ext_factor", Float.floatToIntBits(c.yarn_ext_factor), Float.floatToIntBits(-1f));
        expect(wrong, "context.defrag_thold", Float.floatToIntBits(c.defrag_thold), Float.floatToIntBits(-1f));
        expect(wrong, "context.type_k", c.type_k, 1);
        expect(wrong, "context.type_v", c.type_v, 1);
        expect(wrong, "context.embeddings", c.embeddings, 0);
        expect(wrong, "context.offload_kqv", c.offload_kqv, 1);
        expect(wrong, "context.kv_unified", c.kv_unified, 0);
        expect(wrong, "context.n_samplers", c.n_samplers, 0);
        expect(wrong, "context.ctx_other", Pointer.nativeValue(c.ctx_other), 0);
        if (!wrong.isEmpty()) {
            throw new BackendUnavailableException(mismatch(commit, origin, "its default parameters read back as "
                    + String.join(", ", wrong)));
        }
    }

    private static void expect(List<String> wrong, String field, long actual, long expected) {
        if (actual != expected) {
            wrong.add(field + "=" + actual + " (expected " + expected + ")");
        }
    }

    private static String mismatch(String commit, String origin, String detail) {
        return "the llama.cpp library of " + origin + " (commit " + commit + ") does not have the struct layout this"
                + " binding was built for: " + detail + ". This binding follows llama.h of llama.cpp commit "
                + PINNED_COMMIT + " (" + PINNED_PACKAGE + "); use that build, or a build whose llama.h has the same"
                + " llama_model_params and llama_context_params, or engine=jllama";
    }

    // ---------------------------------------------------------------- files

    private static Optional<Path> findLlama(Path dir) {
        return find(dir, "llama");
    }

    /** Finds lib{name}.so, lib{name}.v*.so, lib{name}.dylib or {name}.dll in the directory. */
    private static Optional<Path> find(Path dir, String name) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        List<String> exact = List.of("lib" + name + ".so", "lib" + name + ".dylib", name + ".dll");
        for (String e : exact) {
            if (Files.isRegularFile(dir.resolve(e))) {
                return Optional.of(dir.resolve(e));
            }
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> {
                String f = p.getFileName().toString();
                return f.startsWith("lib" + name + ".") && (f.endsWith(".so") || f.endsWith(".dylib"))
                        || f.startsWith("lib" + name + ".so.");
            }).sorted().findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path extractBundled(String platform) throws IOException {
        String folder = RESOURCES + platform + "/";
        byte[] list = resource(folder + "natives.list");
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(list)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        Path dir = PrivateDirs.create(PrivateDirs.base().resolve("natives-" + platform + "-" + hash));
        String[] lines = new String(list, StandardCharsets.UTF_8).split("\n");
        Path stamp = dir.resolve(VERIFIED_STAMP);
        // The files were checked against natives.list by an earlier start and have not changed since (same size
        // and modification time): reading and hashing every library again would only repeat that check.
        String state = fileState(dir, lines);
        if (state != null && Files.isRegularFile(stamp)
                && state.equals(Files.readString(stamp, StandardCharsets.UTF_8))) {
            return dir;
        }
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.strip().split(" ");
            Path target = dir.resolve(parts[0]);
            if (Files.isRegularFile(target) && sha256(Files.readAllBytes(target)).equals(parts[1])) {
                continue;
            }
            byte[] bytes = resource(folder + parts[0]);
            if (!sha256(bytes).equals(parts[1])) {
                throw new IOException("the bundled " + parts[0] + " does not match its checksum in natives.list");
            }
            writeAtomically(dir, target, bytes);
        }
        String verified = fileState(dir, lines);
        if (verified != null) {
            writeAtomically(dir, stamp, verified);
        }
        return dir;
    }

    /**
     * Returns the name, size and modification time of every file natives.list names, one line each, or
     * {@code null} when one is missing or unreadable.
     */
    private static String fileState(Path dir, String[] lines) {
        StringBuilder b = new StringBuilder();
        try {
            for (String line : lines) {
                if (line.isBlank()) {
                    continue;
                }
                String[] parts = line.strip().split(" ");
                Path f = dir.resolve(parts[0]);
                b.append(line.strip()).append(' ').append(Files.size(f)).append(' ')
                        .append(Files.getLastModifiedTime(f).toMillis()).append('\n');
            }
        } catch (IOException e) {
            return null;
        }
        return b.toString();
    }

    private static void writeAtomically(Path dir, Path target, String text) throws IOException {
        writeAtomically(dir, target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes the bytes to a temporary file of the directory and moves it over the target, so a reader never sees a
     * partly written file (atomically where the file system can).
     */
    static void writeAtomically(Path dir, Path target, byte[] bytes) throws IOException {
        Path tmp = Files.createTempFile(dir, "part-", ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Registers the backends of the directory. ggml picks the CPU variant by loading every
     * {@code libggml-cpu-*} library and asking each for its score on this CPU. For the bundled libraries, which
     * hold CPU variants only, the variant chosen is remembered in the private directory together with the CPU's
     * identity ({@code /proc/cpuinfo}'s vendor, model and flags), and later starts on the same CPU load that
     * variant alone (ggml still refuses it if it does not run here; then every variant is scored again).
     */
    private static void loadBackends(LlamaApi.Ggml ggml, Path dir, String origin) {
        String cpu = origin.startsWith("bundled") && System.getenv("GGML_BACKEND_PATH") == null && onlyCpuVariants(dir)
                ? cpuIdentity() : null;
        Path choice = dir.resolve(CPU_CHOICE);
        if (cpu != null) {
            try {
                // two short lines; anything larger was not written here and is not read
                List<String> remembered = Files.isRegularFile(choice) && Files.size(choice) <= 1024
                        ? Files.readAllLines(choice, StandardCharsets.UTF_8) : List.of();
                if (remembered.size() == 2 && remembered.get(0).equals(cpu)
                        && remembered.get(1).matches("libggml-cpu-[A-Za-z0-9_]+\\.so")
                        && Files.isRegularFile(dir.resolve(remembered.get(1)))
                        && ggml.ggml_backend_load(dir.resolve(remembered.get(1)).toString()) != null) {
                    return;
                }
            } catch (IOException e) {
                // score every variant instead
            }
        }
        long mark = logMark();
        ggml.ggml_backend_load_all_from_path(dir.toString());
        String variant = cpuVariant(linesSince(mark, 2));
        if (cpu != null && !variant.equals("built in")) {
            try {
                writeAtomically(dir, choice, cpu + "\nlibggml-cpu-" + variant + ".so\n");
            } catch (IOException e) {
                // the next start scores the variants again
            }
        }
    }

    /** Whether the directory's ggml backends are CPU variants only (the bundled CPU build). */
    private static boolean onlyCpuVariants(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(f -> f.startsWith("libggml-") && !f.startsWith("libggml-base"))
                    .allMatch(f -> f.startsWith("libggml-cpu-"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The CPU's vendor, model and feature flags from /proc/cpuinfo (first processor), hashed; null elsewhere. */
    private static String cpuIdentity() {
        Path info = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(info)) {
            return null;
        }
        try (Stream<String> lines = Files.lines(info, StandardCharsets.ISO_8859_1)) {
            StringBuilder b = new StringBuilder(System.getProperty("os.arch"));
            // the first processor's block ends at the first blank line
            lines.takeWhile(l -> !l.isBlank())
                    .filter(l -> l.startsWith("vendor_id") || l.startsWith("cpu family") || l.startsWith("model")
                            || l.startsWith("flags") || l.startsWith("Features") || l.startsWith("CPU "))
                    .forEach(l -> b.append('\n').append(l.strip()));
            return sha256(b.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException | java.io.UncheckedIOException e) {
            return null;
        }
    }

    /** Returns the properties of the bundled natives (package, integrity, release), or an empty map. */
    static Map<Object, Object> bundledProperties() {
        Optional<String> platform = bundledPlatform();
        Properties p = new Properties();
        if (platform.isPresent()) {
            try (InputStream in = LlamaRuntime.class.getResourceAsStream(RESOURCES + platform.get()
                    + "/natives.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException ignored) {
                // the properties only describe the build
            }
        }
        return p;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = LlamaRuntime.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("the natives jar has no " + name);
            }
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] bytes) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
    }

    // ---------------------------------------------------------------- log

    /** Keeps warnings and errors (the only detail llama.cpp gives when a load fails); the rest goes to DEBUG. */
    private static void onLog(int level, Pointer text, Pointer userData) {
        String s = text == null ? "" : text.getString(0, StandardCharsets.UTF_8.name());
        synchronized (RECENT) {
            int effective = level == 5 ? lastLevel : level;
            lastLevel = effective;
            if (pending == null) {
                pending = new StringBuilder();
            }
            pending.append(s);
            int nl;
            while ((nl = pending.indexOf("\n")) >= 0) {
                String line = pending.substring(0, nl).strip();
                pending.delete(0, nl + 1);
                if (line.isEmpty()) {
                    continue;
                }
                logSequence++;
                RECENT.addLast(logSequence + " " + effective + " " + line);
                while (RECENT.size() > 256) {
                    RECENT.removeFirst();
                }
                if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                    LOG.log(System.Logger.Level.DEBUG, "llama.cpp: {0}", line);
                }
            }
        }
    }

    /** Returns a mark for {@link #linesSince(long, int)}. */
    static long logMark() {
        synchronized (RECENT) {
            return logSequence;
        }
    }

    /** Returns the log lines at or above a level (2 info, 3 warn, 4 error) logged after the mark. */
    static List<String> linesSince(long mark, int minLevel) {
        List<String> out = new ArrayList<>();
        synchronized (RECENT) {
            for (String entry : RECENT) {
                int sp1 = entry.indexOf(' ');
                int sp2 = entry.indexOf(' ', sp1 + 1);
                long seq = Long.parseLong(entry.substring(0, sp1));
                int level = Integer.parseInt(entry.substring(sp1 + 1, sp2));
                if (seq > mark && level >= minLevel) {
                    out.add(entry.substring(sp2 + 1));
                }
            }
        }
        return out;
    }

    /** Returns the warnings and errors logged after the mark, joined for an exception message. */
    static String problemsSince(long mark) {
        List<String> lines = linesSince(mark, 3);
        if (lines.isEmpty()) {
            return "llama.cpp logged no warning or error";
        }
        List<String> last = lines.subList(Math.max(0, lines.size() - 6), lines.size());
        return "llama.cpp said: " + String.join(" | ", last);
    }

    @Override
    public String toString() {
        return "llama.cpp " + commit + " from " + dir;
    }

    /** Lower-case platform key, for messages. */
    static String platformKey() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT) + "-" + System.getProperty("os.arch", "");
    }
}
