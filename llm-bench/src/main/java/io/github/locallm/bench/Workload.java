package io.github.locallm.bench;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.Tensor;
import io.github.locallm.modelkit.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Map;

/**
 * The benchmark workload: one seeded random Llama model written as F32 GGUF, Q8_0 GGUF and an F32 Hugging Face
 * checkpoint (the same weights) into a temporary directory that {@link #close()} deletes.
 */
final class Workload implements AutoCloseable {
    final Path dir;
    final LlamaConfig config;
    final Path ggufF32;
    final Path ggufQ8;
    final Path hfF32;
    final Path hfF16;
    final double writeSeconds;
    final boolean keep;
    private final Map<Path, Long> sizes = new java.util.HashMap<>();

    private Workload(Path dir, LlamaConfig config, Path f32, Path q8, Path hf, Path hf16, double writeSeconds,
                     boolean keep) {
        this.dir = dir;
        this.config = config;
        this.ggufF32 = f32;
        this.ggufQ8 = q8;
        this.hfF32 = hf;
        this.hfF16 = hf16;
        this.writeSeconds = writeSeconds;
        this.keep = keep;
        for (Path p : new Path[] {f32, q8, hf, hf16}) {
            sizes.put(p, size(p));
        }
    }

    /**
     * Returns the model of a full run (about 200M parameters) or of a smoke run (a few million).
     *
     * <p>The output rows of the special tokens are zero, so their logit is 0 while the largest of the others is
     * a few units: greedy decoding never ends a turn early and every request generates exactly its maximum
     * number of tokens, through the raw binding and through every backend alike (none of them has to be told
     * to ignore the end-of-turn token). The rows of the tokens whose bytes are not whole UTF-8 text on their own
     * (single bytes from 0x80 up, pieces of a multi-byte character) are zero too: every generated token is then
     * a piece of text of its own, so a streamed piece marks the time of its token exactly. Otherwise a side that
     * streams text holds such a token back until the next one completes or rules out its character, and its
     * time to first token would include one more decode step than that of the C driver, which times the token.
     */
    static CheckpointModel model(boolean full) {
        BpeTokenizer tok = TinyModels.tokenizer();
        LlamaConfig config = TinyModels.benchmarkConfig();
        if (!full) {
            config = new LlamaConfig("llama", tok.size(), 256, 704, 4, 8, 2, 10000.0, 1e-5, 4096,
                    false, false, config.bosTokenId(), config.eosTokenId());
        }
        return withoutSpecialTokens(TinyModels.randomLazy(config, tok, TinyModels.DEFAULT_SEED), config, tok);
    }

    private static CheckpointModel withoutSpecialTokens(CheckpointModel base, LlamaConfig config, BpeTokenizer tok) {
        int hidden = config.hiddenSize();
        return CheckpointModel.lazy(config, tok, name -> {
            float[] data = base.tensors().get(name).data();
            if (name.equals("lm_head.weight")) {
                for (int id = 0; id < tok.size(); id++) {
                    if (tok.isSpecial(id) || tok.decode(new int[] {id}).indexOf('\uFFFD') >= 0) {
                        Arrays.fill(data, id * hidden, (id + 1) * hidden, 0f);
                    }
                }
            }
            return data;
        }, base.chatTemplate());
    }

    /** Writes the three files of the model into a new temporary directory under {@code parent}. */
    static Workload write(CheckpointModel model, Path parent) throws IOException {
        Files.createDirectories(parent);
        Path dir = Files.createTempDirectory(parent, "bench-model-");
        // An interrupted run (Ctrl-C) still removes its gigabytes of model files.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "bench-workload-cleanup"));
        return write(model, dir, false);
    }

    /**
     * Writes the model into {@code dir}, or reuses the files a previous call left there when {@code keep} is
     * set (for development runs; a kept directory is not deleted).
     */
    static Workload write(CheckpointModel model, Path dir, boolean keep) throws IOException {
        Files.createDirectories(dir);
        long t0 = System.nanoTime();
        Path f32 = dir.resolve("bench-f32.gguf");
        Path q8 = dir.resolve("bench-q8_0.gguf");
        Path hf = dir.resolve("bench-hf-f32");
        Path hf16 = dir.resolve("bench-hf-f16");
        Path done = dir.resolve("complete");
        if (keep && Files.exists(done)) {
            return new Workload(dir, model.config(), f32, q8, hf, hf16, 0, true);
        }
        try {
            GgufWriter.write(model, f32, GgufWriter.Quantization.F32);
            GgufWriter.write(model, q8, GgufWriter.Quantization.Q8_0);
            HfCheckpointWriter.write(model, hf, HfCheckpointWriter.DType.F32);
            HfCheckpointWriter.write(model, hf16, HfCheckpointWriter.DType.F16);
            Files.writeString(done, "ok");
            return new Workload(dir, model.config(), f32, q8, hf, hf16, (System.nanoTime() - t0) / 1e9, keep);
        } catch (IOException | RuntimeException e) {
            if (!keep) {
                delete(dir);
            }
            throw e;
        }
    }

    /**
     * Returns the bytes of weights one decoding step reads: every matrix once, plus one row of the token
     * embedding (a lookup, not a product).
     *
     * @param q8 whether the matrices are Q8_0 (34 bytes per 32 values) rather than F32
     */
    /** Weight bytes one decoded token reads from an F16 checkpoint: every matrix once, one embedding row. */
    long weightBytesPerTokenF16() {
        return weightBytesPerToken(false) / 2;
    }

    long weightBytesPerToken(boolean q8) {
        long total = 0;
        for (Map.Entry<String, long[]> e : CheckpointModel.expectedShapes(config).entrySet()) {
            long[] shape = e.getValue();
            long n = Tensor.elementCount(shape);
            boolean quantized = q8 && shape.length == 2 && shape[1] % 32 == 0;
            long bytes = quantized ? n / 32 * 34 : n * 4;
            if (e.getKey().equals("model.embed_tokens.weight")) {
                bytes = bytes / shape[0];
            }
            total += bytes;
        }
        return total;
    }

    long fileBytes(Path p) {
        return sizes.getOrDefault(p, -1L);
    }

    private static long size(Path p) {
        try {
            if (Files.isDirectory(p)) {
                try (var s = Files.list(p)) {
                    return s.mapToLong(f -> f.toFile().length()).sum();
                }
            }
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Returns a prompt of about {@code tokens} tokens of the model's tokenizer whose first tokens depend on
     * {@code variant}, so that no two requests share a cached prefix.
     */
    static String prompt(int tokens, int variant) {
        BpeTokenizer tok = TinyModels.tokenizer();
        StringBuilder sb = new StringBuilder();
        sb.append(variant).append(' ').append((char) ('A' + variant % 26)).append(". ");
        String[] lines = TinyModels.CORPUS.split("\n");
        int i = variant;
        // Text grows geometrically and is encoded once per size, so long prompts (8,192 tokens) cost little.
        int chars = tokens * 4;
        while (true) {
            while (sb.length() < chars) {
                sb.append(lines[Math.floorMod(i++, lines.length)]).append(' ');
            }
            int[] ids = tok.encode(sb.toString());
            if (ids.length >= tokens) {
                return tok.decode(Arrays.copyOf(ids, tokens)).strip();
            }
            chars *= 2;
        }
    }

    /**
     * Returns the model of the scaling curves: the same family and tokenizer, 8 layers of width 512 (about 25M
     * parameters) and a trained context of 16,384 positions, small enough that a prompt of 8,192 tokens takes
     * seconds rather than minutes on two cores, and large enough that its weights and KV cache do not fit in the
     * fastest caches. Special tokens and tokens that are not whole text never win, as in {@link #model}.
     */
    static CheckpointModel scalingModel() {
        BpeTokenizer tok = TinyModels.tokenizer();
        LlamaConfig base = TinyModels.benchmarkConfig();
        LlamaConfig config = new LlamaConfig("llama", tok.size(), 512, 1408, 8, 8, 2, 10000.0, 1e-5, 16384,
                false, false, base.bosTokenId(), base.eosTokenId());
        return withoutSpecialTokens(TinyModels.randomLazy(config, tok, TinyModels.DEFAULT_SEED + 1), config, tok);
    }

    /** Returns the user message of chat turn {@code turn} (1-based), about 30 tokens. */
    static String chatMessage(int turn) {
        String[] lines = TinyModels.CORPUS.split("\n");
        return "Turn " + turn + ": " + lines[(turn * 3) % lines.length];
    }

    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }

    @Override
    public void close() {
        if (!keep) {
            delete(dir);
        }
    }
}
