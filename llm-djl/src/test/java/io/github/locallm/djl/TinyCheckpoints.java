package io.github.locallm.djl;

import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Writes the tiny test checkpoints once per test JVM: the modelkit presets (same weights and tokenizer as
 * the GGUF files of the llama.cpp tests) as Hugging Face checkpoint directories.
 */
final class TinyCheckpoints {

    /** A checkpoint variant: a preset and how its weights are stored. */
    enum Variant {
        LLAMA_F32(TinyModels::llama, HfCheckpointWriter.DType.F32, false),
        GQA_F32(TinyModels::gqa, HfCheckpointWriter.DType.F32, false),
        QWEN2_F32(TinyModels::qwen2Bias, HfCheckpointWriter.DType.F32, false),
        /** The QWEN2_F32 weights with QwQ's real chat template (tools, and reasoning opened by the prompt). */
        QWEN2_QWQ_F32(() -> TinyModels.qwen2Bias().withChatTemplate(sharedTemplate("Qwen-QwQ-32B.jinja")),
                HfCheckpointWriter.DType.F32, false),
        TIED_F32(TinyModels::tied, HfCheckpointWriter.DType.F32, false),
        GQA_BF16(TinyModels::gqa, HfCheckpointWriter.DType.BF16, false),
        QWEN2_F16(TinyModels::qwen2Bias, HfCheckpointWriter.DType.F16, false),
        TIED_BF16_SHARDED(TinyModels::tied, HfCheckpointWriter.DType.BF16, true);

        final Supplier<CheckpointModel> preset;
        final HfCheckpointWriter.DType dtype;
        final boolean sharded;

        Variant(Supplier<CheckpointModel> preset, HfCheckpointWriter.DType dtype, boolean sharded) {
            this.preset = preset;
            this.dtype = dtype;
            this.sharded = sharded;
        }
    }

    private static final Path ROOT;
    private static final Map<Variant, Path> DIRS = new EnumMap<>(Variant.class);
    private static final Map<Variant, CheckpointModel> MODELS = new EnumMap<>(Variant.class);

    static {
        try {
            ROOT = Files.createTempDirectory("djl-tiny-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(ROOT)));
    }

    private TinyCheckpoints() {
    }

    static synchronized CheckpointModel model(Variant v) {
        return MODELS.computeIfAbsent(v, x -> x.preset.get());
    }

    /** @return the checkpoint directory of a variant, written on first use */
    static synchronized Path dir(Variant v) {
        return DIRS.computeIfAbsent(v, x -> {
            Path dir = ROOT.resolve(x.name().toLowerCase(java.util.Locale.ROOT));
            try {
                HfCheckpointWriter.write(model(x), dir, x.dtype, x.sharded ? 40_000 : Long.MAX_VALUE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return dir;
        });
    }

    /** @return an F32 GGUF of the variant's preset, the file the llama.cpp backend reads */
    static synchronized Path gguf(Variant v) {
        Path file = ROOT.resolve(v.name().toLowerCase(java.util.Locale.ROOT) + ".gguf");
        if (!Files.exists(file)) {
            try {
                GgufWriter.write(model(v), file, GgufWriter.Quantization.F32);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }

    private static final Map<Variant, Path> EMBEDDING_DIRS = new EnumMap<>(Variant.class);

    /**
     * @return a copy of the variant's directory with the sentence-transformers files of a last-token,
     *     L2-normalised embedding model, written on first use
     */
    static synchronized Path embeddingDir(Variant v) {
        return EMBEDDING_DIRS.computeIfAbsent(v, x -> {
            Path dir = copy(x, "embedding-" + x.name().toLowerCase(java.util.Locale.ROOT));
            try {
                HfCheckpointWriter.writeSentenceTransformerModules(dir, model(x).config().hiddenSize(),
                        java.util.List.of("lasttoken"), true, 512);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return dir;
        });
    }

    /**
     * Copies a variant's directory so that a test can damage the copy.
     *
     * @param v the variant
     * @param name a name for the copy
     * @return the copy
     */
    static Path copy(Variant v, String name) {
        Path src = dir(v);
        Path dst = ROOT.resolve("copy-" + name);
        try {
            delete(dst);
            Files.createDirectories(dst);
            try (Stream<Path> files = Files.list(src)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.copy(f, dst.resolve(f.getFileName()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dst;
    }

    /** @return a published chat template from the shared test material ({@code locallm.shared.dir}) */
    static String sharedTemplate(String file) {
        try {
            return Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates", file),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

        private static void delete(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> all = Files.walk(p)) {
            all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // Best effort: a leftover temp directory is harmless.
        }
    }
}
