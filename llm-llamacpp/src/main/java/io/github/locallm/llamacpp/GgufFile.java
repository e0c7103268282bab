package io.github.locallm.llamacpp;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The header of a GGUF file, read and checked in Java before the path is handed to native code: magic,
 * version, sane counts, well-formed metadata, and tensor data inside the file.
 */
final class GgufFile {

    static final int MAGIC = 0x46554747;
    private static final long MAX_COUNT = 1L << 24;
    private static final long MAX_STRING = 1L << 28;
    private static final int TOKEN_TYPE_UNKNOWN = 2;
    private static final int TOKEN_TYPE_CONTROL = 3;
    /** The smallest {@code general.alignment} accepted: less leaves tensor data unaligned for ggml's kernels. */
    static final long MIN_ALIGNMENT = 8;
    /** ggml types whose block layout is not sized here (newer or exotic quantizations); llama.cpp checks them. */
    private static final Set<Integer> KNOWN_UNSIZED_TYPES = Set.of(40, 41, 42);

    /** {block size, bytes per block} of the ggml types whose layout is known; others are not size-checked. */
    private static final Map<Integer, int[]> TYPE_SIZES = Map.ofEntries(
            Map.entry(0, new int[] {1, 4}), Map.entry(1, new int[] {1, 2}), Map.entry(2, new int[] {32, 18}),
            Map.entry(3, new int[] {32, 20}), Map.entry(6, new int[] {32, 22}), Map.entry(7, new int[] {32, 24}),
            Map.entry(8, new int[] {32, 34}), Map.entry(10, new int[] {256, 84}), Map.entry(11, new int[] {256, 110}),
            Map.entry(12, new int[] {256, 144}), Map.entry(13, new int[] {256, 176}), Map.entry(14, new int[] {256, 210}),
            Map.entry(20, new int[] {32, 18}), Map.entry(23, new int[] {256, 136}), Map.entry(24, new int[] {1, 1}),
            Map.entry(25, new int[] {1, 2}), Map.entry(26, new int[] {1, 4}), Map.entry(27, new int[] {1, 8}),
            Map.entry(28, new int[] {1, 8}), Map.entry(30, new int[] {1, 2}), Map.entry(9, new int[] {32, 36}),
            Map.entry(15, new int[] {256, 292}), Map.entry(16, new int[] {256, 66}), Map.entry(17, new int[] {256, 74}),
            Map.entry(18, new int[] {256, 98}), Map.entry(19, new int[] {256, 50}), Map.entry(21, new int[] {256, 110}),
            Map.entry(22, new int[] {256, 82}), Map.entry(29, new int[] {256, 56}), Map.entry(34, new int[] {256, 54}),
            Map.entry(35, new int[] {256, 66}), Map.entry(39, new int[] {32, 17}));

    final int version;
    final long tensorCount;
    final Map<String, Object> metadata;
    final long fileSize;
    final long dataStart;
    private final Map<String, Integer> arrayTypes;
    private final List<TensorInfo> tensorInfos;

    private GgufFile(int version, long tensorCount, Map<String, Object> metadata, long fileSize,
                     Map<String, Integer> arrayTypes, List<TensorInfo> tensorInfos, long dataStart) {
        this.version = version;
        this.tensorCount = tensorCount;
        this.metadata = metadata;
        this.fileSize = fileSize;
        this.arrayTypes = arrayTypes;
        this.tensorInfos = tensorInfos;
        this.dataStart = dataStart;
    }

    /**
     * Reads and checks the file: the header, every metadata value, the tensor table against the data it
     * describes, and the metadata llama.cpp trusts (see {@link GgufChecks}).
     *
     * @throws GgufException what is wrong with the file, naming the key or tensor and the bad value
     * @throws IOException   if it cannot be read
     */
    static GgufFile read(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            Reader r = new Reader(ch);
            if (size < 24) {
                throw new GgufException("the file is " + size + " bytes, too short for a GGUF header");
            }
            int magic = r.i32();
            if (magic != MAGIC) {
                throw new GgufException("it does not start with the GGUF magic (found bytes "
                        + String.format("%08x", Integer.reverseBytes(magic)) + ")");
            }
            int version = r.i32();
            if (version != 2 && version != 3) {
                throw new GgufException("GGUF version " + version + " is not supported (2 and 3 are)");
            }
            long tensors = r.i64();
            long kvs = r.i64();
            if (tensors < 0 || tensors > MAX_COUNT || kvs < 0 || kvs > MAX_COUNT) {
                throw new GgufException("implausible counts: " + tensors + " tensors, " + kvs + " metadata entries");
            }
            Map<String, Object> meta = new LinkedHashMap<>();
            Map<String, Integer> arrayTypes = new LinkedHashMap<>();
            for (long i = 0; i < kvs; i++) {
                String key = r.string(size);
                int type = r.i32();
                if (meta.containsKey(key)) {
                    throw new GgufException("metadata key " + key + " appears twice");
                }
                int[] elementType = new int[] {-1};
                meta.put(key, r.value(type, size, 0, elementType));
                if (type == 9) {
                    arrayTypes.put(key, elementType[0]);
                }
            }
            long alignment = 32;
            if (meta.containsKey("general.alignment")) {
                if (!(meta.get("general.alignment") instanceof Long n)) {
                    throw new GgufException("general.alignment must be an integer: " + meta.get("general.alignment"));
                }
                alignment = n;
                if (alignment < MIN_ALIGNMENT || alignment > (1 << 16) || (alignment & (alignment - 1)) != 0) {
                    throw new GgufException("general.alignment must be a power of two in [" + MIN_ALIGNMENT
                            + ", 65536]: " + alignment);
                }
            }
            List<TensorInfo> infos = new ArrayList<>((int) Math.min(tensors, 1 << 16));
            Set<String> names = new HashSet<>();
            for (int t = 0; t < tensors; t++) {
                String name = r.string(size);
                if (!names.add(name)) {
                    throw new GgufException("tensor " + name + " appears twice in the tensor table");
                }
                int dims = r.i32();
                if (dims < 1 || dims > 4) {
                    throw new GgufException("tensor " + name + " has " + dims + " dimensions");
                }
                long[] shape = new long[dims];
                long elements = 1;
                for (int d = 0; d < dims; d++) {
                    long n = r.i64();
                    if (n <= 0 || n > (1L << 40)) {
                        throw new GgufException("tensor " + name + " has dimension " + n);
                    }
                    shape[d] = n;
                    elements = Math.multiplyExact(elements, n);
                }
                int type = r.i32();
                long offset = r.i64();
                if (offset < 0 || offset % alignment != 0) {
                    throw new GgufException("tensor " + name + " has a misaligned offset " + offset);
                }
                int[] ts = TYPE_SIZES.get(type);
                if (ts == null && !KNOWN_UNSIZED_TYPES.contains(type)) {
                    throw new GgufException("tensor " + name + " has the unknown ggml type " + type);
                }
                long bytes = -1;
                if (ts != null) {
                    if (shape[0] % ts[0] != 0) {
                        throw new GgufException("tensor " + name + " has rows of " + shape[0] + " values, not a multiple"
                                + " of the " + ts[0] + "-value blocks of its type " + type);
                    }
                    bytes = Math.multiplyExact(elements / ts[0], (long) ts[1]);
                }
                infos.add(new TensorInfo(name, shape, type, offset, bytes));
            }
            long dataStart = Math.addExact(r.position(), alignment - 1) / alignment * alignment;
            GgufChecks.tensorData(infos, dataStart, size, alignment);
            GgufFile file = new GgufFile(version, tensors, Collections.unmodifiableMap(meta), size,
                    Collections.unmodifiableMap(arrayTypes), List.copyOf(infos), dataStart);
            GgufChecks.metadata(file);
            GgufChecks.relabelledTypes(file, ch);
            return file;
        } catch (EOFException e) {
            throw new GgufException("it is truncated: the header ends early");
        } catch (ArithmeticException e) {
            throw new GgufException("a tensor is implausibly large");
        }
    }

    /** One entry of the tensor table; {@code bytes} is -1 for a type whose size is not known here. */
    record TensorInfo(String name, long[] shape, int type, long offset, long bytes) {
    }

    /** Returns the tensor table. */
    List<TensorInfo> tensorInfos() {
        return tensorInfos;
    }

    /** Returns the GGUF type of an array's elements, or -1 if the key is not an array. */
    int arrayType(String key) {
        return arrayTypes.getOrDefault(key, -1);
    }

    String architecture() {
        return string("general.architecture", "unknown");
    }

    String string(String key, String fallback) {
        return metadata.get(key) instanceof String s ? s : fallback;
    }

    long number(String key, long fallback) {
        return metadata.get(key) instanceof Number n ? n.longValue() : fallback;
    }

    Boolean bool(String key) {
        return metadata.get(key) instanceof Boolean b ? b : null;
    }

    /** Returns the trained context length, or 0 if unknown. */
    long trainedContext() {
        return number(architecture() + ".context_length", 0);
    }

    /** Returns the vocabulary token texts, or an empty list. */
    @SuppressWarnings("unchecked")
    List<String> tokens() {
        return metadata.get("tokenizer.ggml.tokens") instanceof List<?> l ? (List<String>) l : List.of();
    }

    /** Returns the texts of control and unknown tokens, which plain user text must never become. */
    List<String> controlTokenTexts() {
        List<String> tokens = tokens();
        List<String> out = new ArrayList<>();
        if (metadata.get("tokenizer.ggml.token_type") instanceof List<?> types) {
            for (int i = 0; i < Math.min(types.size(), tokens.size()); i++) {
                if (types.get(i) instanceof Number n) {
                    int t = n.intValue();
                    if ((t == TOKEN_TYPE_CONTROL || t == TOKEN_TYPE_UNKNOWN) && !tokens.get(i).isEmpty()) {
                        out.add(tokens.get(i));
                    }
                }
            }
        }
        return out;
    }

    /**
     * The control tokens whose text is one of the given texts (the markup of a chat format that the vocabulary
     * holds as single control tokens).
     *
     * @param texts the texts to look for
     * @return token id to text
     */
    Map<Integer, String> controlTokens(java.util.Collection<String> texts) {
        java.util.Set<String> wanted = new java.util.HashSet<>(texts);
        List<String> tokens = tokens();
        Map<Integer, String> out = new java.util.HashMap<>();
        if (metadata.get("tokenizer.ggml.token_type") instanceof List<?> types) {
            for (int i = 0; i < Math.min(types.size(), tokens.size()); i++) {
                if (types.get(i) instanceof Number n && (n.intValue() == TOKEN_TYPE_CONTROL
                        || n.intValue() == TOKEN_TYPE_UNKNOWN) && wanted.contains(tokens.get(i))) {
                    out.put(i, tokens.get(i));
                }
            }
        }
        return out;
    }

    /** Thrown for a malformed file; the message completes "the file is not a usable GGUF model: ...". */
    static final class GgufException extends IOException {
        private static final long serialVersionUID = 1L;

        GgufException(String message) {
            super(message);
        }
    }

    private static final class Reader {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        Reader(FileChannel ch) {
            this.ch = ch;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        private void need(int n) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            bufStart += buf.position();
            buf.compact();
            while (buf.position() < n) {
                if (ch.read(buf) < 0) {
                    throw new EOFException();
                }
            }
            buf.flip();
        }

        int i32() throws IOException {
            need(4);
            return buf.getInt();
        }

        long i64() throws IOException {
            need(8);
            return buf.getLong();
        }

        String string(long fileSize) throws IOException {
            long len = i64();
            if (len < 0 || len > MAX_STRING || len > fileSize - position()) {
                throw new GgufException("a string length of " + len + " bytes is implausible at offset " + position());
            }
            byte[] b = new byte[(int) len];
            int off = 0;
            while (off < b.length) {
                int chunk = Math.min(b.length - off, buf.capacity());
                need(chunk);
                buf.get(b, off, chunk);
                off += chunk;
            }
            return new String(b, StandardCharsets.UTF_8);
        }

        Object value(int type, long fileSize, int depth, int[] elementTypeOut) throws IOException {
            switch (type) {
                case 0: need(1); return (long) (buf.get() & 0xFF);
                case 1: need(1); return (long) buf.get();
                case 2: need(2); return (long) (buf.getShort() & 0xFFFF);
                case 3: need(2); return (long) buf.getShort();
                case 4: return i32() & 0xFFFFFFFFL;
                case 5: return (long) i32();
                case 6: need(4); return (double) buf.getFloat();
                case 7: need(1); return buf.get() != 0;
                case 8: return string(fileSize);
                case 9: {
                    if (depth > 2) {
                        throw new GgufException("arrays nested too deeply");
                    }
                    int elemType = i32();
                    elementTypeOut[0] = elemType;
                    long n = i64();
                    if (n < 0 || n > MAX_COUNT * 4 || n > fileSize - position()) {
                        throw new GgufException("an array of " + n + " elements is implausible");
                    }
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) {
                        list.add(value(elemType, fileSize, depth + 1, new int[1]));
                    }
                    return Collections.unmodifiableList(list);
                }
                case 10: return i64();
                case 11: return i64();
                case 12: need(8); return buf.getDouble();
                default: throw new GgufException("unknown metadata value type " + type);
            }
        }
    }
}
