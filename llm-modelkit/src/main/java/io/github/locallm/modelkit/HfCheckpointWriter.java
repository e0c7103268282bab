package io.github.locallm.modelkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a {@link CheckpointModel} as a Hugging Face checkpoint directory, the layout {@code transformers}
 * saves and loads: {@code config.json}, {@code model.safetensors} (or shards listed in
 * {@code model.safetensors.index.json}), {@code tokenizer.json}, {@code tokenizer_config.json} and
 * {@code generation_config.json}.
 *
 * <p>Weights are stored in F32, F16 or BF16 (rounded to nearest even). The tokenizer is written as a
 * byte-level BPE {@code tokenizer.json} (GPT-2 pre-tokenizer and decoder, the three ChatML special tokens
 * as added tokens, no automatic BOS), which splits text exactly as {@link BpeTokenizer} and the GGUF that
 * {@link GgufWriter} writes. Tensors are read from the model one at a time and streamed to disk, so a lazy
 * model is written without holding it in memory. The class is stateless and thread-safe.
 *
 * <pre>{@code
 * HfCheckpointWriter.write(TinyModels.gqa(), Path.of("tiny-gqa"), HfCheckpointWriter.DType.BF16);
 * }</pre>
 */
public final class HfCheckpointWriter {

    /** How weights are stored in the safetensors files. */
    public enum DType {
        /** 32-bit float. */
        F32(4),
        /** IEEE half precision. */
        F16(2),
        /** bfloat16: the upper half of a float. */
        BF16(2);

        private final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        /** Returns the size of one element in bytes. */
        public int bytes() {
            return bytes;
        }
    }

    /** The version written into the JSON files, for tools that read it. */
    static final String TRANSFORMERS_VERSION = "4.46.0";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfCheckpointWriter() {
    }

    /**
     * Writes the model in F32 with a single {@code model.safetensors}.
     *
     * @param model the model
     * @param dir   the directory to create or fill; existing files of the same names are replaced
     * @throws IOException if a file cannot be written
     */
    public static void write(CheckpointModel model, Path dir) throws IOException {
        write(model, dir, DType.F32, Long.MAX_VALUE);
    }

    /**
     * Writes the model with a single {@code model.safetensors}.
     *
     * @param model the model
     * @param dir   the directory to create or fill
     * @param dtype how to store the weights
     * @throws IOException if a file cannot be written
     */
    public static void write(CheckpointModel model, Path dir, DType dtype) throws IOException {
        write(model, dir, dtype, Long.MAX_VALUE);
    }

    /**
     * Writes the model, splitting the weights into shards of at most {@code maxShardBytes} of tensor data
     * each (a tensor larger than that gets a shard of its own). With more than one shard the files are
     * named {@code model-00001-of-0000N.safetensors} and listed in {@code model.safetensors.index.json}.
     *
     * @param model         the model
     * @param dir           the directory to create or fill
     * @param dtype         how to store the weights
     * @param maxShardBytes the largest shard, in bytes of tensor data
     * @throws IOException if a file cannot be written
     */
    public static void write(CheckpointModel model, Path dir, DType dtype, long maxShardBytes) throws IOException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(dtype, "dtype");
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive: " + maxShardBytes);
        }
        Files.createDirectories(dir);
        writeJson(dir.resolve("config.json"), config(model, dtype));
        writeWeights(model, dir, dtype, maxShardBytes);
        writeJson(dir.resolve("tokenizer.json"), tokenizerJson(model.tokenizer()));
        writeJson(dir.resolve("tokenizer_config.json"), tokenizerConfig(model));
        writeJson(dir.resolve("generation_config.json"), generationConfig(model));
    }

    /**
     * Adds the files sentence-transformers saves with an embedding model to a checkpoint directory:
     * {@code modules.json} (a Transformer at the root, a Pooling module in {@code 1_Pooling}, and a Normalize
     * module in {@code 2_Normalize} when {@code normalize}), {@code 1_Pooling/config.json} with one flag per
     * pooling mode, and {@code sentence_bert_config.json}.
     *
     * @param dir          the checkpoint directory
     * @param hiddenSize   the model's hidden size ({@code word_embedding_dimension})
     * @param modes        pooling modes by their sentence-transformers names ({@code cls}, {@code max},
     *                     {@code mean}, {@code mean_sqrt_len_tokens}, {@code weightedmean}, {@code lasttoken})
     * @param normalize    whether a Normalize module follows the pooling
     * @param maxSeqLength {@code max_seq_length} of {@code sentence_bert_config.json}
     * @throws IOException if a file cannot be written
     * @throws IllegalArgumentException for an unknown mode
     */
    public static void writeSentenceTransformerModules(Path dir, int hiddenSize, List<String> modes, boolean normalize,
                                                       int maxSeqLength) throws IOException {
        List<String> known = List.of("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken");
        for (String m : modes) {
            if (!known.contains(m)) {
                throw new IllegalArgumentException("unknown pooling mode '" + m + "'; known: " + known);
            }
        }
        List<Map<String, Object>> modules = new ArrayList<>();
        modules.add(Map.of("idx", 0, "name", "0", "path", "", "type", "sentence_transformers.models.Transformer"));
        modules.add(Map.of("idx", 1, "name", "1", "path", "1_Pooling", "type", "sentence_transformers.models.Pooling"));
        if (normalize) {
            modules.add(Map.of("idx", 2, "name", "2", "path", "2_Normalize",
                    "type", "sentence_transformers.models.Normalize"));
            Files.createDirectories(dir.resolve("2_Normalize"));
        }
        writeJson(dir.resolve("modules.json"), modules);
        Map<String, Object> pooling = new LinkedHashMap<>();
        pooling.put("word_embedding_dimension", hiddenSize);
        pooling.put("pooling_mode_cls_token", modes.contains("cls"));
        pooling.put("pooling_mode_mean_tokens", modes.contains("mean"));
        pooling.put("pooling_mode_max_tokens", modes.contains("max"));
        pooling.put("pooling_mode_mean_sqrt_len_tokens", modes.contains("mean_sqrt_len_tokens"));
        pooling.put("pooling_mode_weightedmean_tokens", modes.contains("weightedmean"));
        pooling.put("pooling_mode_lasttoken", modes.contains("lasttoken"));
        pooling.put("include_prompt", true);
        Files.createDirectories(dir.resolve("1_Pooling"));
        writeJson(dir.resolve("1_Pooling").resolve("config.json"), pooling);
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("max_seq_length", maxSeqLength);
        st.put("do_lower_case", false);
        writeJson(dir.resolve("sentence_bert_config.json"), st);
    }

    private static void writeJson(Path file, Object value) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(value) + "\n", StandardCharsets.UTF_8);
    }

    private static boolean isQwen2(LlamaConfig c) {
        return c.architecture().equals("qwen2");
    }

    /** Returns the tensors written: the model's, plus a zero o_proj bias where Hugging Face Llama needs one. */
    private static Map<String, long[]> writtenShapes(CheckpointModel model) {
        LlamaConfig c = model.config();
        Map<String, long[]> shapes = new LinkedHashMap<>(model.shapes());
        if (!isQwen2(c) && c.attentionBias()) {
            // Hugging Face's Llama puts a bias on o_proj whenever attention_bias is set.
            for (int i = 0; i < c.numLayers(); i++) {
                shapes.put("model.layers." + i + ".self_attn.o_proj.bias", new long[] {c.hiddenSize()});
            }
        }
        return shapes;
    }

    private static float[] data(CheckpointModel model, String name, long[] shape) {
        Tensor t = model.tensors().get(name);
        return t != null ? t.data() : new float[Math.toIntExact(Tensor.elementCount(shape))];
    }

    private static Map<String, Object> config(CheckpointModel model, DType dtype) {
        LlamaConfig c = model.config();
        boolean qwen2 = isQwen2(c);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of(qwen2 ? "Qwen2ForCausalLM" : c.qkNorm() ? "Qwen3ForCausalLM" : "LlamaForCausalLM"));
        m.put("model_type", c.architecture());
        m.put("vocab_size", c.vocabSize());
        m.put("hidden_size", c.hiddenSize());
        m.put("intermediate_size", c.intermediateSize());
        m.put("num_hidden_layers", c.numLayers());
        m.put("num_attention_heads", c.numHeads());
        m.put("num_key_value_heads", c.numKvHeads());
        m.put("head_dim", c.headDim());
        m.put("hidden_act", "silu");
        m.put("max_position_embeddings", c.maxPositionEmbeddings());
        m.put("rms_norm_eps", c.rmsNormEps());
        m.put("rope_theta", c.ropeTheta());
        m.put("rope_scaling", null);
        m.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (qwen2) {
            m.put("use_sliding_window", false);
            m.put("sliding_window", c.maxPositionEmbeddings());
            m.put("max_window_layers", c.numLayers());
        } else {
            m.put("attention_bias", c.attentionBias());
            m.put("mlp_bias", false);
            m.put("pretraining_tp", 1);
        }
        m.put("attention_dropout", 0.0);
        m.put("initializer_range", 0.02);
        m.put("bos_token_id", c.bosTokenId());
        m.put("eos_token_id", c.eosTokenId());
        m.put("torch_dtype", switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        });
        m.put("use_cache", true);
        m.put("transformers_version", TRANSFORMERS_VERSION);
        return m;
    }

    private static void writeWeights(CheckpointModel model, Path dir, DType dtype, long maxShardBytes)
            throws IOException {
        Map<String, long[]> shapes = writtenShapes(model);
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long currentBytes = 0;
        long total = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = Tensor.elementCount(e.getValue()) * dtype.bytes();
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e.getKey());
            currentBytes += bytes;
            total += bytes;
        }
        shards.add(current);
        Files.deleteIfExists(dir.resolve("model.safetensors.index.json"));
        if (shards.size() == 1) {
            writeSafetensors(model, shapes, shards.get(0), dir.resolve("model.safetensors"), dtype);
            return;
        }
        Files.deleteIfExists(dir.resolve("model.safetensors"));
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeSafetensors(model, shapes, shards.get(i), dir.resolve(file), dtype);
            for (String name : shards.get(i)) {
                weightMap.put(name, file);
            }
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", total));
        index.put("weight_map", weightMap);
        writeJson(dir.resolve("model.safetensors.index.json"), index);
    }

    private static void writeSafetensors(CheckpointModel model, Map<String, long[]> shapes, List<String> names,
                                         Path file, DType dtype) throws IOException {
        writeSafetensors(name -> data(model, name, shapes.get(name)), shapes, names, file, dtype);
    }

    /**
     * Writes a checkpoint directory of any architecture from its parts: {@code config.json} as given (with
     * {@code torch_dtype} set), the tensors in a single {@code model.safetensors} in the given order, the
     * tokenizer as {@code tokenizer.json}, {@code tokenizer_config.json} as given, and a
     * {@code generation_config.json} with the config's {@code bos_token_id} and {@code eos_token_id} and
     * greedy decoding.
     *
     * @param dir             the directory to create or fill
     * @param config          the {@code config.json} content
     * @param tensors         the tensors by Hugging Face name
     * @param tokenizer       the tokenizer
     * @param tokenizerConfig the {@code tokenizer_config.json} content
     * @param dtype           how to store the weights
     * @throws IOException if a file cannot be written
     */
    public static void writeCustom(Path dir, Map<String, Object> config, Map<String, Tensor> tensors,
                                   BpeTokenizer tokenizer, Map<String, Object> tokenizerConfig, DType dtype)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(tokenizerConfig, "tokenizerConfig");
        Objects.requireNonNull(dtype, "dtype");
        Files.createDirectories(dir);
        Map<String, Object> c = new LinkedHashMap<>(config);
        c.put("torch_dtype", switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        });
        writeJson(dir.resolve("config.json"), c);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors.forEach((name, t) -> shapes.put(name, t.shape()));
        Files.deleteIfExists(dir.resolve("model.safetensors.index.json"));
        writeSafetensors(name -> tensors.get(name).data(), shapes, new ArrayList<>(shapes.keySet()),
                dir.resolve("model.safetensors"), dtype);
        writeJson(dir.resolve("tokenizer.json"), tokenizerJson(tokenizer));
        writeJson(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("bos_token_id", config.get("bos_token_id"));
        g.put("eos_token_id", config.get("eos_token_id"));
        g.put("do_sample", false);
        g.put("transformers_version", TRANSFORMERS_VERSION);
        writeJson(dir.resolve("generation_config.json"), g);
    }

    private static void writeSafetensors(java.util.function.Function<String, float[]> source,
                                         Map<String, long[]> shapes, List<String> names, Path file, DType dtype)
            throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (String name : names) {
            long[] shape = shapes.get(name);
            long bytes = Tensor.elementCount(shape) * dtype.bytes();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", dtype.name());
            entry.put("shape", shape);
            entry.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(name, entry);
            offset += bytes;
        }
        byte[] json = new ObjectMapper().writeValueAsBytes(header);
        // The header is padded with spaces so the data starts 8-byte aligned.
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (String name : names) {
                for (float f : source.apply(name)) {
                    if (buf.remaining() < 4) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    switch (dtype) {
                        case F32 -> buf.putFloat(f);
                        case F16 -> buf.putShort(toHalf(f));
                        case BF16 -> buf.putShort(toBfloat16(f));
                        default -> throw new AssertionError(dtype);
                    }
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
    }

    /**
     * Rounds a float to bfloat16, to nearest even.
     *
     * @param f the value
     * @return the 16 bits
     */
    public static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /**
     * Rounds a float to IEEE half precision, to nearest even; values beyond the half range become infinity.
     *
     * @param f the value
     * @return the 16 bits
     */
    public static short toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            // Subnormal half: shift the mantissa (with its implicit bit) into place, rounding to nearest even.
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rest = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }

    /** Returns the Hugging Face tokenizers description of a byte-level BPE tokenizer. */
    static Map<String, Object> tokenizerJson(BpeTokenizer tok) {
        Map<String, Object> byteLevel = new LinkedHashMap<>();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", true);
        Map<String, Object> postProcessor = new LinkedHashMap<>(byteLevel);
        postProcessor.put("trim_offsets", false);

        List<Map<String, Object>> added = new ArrayList<>();
        for (Map.Entry<String, Integer> s : tok.specialTokens().entrySet()) {
            added.add(addedToken(s.getValue(), s.getKey()));
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> tokens = tok.tokens();
        for (int i = 0; i < tokens.size(); i++) {
            vocab.put(tokens.get(i), i);
        }
        List<String> merges = new ArrayList<>();
        for (String[] m : tok.merges()) {
            merges.add(m[0] + " " + m[1]);
        }
        Map<String, Object> bpe = new LinkedHashMap<>();
        bpe.put("type", "BPE");
        bpe.put("dropout", null);
        bpe.put("unk_token", null);
        bpe.put("continuing_subword_prefix", null);
        bpe.put("end_of_word_suffix", null);
        bpe.put("fuse_unk", false);
        bpe.put("byte_fallback", false);
        bpe.put("ignore_merges", false);
        bpe.put("vocab", vocab);
        bpe.put("merges", merges);

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", "1.0");
        m.put("truncation", null);
        m.put("padding", null);
        m.put("added_tokens", added);
        m.put("normalizer", null);
        m.put("pre_tokenizer", byteLevel);
        m.put("post_processor", postProcessor);
        m.put("decoder", byteLevel);
        m.put("model", bpe);
        return m;
    }

    private static Map<String, Object> addedToken(int id, String content) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
        return t;
    }

    private static Map<String, Object> tokenizerConfig(CheckpointModel model) {
        LlamaConfig c = model.config();
        BpeTokenizer tok = model.tokenizer();
        Map<String, Object> decoder = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> s : tok.specialTokens().entrySet()) {
            Map<String, Object> t = addedToken(s.getValue(), s.getKey());
            t.remove("id");
            decoder.put(Integer.toString(s.getValue()), t);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("add_bos_token", false);
        m.put("add_eos_token", false);
        m.put("added_tokens_decoder", decoder);
        m.put("additional_special_tokens", List.of(BpeTokenizer.IM_START, BpeTokenizer.IM_END));
        m.put("bos_token", tok.tokens().get(c.bosTokenId()));
        m.put("eos_token", tok.tokens().get(c.eosTokenId()));
        m.put("pad_token", BpeTokenizer.END_OF_TEXT);
        m.put("unk_token", null);
        m.put("chat_template", model.chatTemplate());
        m.put("clean_up_tokenization_spaces", false);
        m.put("errors", "replace");
        m.put("model_max_length", c.maxPositionEmbeddings());
        m.put("split_special_tokens", false);
        m.put("tokenizer_class", "PreTrainedTokenizerFast");
        return m;
    }

    private static Map<String, Object> generationConfig(CheckpointModel model) {
        LlamaConfig c = model.config();
        List<Integer> eos = new ArrayList<>();
        eos.add(c.eosTokenId());
        int endOfText = model.tokenizer().tokenId(BpeTokenizer.END_OF_TEXT);
        if (endOfText >= 0 && endOfText != c.eosTokenId()) {
            eos.add(endOfText);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token_id", c.bosTokenId());
        m.put("eos_token_id", eos);
        m.put("pad_token_id", endOfText >= 0 ? endOfText : c.eosTokenId());
        m.put("do_sample", false);
        m.put("max_new_tokens", 256);
        m.put("transformers_version", TRANSFORMERS_VERSION);
        return m;
    }
}
