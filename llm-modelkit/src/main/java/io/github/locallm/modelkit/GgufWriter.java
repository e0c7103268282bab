package io.github.locallm.modelkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a {@link CheckpointModel} as a GGUF version 3 file that llama.cpp loads: architecture and
 * tokenizer metadata, the chat template, and F32 or Q8_0 tensors.
 *
 * <p>With {@link Quantization#Q8_0}, 2-D weights whose rows are a multiple of 32 long are stored as Q8_0,
 * everything else as F32. For the {@code llama} architecture the q and k projections are permuted from
 * Hugging Face's rotate-half layout to llama.cpp's interleaved RoPE layout; {@code qwen2} and {@code qwen3}
 * (whose per-head q/k norms are written as {@code attn_q_norm} / {@code attn_k_norm}) use the rotate-half
 * layout natively and are written as is. Tensors are read from the model one at a time and streamed to disk,
 * so a lazy model of hundreds of millions of parameters is written without holding it in memory.
 * The class is stateless and thread-safe.
 *
 * <pre>{@code
 * GgufWriter.write(TinyModels.llama(), Path.of("tiny.gguf"), GgufWriter.Quantization.Q8_0);
 * }</pre>
 */
public final class GgufWriter {

    /** How weights are stored. */
    public enum Quantization {
        /** Every tensor as 32-bit float. */
        F32,
        /** 2-D weights with rows a multiple of 32 as Q8_0 (8-bit, one F16 scale per 32 values), the rest F32. */
        Q8_0,
        /** 2-D weights as IEEE half precision (F16), the rest F32. */
        F16
    }

    /** The GGUF magic, "GGUF" read as a little-endian 32-bit integer. */
    public static final int MAGIC = 0x46554747;
    /** The GGUF version written. */
    public static final int VERSION = 3;
    /** The tensor data alignment. */
    public static final int ALIGNMENT = 32;

    private static final int TYPE_U8 = 0;
    private static final int TYPE_U32 = 4;
    private static final int TYPE_I32 = 5;
    private static final int TYPE_F32 = 6;
    private static final int TYPE_BOOL = 7;
    private static final int TYPE_STRING = 8;
    private static final int TYPE_ARRAY = 9;
    private static final int GGML_F32 = 0;
    private static final int GGML_Q8_0 = 8;
    private static final int GGML_F16 = 1;
    private static final int TOKEN_NORMAL = 1;
    private static final int TOKEN_CONTROL = 3;

    private GgufWriter() {
    }

    /**
     * Writes the model.
     *
     * @param model        the model
     * @param out          the file to create or replace
     * @param quantization how to store the weights
     * @throws IOException if the file cannot be written
     */
    public static void write(CheckpointModel model, Path out, Quantization quantization) throws IOException {
        write(model, out, quantization, Map.of());
    }

    /**
     * Writes the model with some metadata overridden, for example to test a reader's handling of a missing
     * chat template or a large context length.
     *
     * @param model        the model
     * @param out          the file to create or replace
     * @param quantization how to store the weights
     * @param overrides    metadata to add or replace: values are {@code String}, {@code Integer} (written as
     *                     uint32), {@code Float}, {@code Boolean}, {@code int[]} (int32 array), {@code float[]}
     *                     (float32 array), a {@code List} (string array), or {@code null} to leave the key out
     * @throws IOException if the file cannot be written
     */
    public static void write(CheckpointModel model, Path out, Quantization quantization,
                             Map<String, ?> overrides) throws IOException {
        write(model, out, quantization, overrides, List.of());
    }

    /**
     * Writes the model with some metadata overridden and extra tensors after the model's own, for example a
     * classifier head ({@code cls.output.weight}) that turns a decoder into a reranker.
     *
     * @param model        the model
     * @param out          the file to create or replace
     * @param quantization how to store the model's weights; extra tensors are written as F32
     * @param overrides    metadata to add or replace, as for {@link #write(CheckpointModel, Path, Quantization, Map)}
     * @param extra        tensors named by their GGUF name (for example {@code cls.output.weight}), shape
     *                     outermost first as in {@link Tensor}
     * @throws IOException if the file cannot be written
     */
    public static void write(CheckpointModel model, Path out, Quantization quantization,
                             Map<String, ?> overrides, List<Tensor> extra) throws IOException {
        Objects.requireNonNull(extra, "extra");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(quantization, "quantization");
        Map<String, Object> meta = metadata(model, quantization);
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            if (e.getValue() == null) {
                meta.remove(e.getKey());
            } else {
                meta.put(e.getKey(), e.getValue());
            }
        }
        List<TensorInfo> infos = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, long[]> e : model.shapes().entrySet()) {
            long[] shape = e.getValue();
            long rowLength = shape[shape.length - 1];
            int type = quantization == Quantization.Q8_0 && shape.length == 2 && rowLength % 32 == 0
                    ? GGML_Q8_0 : quantization == Quantization.F16 && shape.length == 2 ? GGML_F16 : GGML_F32;
            long elements = Tensor.elementCount(shape);
            long bytes = type == GGML_Q8_0 ? elements / 32 * 34 : type == GGML_F16 ? elements * 2 : elements * 4;
            infos.add(new TensorInfo(e.getKey(), ggufName(e.getKey()), shape, type, offset, bytes));
            offset = align(offset + bytes);
        }
        Map<String, float[]> extraData = new LinkedHashMap<>();
        for (Tensor t : extra) {
            if (extraData.put(t.name(), t.data()) != null) {
                throw new IllegalArgumentException("extra tensor " + t.name() + " is given twice");
            }
            long bytes = Tensor.elementCount(t.shape()) * 4;
            infos.add(new TensorInfo(null, t.name(), t.shape(), GGML_F32, offset, bytes));
            offset = align(offset + bytes);
        }
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
             Sink sink = new Sink(ch)) {
            sink.u32(MAGIC);
            sink.u32(VERSION);
            sink.u64(infos.size());
            sink.u64(meta.size());
            for (Map.Entry<String, Object> e : meta.entrySet()) {
                sink.string(e.getKey());
                sink.value(e.getValue());
            }
            for (TensorInfo t : infos) {
                sink.string(t.ggufName);
                sink.u32(t.shape.length);
                for (int i = t.shape.length - 1; i >= 0; i--) {
                    sink.u64(t.shape[i]);
                }
                sink.u32(t.type);
                sink.u64(t.offset);
            }
            sink.pad();
            LlamaConfig c = model.config();
            for (TensorInfo t : infos) {
                float[] data = t.hfName == null ? extraData.get(t.ggufName) : model.tensors().get(t.hfName).data();
                if (t.hfName != null && c.architecture().equals("llama")) {
                    if (t.hfName.contains("self_attn.q_proj.")) {
                        data = permuteRope(data, c.numHeads(), c.headDim());
                    } else if (t.hfName.contains("self_attn.k_proj.")) {
                        data = permuteRope(data, c.numKvHeads(), c.headDim());
                    }
                }
                if (t.type == GGML_Q8_0) {
                    sink.q8(data);
                } else if (t.type == GGML_F16) {
                    for (float f : data) {
                        sink.u16((short) halfBits(ReferenceForward.toHalfPrecision(f)));
                    }
                } else {
                    for (float f : data) {
                        sink.f32(f);
                    }
                }
                sink.pad();
            }
        }
    }

    /**
     * Writes a preset from the command line, for benchmarks and demos.
     *
     * <pre>{@code
     * java -cp llm-modelkit.jar io.github.locallm.modelkit.GgufWriter bench.gguf benchmark Q8_0
     * }</pre>
     *
     * @param args the output file, a preset ({@code llama}, {@code gqa}, {@code qwen2Bias}, {@code tied}, {@code qwen3} or
     *             {@code benchmark}, the default) and a quantization ({@code F32} or {@code Q8_0}, the default)
     * @throws IOException if the file cannot be written
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 3) {
            System.err.println("usage: GgufWriter <out.gguf> [llama|gqa|qwen2Bias|tied|qwen3|benchmark] [F32|Q8_0]");
            System.exit(2);
        }
        String preset = args.length > 1 ? args[1] : "benchmark";
        CheckpointModel model = switch (preset) {
            case "llama" -> TinyModels.llama();
            case "gqa" -> TinyModels.gqa();
            case "qwen2Bias" -> TinyModels.qwen2Bias();
            case "tied" -> TinyModels.tied();
            case "qwen3" -> TinyModels.qwen3();
            case "benchmark" -> TinyModels.benchmark();
            default -> throw new IllegalArgumentException("unknown preset: " + preset);
        };
        Quantization q = Quantization.valueOf(args.length > 2 ? args[2] : "Q8_0");
        long start = System.nanoTime();
        write(model, Path.of(args[0]), q);
        System.out.printf("wrote %s (%s, %s, %,d parameters) in %.1f s%n", args[0], preset, q,
                model.config().parameterCount(), (System.nanoTime() - start) / 1e9);
    }

    /** Returns the GGUF (llama.cpp) name of a Hugging Face tensor name. */
    public static String ggufName(String hfName) {
        if (hfName.equals("model.embed_tokens.weight")) {
            return "token_embd.weight";
        }
        if (hfName.equals("model.norm.weight")) {
            return "output_norm.weight";
        }
        if (hfName.equals("lm_head.weight")) {
            return "output.weight";
        }
        if (hfName.startsWith("model.layers.")) {
            String rest = hfName.substring("model.layers.".length());
            int dot = rest.indexOf('.');
            String layer = rest.substring(0, dot);
            String part = rest.substring(dot + 1);
            String suffix = part.substring(part.lastIndexOf('.') + 1);
            String stem = part.substring(0, part.lastIndexOf('.'));
            String mapped;
            switch (stem) {
                case "input_layernorm": mapped = "attn_norm"; break;
                case "self_attn.q_proj": mapped = "attn_q"; break;
                case "self_attn.k_proj": mapped = "attn_k"; break;
                case "self_attn.v_proj": mapped = "attn_v"; break;
                case "self_attn.o_proj": mapped = "attn_output"; break;
                case "self_attn.q_norm": mapped = "attn_q_norm"; break;
                case "self_attn.k_norm": mapped = "attn_k_norm"; break;
                case "post_attention_layernorm": mapped = "ffn_norm"; break;
                case "mlp.gate_proj": mapped = "ffn_gate"; break;
                case "mlp.up_proj": mapped = "ffn_up"; break;
                case "mlp.down_proj": mapped = "ffn_down"; break;
                default: throw new IllegalArgumentException("unknown tensor " + hfName);
            }
            return "blk." + layer + "." + mapped + "." + suffix;
        }
        throw new IllegalArgumentException("unknown tensor " + hfName);
    }

    /**
     * Reorders the rows of a q or k projection (weight or bias) from rotate-half pairs {@code (i, i + d/2)}
     * to interleaved pairs {@code (2i, 2i + 1)} within each head.
     */
    static float[] permuteRope(float[] data, int heads, int headDim) {
        int rows = heads * headDim;
        int rowLength = data.length / rows;
        float[] out = new float[data.length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int to = h * headDim + 2 * i + j;
                    int from = h * headDim + j * half + i;
                    System.arraycopy(data, from * rowLength, out, to * rowLength, rowLength);
                }
            }
        }
        return out;
    }

    private static Map<String, Object> metadata(CheckpointModel model, Quantization q) {
        LlamaConfig c = model.config();
        BpeTokenizer tok = model.tokenizer();
        String a = c.architecture();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("general.architecture", a);
        m.put("general.name", "locallm-tiny-" + a);
        m.put("general.file_type", q == Quantization.Q8_0 ? 7 : q == Quantization.F16 ? 1 : 0);
        m.put("general.alignment", ALIGNMENT);
        if (q == Quantization.Q8_0) {
            m.put("general.quantization_version", 2);
        }
        m.put(a + ".context_length", c.maxPositionEmbeddings());
        m.put(a + ".embedding_length", c.hiddenSize());
        m.put(a + ".block_count", c.numLayers());
        m.put(a + ".feed_forward_length", c.intermediateSize());
        m.put(a + ".attention.head_count", c.numHeads());
        m.put(a + ".attention.head_count_kv", c.numKvHeads());
        m.put(a + ".rope.freq_base", (float) c.ropeTheta());
        m.put(a + ".rope.dimension_count", c.headDim());
        m.put(a + ".attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
        m.put(a + ".vocab_size", c.vocabSize());
        m.put("tokenizer.ggml.model", "gpt2");
        m.put("tokenizer.ggml.pre", "gpt-2");
        m.put("tokenizer.ggml.tokens", new StringArray(tok.tokens()));
        int[] types = new int[tok.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = tok.isSpecial(i) ? TOKEN_CONTROL : TOKEN_NORMAL;
        }
        m.put("tokenizer.ggml.token_type", types);
        List<String> merges = new ArrayList<>();
        for (String[] pair : tok.merges()) {
            merges.add(pair[0] + " " + pair[1]);
        }
        m.put("tokenizer.ggml.merges", new StringArray(merges));
        m.put("tokenizer.ggml.bos_token_id", c.bosTokenId());
        m.put("tokenizer.ggml.eos_token_id", c.eosTokenId());
        m.put("tokenizer.ggml.eot_token_id", c.eosTokenId());
        m.put("tokenizer.ggml.padding_token_id", tok.tokenId(BpeTokenizer.END_OF_TEXT));
        m.put("tokenizer.ggml.add_bos_token", Boolean.FALSE);
        m.put("tokenizer.ggml.add_eos_token", Boolean.FALSE);
        m.put("tokenizer.chat_template", model.chatTemplate());
        return m;
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private record StringArray(List<String> values) {
    }

    private record TensorInfo(String hfName, String ggufName, long[] shape, int type, long offset, long bytes) {
    }

    /** A little-endian buffered writer that tracks its position for alignment. */
    private static final class Sink implements AutoCloseable {
        private final FileChannel channel;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long position;

        Sink(FileChannel channel) {
            this.channel = channel;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        private void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            buf.clear();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
            position += 1;
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
            position += 4;
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
            position += 8;
        }

        void f32(float v) throws IOException {
            room(4);
            buf.putFloat(v);
            position += 4;
        }

        void u16(short v) throws IOException {
            room(2);
            buf.putShort(v);
            position += 2;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            for (byte x : b) {
                u8(x);
            }
        }

        void value(Object v) throws IOException {
            if (v instanceof String s) {
                u32(TYPE_STRING);
                string(s);
            } else if (v instanceof Integer i) {
                u32(TYPE_U32);
                u32(i);
            } else if (v instanceof Float f) {
                u32(TYPE_F32);
                f32(f);
            } else if (v instanceof Boolean b) {
                u32(TYPE_BOOL);
                u8(b ? 1 : 0);
            } else if (v instanceof int[] ints) {
                u32(TYPE_ARRAY);
                u32(TYPE_I32);
                u64(ints.length);
                for (int i : ints) {
                    u32(i);
                }
            } else if (v instanceof List<?> list) {
                u32(TYPE_ARRAY);
                u32(TYPE_STRING);
                u64(list.size());
                for (Object s : list) {
                    string(String.valueOf(s));
                }
            } else if (v instanceof float[] floats) {
                u32(TYPE_ARRAY);
                u32(TYPE_F32);
                u64(floats.length);
                for (float f : floats) {
                    f32(f);
                }
            } else if (v instanceof StringArray sa) {
                u32(TYPE_ARRAY);
                u32(TYPE_STRING);
                u64(sa.values().size());
                for (String s : sa.values()) {
                    string(s);
                }
            } else {
                throw new IllegalArgumentException("unsupported metadata value " + v.getClass().getName());
            }
        }

        void q8(float[] data) throws IOException {
            for (int block = 0; block < data.length; block += 32) {
                float amax = 0;
                for (int i = 0; i < 32; i++) {
                    amax = Math.max(amax, Math.abs(data[block + i]));
                }
                float d = amax / 127f;
                float id = d != 0 ? 1f / d : 0f;
                short half = toHalf(d);
                u16(half);
                for (int i = 0; i < 32; i++) {
                    float v = data[block + i] * id;
                    int q = (int) (v >= 0 ? Math.floor(v + 0.5f) : -Math.floor(-v + 0.5f));
                    u8(Math.max(-127, Math.min(127, q)));
                }
            }
        }

        void pad() throws IOException {
            while (position % ALIGNMENT != 0) {
                u8(0);
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

    /** Converts a float to IEEE 754 half precision, rounding to nearest even. */
    static short toHalf(float value) {
        int bits = Float.floatToIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }

    /** The IEEE half-precision bits of a float that is exactly representable as a half (see toHalfPrecision). */
    static int halfBits(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        float a = Math.abs(v);
        if (Float.isInfinite(a)) {
            return sign | 0x7C00;
        }
        if (a < 0x1p-14f) {
            return sign | Math.round(a * 0x1p24f);
        }
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        return sign | (exp << 10) | ((bits >>> 13) & 0x3FF);
    }
}
