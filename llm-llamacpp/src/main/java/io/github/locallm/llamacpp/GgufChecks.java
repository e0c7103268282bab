package io.github.locallm.llamacpp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks of a GGUF file's content that llama.cpp trusts, made in Java before any byte reaches native code
 * (each of these, left to llama.cpp, has crashed the process, aborted it, or loaded a model that answers
 * garbage): the tensor table against the data it describes, the architecture's counts and norms, the
 * tokenizer arrays, the special token ids, and the chat template's size and nesting. Every failure names the
 * key or tensor and the bad value.
 */
final class GgufChecks {

    /** GGUF metadata value types. */
    private static final int UINT32 = 4;
    private static final int INT32 = 5;
    private static final int FLOAT32 = 6;
    private static final int STRING = 8;
    private static final int GGML_BF16 = 30;
    /** The most layers a model may declare. */
    private static final long MAX_LAYERS = 4096;
    /** The most characters of a chat template, from the GGUF or given by the user. */
    static final int MAX_TEMPLATE_CHARS = 1 << 20;
    /** The deepest nesting of blocks or brackets in a chat template. */
    static final int MAX_TEMPLATE_DEPTH = 64;
    private static final Pattern BLOCK = Pattern.compile("\\{%-?\\s*(end)?(if|for|macro|call|filter|raw|generation|set)\\b([^%]*)%\\}");

    private GgufChecks() {
    }

    /**
     * The tensor table must describe the data exactly: every tensor inside the file, none overlapping, and,
     * when every type's size is known, the tensors tiling the data section to the end of the file (a table
     * that lists fewer tensors than the data holds shifts every offset and is caught here).
     */
    static void tensorData(List<GgufFile.TensorInfo> infos, long dataStart, long fileSize, long alignment)
            throws GgufFile.GgufException {
        if (dataStart > fileSize) {
            throw new GgufFile.GgufException("it is truncated: the tensor data would start at byte " + dataStart
                    + " but the file has " + fileSize);
        }
        boolean allSized = true;
        List<GgufFile.TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(GgufFile.TensorInfo::offset));
        long end = 0;
        String previous = null;
        for (GgufFile.TensorInfo t : sorted) {
            if (t.bytes() < 0) {
                allSized = false;
                if (dataStart + t.offset() > fileSize) {
                    throw new GgufFile.GgufException("it is truncated: tensor " + t.name() + " starts at byte "
                            + (dataStart + t.offset()) + " but the file has " + fileSize);
                }
                continue;
            }
            long tensorEnd = Math.addExact(Math.addExact(dataStart, t.offset()), t.bytes());
            if (tensorEnd > fileSize) {
                throw new GgufFile.GgufException("it is truncated: tensor data needs " + tensorEnd
                        + " bytes but the file has " + fileSize + " (tensor " + t.name() + ")");
            }
            if (previous != null && t.offset() < end) {
                throw new GgufFile.GgufException("tensor " + t.name() + " at offset " + t.offset() + " overlaps tensor "
                        + previous + ", which ends at offset " + end);
            }
            if (allSized && previous != null && t.offset() != align(end, alignment)) {
                throw new GgufFile.GgufException("tensor " + t.name() + " starts at offset " + t.offset()
                        + " but the tensor before it (" + previous + ") ends at " + end + ": the tensor table does"
                        + " not describe the data (tensor_count " + infos.size() + " may not match the tensors stored)");
            }
            end = Math.addExact(t.offset(), t.bytes());
            previous = t.name();
        }
        if (allSized && !sorted.isEmpty()) {
            long dataEnd = dataStart + end;
            if (sorted.get(0).offset() != 0 || fileSize - dataEnd >= alignment) {
                throw new GgufFile.GgufException("the tensor table describes " + end + " bytes of data from byte "
                        + dataStart + ", but the file holds " + (fileSize - dataStart) + ": tensor_count ("
                        + infos.size() + ") or the tensor entries do not match the data stored");
            }
        }
    }

    private static long align(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    /** The architecture's counts and norms, the tokenizer arrays, the special tokens and the chat template. */
    static void metadata(GgufFile f) throws GgufFile.GgufException {
        Map<String, Object> m = f.metadata;
        String arch = f.architecture();
        if (!(m.get("general.architecture") instanceof String)) {
            throw new GgufFile.GgufException("general.architecture is missing or not a string: "
                    + m.get("general.architecture"));
        }
        Object blocks = m.get(arch + ".block_count");
        if (blocks != null) {
            if (!(blocks instanceof Long n) || n < 1 || n > MAX_LAYERS) {
                throw new GgufFile.GgufException(arch + ".block_count must be an integer in [1, " + MAX_LAYERS
                        + "]: " + blocks);
            }
            for (GgufFile.TensorInfo t : f.tensorInfos()) {
                if (t.name().startsWith("blk.")) {
                    int dot = t.name().indexOf('.', 4);
                    long layer = dot > 4 ? parse(t.name().substring(4, dot)) : -1;
                    if (layer < 0 || layer >= n) {
                        throw new GgufFile.GgufException("tensor " + t.name() + " belongs to no layer of the "
                                + n + " that " + arch + ".block_count declares");
                    }
                }
            }
        }
        for (String suffix : List.of(".attention.layer_norm_rms_epsilon", ".attention.layer_norm_epsilon")) {
            Object eps = m.get(arch + suffix);
            if (eps != null && (!(eps instanceof Double d) || !Double.isFinite(d) || d <= 0 || d >= 1)) {
                throw new GgufFile.GgufException(arch + suffix + " must be a finite number in (0, 1): " + eps);
            }
        }
        for (String suffix : List.of(".embedding_length", ".attention.head_count", ".context_length",
                ".feed_forward_length", ".attention.key_length", ".attention.value_length")) {
            Object v = m.get(arch + suffix);
            if (v instanceof Long n && (n < 0 || n > (1L << 24))) {
                throw new GgufFile.GgufException(arch + suffix + " is implausible: " + n);
            }
        }
        Object headKv = m.get(arch + ".attention.head_count_kv");
        Object head = m.get(arch + ".attention.head_count");
        if (headKv instanceof Long kv && head instanceof Long h && (kv < 1 || kv > h || h % kv != 0)) {
            throw new GgufFile.GgufException(arch + ".attention.head_count_kv must divide " + arch
                    + ".attention.head_count (" + h + "): " + kv);
        }
        tokenizer(f, arch);
        Object template = m.get("tokenizer.chat_template");
        if (template != null) {
            if (!(template instanceof String t)) {
                throw new GgufFile.GgufException("tokenizer.chat_template must be a string: " + describe(template));
            }
            String problem = templateProblem(t);
            if (problem != null) {
                throw new GgufFile.GgufException("tokenizer.chat_template " + problem);
            }
        }
    }

    private static void tokenizer(GgufFile f, String arch) throws GgufFile.GgufException {
        Map<String, Object> m = f.metadata;
        Object tokens = m.get("tokenizer.ggml.tokens");
        if (tokens == null) {
            return;
        }
        if (!(tokens instanceof List<?> list) || f.arrayType("tokenizer.ggml.tokens") != STRING) {
            throw new GgufFile.GgufException("tokenizer.ggml.tokens must be an array of strings, but it is "
                    + describeArray(f, "tokenizer.ggml.tokens"));
        }
        int vocab = list.size();
        if (vocab == 0) {
            throw new GgufFile.GgufException("tokenizer.ggml.tokens is empty");
        }
        expectArray(f, "tokenizer.ggml.token_type", INT32, vocab);
        expectArray(f, "tokenizer.ggml.scores", FLOAT32, vocab);
        expectArray(f, "tokenizer.ggml.merges", STRING, -1);
        Object declared = m.get(arch + ".vocab_size");
        if (declared instanceof Long n && n != vocab) {
            throw new GgufFile.GgufException(arch + ".vocab_size is " + n + " but tokenizer.ggml.tokens has " + vocab
                    + " tokens");
        }
        for (GgufFile.TensorInfo t : f.tensorInfos()) {
            if ((t.name().equals("token_embd.weight") || t.name().equals("output.weight")) && t.shape().length >= 2
                    && t.shape()[1] != vocab) {
                throw new GgufFile.GgufException("tensor " + t.name() + " has " + t.shape()[1] + " rows but"
                        + " tokenizer.ggml.tokens has " + vocab + " tokens");
            }
        }
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("tokenizer.ggml.") && k.endsWith("_token_id")) {
                if (!(e.getValue() instanceof Long id)) {
                    throw new GgufFile.GgufException(k + " must be an integer: " + describe(e.getValue()));
                }
                // -1 (as int32 or its uint32 form) means "none"
                if ((id < 0 || id >= vocab) && id != -1 && id != 0xFFFFFFFFL) {
                    throw new GgufFile.GgufException(k + " is " + id + ", outside the vocabulary of " + vocab
                            + " tokens");
                }
            }
        }
    }

    private static void expectArray(GgufFile f, String key, int type, int length) throws GgufFile.GgufException {
        Object v = f.metadata.get(key);
        if (v == null) {
            return;
        }
        int actual = f.arrayType(key);
        boolean typeOk = actual == type || type == INT32 && actual == UINT32;
        if (!(v instanceof List<?> list) || !typeOk) {
            throw new GgufFile.GgufException(key + " must be an array of " + typeName(type) + ", but it is "
                    + describeArray(f, key));
        }
        if (length >= 0 && list.size() != length) {
            throw new GgufFile.GgufException(key + " has " + list.size() + " entries but tokenizer.ggml.tokens has "
                    + length);
        }
        if (type == FLOAT32) {
            for (Object o : list) {
                if (!Double.isFinite((Double) o)) {
                    throw new GgufFile.GgufException(key + " holds a value that is not finite: " + o);
                }
            }
        }
    }

    private static String describeArray(GgufFile f, String key) {
        Object v = f.metadata.get(key);
        if (!(v instanceof List<?> list)) {
            return describe(v);
        }
        return "an array of " + list.size() + " " + typeName(f.arrayType(key)) + " values";
    }

    private static String describe(Object v) {
        if (v instanceof String s) {
            return "the string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        }
        return v instanceof List<?> l ? "an array of " + l.size() + " values" : String.valueOf(v);
    }

    private static String typeName(int type) {
        return switch (type) {
            case 0 -> "uint8";
            case 1 -> "int8";
            case 2 -> "uint16";
            case 3 -> "int16";
            case UINT32 -> "uint32";
            case INT32 -> "int32";
            case FLOAT32 -> "float32";
            case 7 -> "bool";
            case STRING -> "string";
            case 9 -> "array";
            case 10 -> "uint64";
            case 11 -> "int64";
            case 12 -> "float64";
            default -> "type-" + type;
        };
    }

    private static long parse(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Returns what is wrong with a chat template's size or nesting, or {@code null}: the bounds every chat
     * template gets, from a GGUF or from the user, before any parser (Java or native) sees it.
     */
    static String templateProblem(String template) {
        if (template.length() > MAX_TEMPLATE_CHARS) {
            return "is " + template.length() + " characters long, more than the " + MAX_TEMPLATE_CHARS + " allowed";
        }
        int depth = 0;
        int maxDepth = 0;
        Matcher matcher = BLOCK.matcher(template);
        while (matcher.find()) {
            boolean end = matcher.group(1) != null;
            String tag = matcher.group(2);
            if (tag.equals("set") && !end && matcher.group(3).contains("=")) {
                continue;
            }
            depth += end ? -1 : 1;
            maxDepth = Math.max(maxDepth, depth);
        }
        int brackets = 0;
        int maxBrackets = 0;
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if (c == '(' || c == '[' || c == '{') {
                maxBrackets = Math.max(maxBrackets, ++brackets);
            } else if ((c == ')' || c == ']' || c == '}') && brackets > 0) {
                brackets--;
            }
        }
        if (maxDepth > MAX_TEMPLATE_DEPTH || maxBrackets > MAX_TEMPLATE_DEPTH + 2) {
            return "nests " + Math.max(maxDepth, maxBrackets) + " levels deep, more than the " + MAX_TEMPLATE_DEPTH
                    + " allowed";
        }
        return null;
    }

    /**
     * A BF16 tensor whose bytes are F16 values (a relabelled type) loads and answers garbage: read as BF16,
     * ordinary F16 weights become magnitudes below 1e-8. A sample of each BF16 tensor is checked for that.
     */
    static void relabelledTypes(GgufFile f, FileChannel ch) throws IOException {
        for (GgufFile.TensorInfo t : f.tensorInfos()) {
            if (t.type() != GGML_BF16 || t.bytes() < 2) {
                continue;
            }
            int n = (int) Math.min(t.bytes() / 2, 4096);
            ByteBuffer buf = ByteBuffer.allocate(n * 2).order(ByteOrder.LITTLE_ENDIAN);
            long pos = f.dataStart + t.offset();
            while (buf.hasRemaining()) {
                if (ch.read(buf, pos + buf.position()) < 0) {
                    break;
                }
            }
            buf.flip();
            int nonZero = 0;
            int tinyAsBf16 = 0;
            int plausibleAsF16 = 0;
            while (buf.remaining() >= 2) {
                short bits = buf.getShort();
                if ((bits & 0x7FFF) == 0) {
                    continue;
                }
                nonZero++;
                float bf16 = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                float f16 = halfToFloat(bits);
                if (Math.abs(bf16) < 1e-8f) {
                    tinyAsBf16++;
                }
                if (Float.isFinite(f16) && Math.abs(f16) < 1e4f) {
                    plausibleAsF16++;
                }
            }
            if (nonZero >= 16 && tinyAsBf16 >= 0.9 * nonZero && plausibleAsF16 >= 0.99 * nonZero) {
                throw new GgufFile.GgufException("tensor " + t.name() + " is labelled BF16 (type 30) but its data"
                        + " read as F16 values: " + tinyAsBf16 + " of " + nonZero + " sampled values would be below"
                        + " 1e-8 as BF16. The file's tensor types do not match its data");
            }
        }
    }

    /** IEEE half precision to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
