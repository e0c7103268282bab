package io.github.locallm.demo;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.LlamaConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF file written for the demo model back into Hugging Face tensors, a tokenizer and a config,
 * independently of the writer: F32 and Q8_0 tensors are decoded from the bytes, and the q/k rows are put
 * back from llama.cpp's interleaved RoPE order into the rotate-half order.
 */
final class GgufModel {

    final LlamaConfig config;
    final BpeTokenizer tokenizer;
    final Map<String, float[]> tensors;
    final boolean quantized;
    final Map<String, Object> metadata;

    private GgufModel(LlamaConfig config, BpeTokenizer tokenizer, Map<String, float[]> tensors, boolean quantized,
                      Map<String, Object> metadata) {
        this.config = config;
        this.tokenizer = tokenizer;
        this.tensors = tensors;
        this.quantized = quantized;
        this.metadata = metadata;
    }

    static GgufModel read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt() != GgufWriter.MAGIC) {
            throw new IOException("not a GGUF file: " + file);
        }
        int version = b.getInt();
        if (version != 3) {
            throw new IOException("unexpected GGUF version " + version);
        }
        long tensorCount = b.getLong();
        long kvCount = b.getLong();
        Map<String, Object> meta = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(b);
            meta.put(key, value(b, b.getInt()));
        }
        record Info(String name, long[] dims, int type, long offset) {
        }
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = string(b);
            int nDims = b.getInt();
            long[] dims = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = b.getLong();
            }
            infos.add(new Info(name, dims, b.getInt(), b.getLong()));
        }
        long alignment = ((Number) meta.getOrDefault("general.alignment", 32)).longValue();
        long dataStart = (b.position() + alignment - 1) / alignment * alignment;

        String arch = (String) meta.get("general.architecture");
        @SuppressWarnings("unchecked")
        List<Object> tokenList = (List<Object>) meta.get("tokenizer.ggml.tokens");
        @SuppressWarnings("unchecked")
        List<Object> mergeList = (List<Object>) meta.get("tokenizer.ggml.merges");
        List<String> tokens = new ArrayList<>();
        tokenList.forEach(t -> tokens.add((String) t));
        List<String[]> merges = new ArrayList<>();
        mergeList.forEach(m -> merges.add(((String) m).split(" ", 2)));
        BpeTokenizer tokenizer = BpeTokenizer.of(tokens, merges);
        int hidden = intValue(meta, arch + ".embedding_length");
        int heads = intValue(meta, arch + ".attention.head_count");
        int kvHeads = intValue(meta, arch + ".attention.head_count_kv");
        boolean tied = infos.stream().noneMatch(t -> t.name().equals("output.weight"));
        LlamaConfig config = new LlamaConfig(arch, tokens.size(), hidden, intValue(meta, arch + ".feed_forward_length"),
                intValue(meta, arch + ".block_count"), heads, kvHeads,
                ((Number) meta.get(arch + ".rope.freq_base")).doubleValue(),
                ((Number) meta.get(arch + ".attention.layer_norm_rms_epsilon")).doubleValue(),
                intValue(meta, arch + ".context_length"), tied, false,
                intValue(meta, "tokenizer.ggml.bos_token_id"), intValue(meta, "tokenizer.ggml.eos_token_id"));

        Map<String, String> hfNames = new HashMap<>();
        for (String hf : CheckpointModel.expectedShapes(config).keySet()) {
            hfNames.put(GgufWriter.ggufName(hf), hf);
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        boolean quantized = false;
        for (Info info : infos) {
            long count = 1;
            for (long d : info.dims()) {
                count *= d;
            }
            float[] data = new float[(int) count];
            ByteBuffer at = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            at.position((int) (dataStart + info.offset()));
            switch (info.type()) {
                case 0 -> {
                    for (int i = 0; i < data.length; i++) {
                        data[i] = at.getFloat();
                    }
                }
                case 8 -> {
                    quantized = true;
                    for (int block = 0; block < data.length / 32; block++) {
                        float scale = halfToFloat(at.getShort());
                        for (int i = 0; i < 32; i++) {
                            data[block * 32 + i] = at.get() * scale;
                        }
                    }
                }
                default -> throw new IOException("unexpected tensor type " + info.type() + " for " + info.name());
            }
            String hf = hfNames.get(info.name());
            if (hf == null) {
                throw new IOException("unexpected tensor " + info.name());
            }
            int rowLength = (int) info.dims()[0];
            if (arch.equals("llama") && hf.endsWith("q_proj.weight")) {
                data = unpermute(data, heads, config.headDim(), rowLength);
            } else if (arch.equals("llama") && hf.endsWith("k_proj.weight")) {
                data = unpermute(data, kvHeads, config.headDim(), rowLength);
            }
            tensors.put(hf, data);
        }
        return new GgufModel(config, tokenizer, tensors, quantized, meta);
    }

    /** Interleaved pairs (2i, 2i + 1) back to rotate-half pairs (i, i + d/2) within each head. */
    private static float[] unpermute(float[] data, int heads, int headDim, int rowLength) {
        float[] out = new float[data.length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int from = h * headDim + 2 * i + j;
                    int to = h * headDim + j * half + i;
                    System.arraycopy(data, from * rowLength, out, to * rowLength, rowLength);
                }
            }
        }
        return out;
    }

    private static int intValue(Map<String, Object> meta, String key) {
        Object v = meta.get(key);
        if (v == null) {
            throw new IllegalStateException("GGUF metadata lacks " + key);
        }
        return ((Number) v).intValue();
    }

    private static String string(ByteBuffer b) {
        byte[] bytes = new byte[(int) b.getLong()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 0, 1 -> (int) b.get();
            case 2, 3 -> (int) b.getShort();
            case 4, 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> string(b);
            case 9 -> {
                int elementType = b.getInt();
                long n = b.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    list.add(value(b, elementType));
                }
                yield list;
            }
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalStateException("unknown GGUF value type " + type);
        };
    }

    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0) {
            return (sign == 0 ? 1 : -1) * mantissa * (float) Math.pow(2, -24);
        }
        if (exponent == 31) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
