package io.github.locallm.llamacpp;

import io.github.locallm.BackendUnavailableException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Loads the binding's native library once per JVM, in a way that keeps its loader quiet and harmless.
 *
 * <p>The binding's loader deletes every {@code jllama*} and {@code llama*} file in its temp directory on
 * first use, prints an "Extracted" line to stdout when it unpacks the library, and unpacks under a fixed
 * name. So this class unpacks the library itself into a private directory named after the binding version
 * and the library's hash ({@code <tmp>/locallm-llamacpp-<user>/4.2.0-<hash>/}), atomically, and points the
 * binding at it with {@code de.kherud.llama.lib.path}; the binding's own temp directory is an empty private
 * scratch directory, so its clean-up deletes nothing of anyone else's. Both properties are set only while the
 * binding's class initialises, and restored right after.
 */
final class NativeRuntime {

    static final String BINDING_VERSION = "4.2.0";
    private static final String LIB_PATH = "de.kherud.llama.lib.path";
    private static final String TMPDIR = "de.kherud.llama.tmpdir";
    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final Object LOCK = new Object();
    private static volatile String loadedFrom;

    private NativeRuntime() {
    }

    /**
     * Makes sure the native library is loaded.
     *
     * @param libPath a directory holding an alternative build ({@code libjllama.so}), or {@code null}
     * @throws BackendUnavailableException if it cannot be loaded or another build is already loaded
     */
    static void ensureLoaded(Path libPath) {
        synchronized (LOCK) {
            String wanted = libPath == null ? null : libPath.toAbsolutePath().normalize().toString();
            if (wanted == null && loadedFrom == null) {
                // a build chosen with the binding's own system property is honoured
                wanted = System.getProperty(LIB_PATH);
            }
            if (loadedFrom != null) {
                if (wanted != null && !wanted.equals(loadedFrom)) {
                    throw new BackendUnavailableException("the llama.cpp native library is already loaded from "
                            + loadedFrom + " in this JVM; lib_path=" + wanted + " cannot be loaded as well."
                            + " Use one native build per JVM.");
                }
                return;
            }
            if (wanted != null && !java.nio.file.Files.isRegularFile(Path.of(wanted, libraryFileName()))) {
                // the binding would fall back to unpacking its own copy, loudly, into a shared directory
                throw new BackendUnavailableException("the llama.cpp native library directory " + wanted
                        + " has no " + libraryFileName() + "; point lib_path (or de.kherud.llama.lib.path) at a"
                        + " directory holding a build of it, or leave both unset to use the bundled build");
            }
            try {
                Path dir = wanted != null ? Path.of(wanted) : extractBundled();
                Path scratch = PrivateDirs.create(PrivateDirs.base().resolve("scratch"));
                // The binding reads its two properties only while its class initialises: they are set for that
                // moment and restored at once, so loading changes nothing process-wide.
                String libPathBefore = System.getProperty(LIB_PATH);
                String tmpdirBefore = System.getProperty(TMPDIR);
                try {
                    System.setProperty(LIB_PATH, dir.toString());
                    System.setProperty(TMPDIR, scratch.toString());
                    Class.forName("de.kherud.llama.LlamaModel", true, NativeRuntime.class.getClassLoader());
                } finally {
                    restore(LIB_PATH, libPathBefore);
                    restore(TMPDIR, tmpdirBefore);
                }
                loadedFrom = dir.toString();
                LOG.log(System.Logger.Level.DEBUG, "llama.cpp native library loaded from {0}", dir);
            } catch (IOException e) {
                throw new BackendUnavailableException("cannot unpack the llama.cpp native library: " + e.getMessage()
                        + ". Check that java.io.tmpdir (" + System.getProperty("java.io.tmpdir") + ") is writable.", e);
            } catch (ClassNotFoundException e) {
                throw new BackendUnavailableException("the de.kherud:llama:" + BINDING_VERSION
                        + " jar is not on the class path; add it (llm-llamacpp depends on it)", e);
            } catch (LinkageError e) {
                throw new BackendUnavailableException("cannot load the llama.cpp native library"
                        + (wanted != null ? " from lib_path " + wanted : "") + ": " + e.getMessage()
                        + ". The bundled build supports Linux, macOS and Windows on x86-64 and arm64.", e);
            }
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    /** Returns the directory the library was loaded from, or {@code null}. */
    static String loadedFrom() {
        return loadedFrom;
    }

    static String libraryFileName() {
        return System.mapLibraryName("jllama");
    }

    private static Path extractBundled() throws IOException {
        String resource = "/de/kherud/llama/" + osFolder() + "/" + archFolder() + "/" + libraryFileName();
        byte[] lib;
        try (InputStream in = NativeRuntime.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("the binding jar has no native library for " + osFolder() + "/" + archFolder());
            }
            lib = in.readAllBytes();
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(lib)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        Path dir = PrivateDirs.create(PrivateDirs.base().resolve(BINDING_VERSION + "-" + hash));
        Path target = dir.resolve(libraryFileName());
        if (Files.isRegularFile(target) && Files.size(target) == lib.length) {
            return dir;
        }
        LlamaRuntime.writeAtomically(dir, target, lib);
        return dir;
    }

    private static String osFolder() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("win")) {
            return "Windows";
        }
        if (os.contains("mac") || os.contains("darwin")) {
            return "Mac";
        }
        return "Linux";
    }

    private static String archFolder() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            return "x86_64";
        }
        if (arch.equals("aarch64") || arch.equals("arm64")) {
            return "aarch64";
        }
        if (arch.equals("x86") || arch.equals("i386")) {
            return "x86";
        }
        return arch;
    }
}
