package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file: its header parsed in Java and its tensor data read through memory
 * mappings, so files of any size load without copying them into a Java array.
 *
 * <p>The header is checked against the file size when the file is opened, so a truncated or corrupt
 * file fails here, before any data reaches native code.
 *
 * <p>Immutable after opening; reads may run on any thread.
 */
final class SafetensorsFile {
    /** Largest window mapped at once by default; a mapping is limited to 2 GB. */
    static final long DEFAULT_WINDOW = 1L << 30;
    private static final long MAX_HEADER = 100L << 20;

    /** Element types this reader widens to F32. */
    enum DType {
        F32(4), F16(2), BF16(2);

        final int size;

        DType(int size) {
            this.size = size;
        }
    }

    /** Sizes of the element types a checkpoint may hold besides the ones read, for checking offsets. */
    private static final Map<String, Integer> OTHER_SIZES = Map.of("F64", 8, "I64", 8, "I32", 4, "I16", 2,
            "I8", 1, "U8", 1, "BOOL", 1, "F8_E4M3", 1, "F8_E5M2", 1);

    /**
     * Where one tensor lies in the file.
     *
     * @param name the tensor name
     * @param dtype the element type, or {@code null} when this reader cannot widen it
     * @param dtypeName the element type as the header names it
     * @param shape the dimensions
     * @param begin first byte in the data section
     * @param end end byte in the data section
     */
    record Entry(String name, DType dtype, String dtypeName, long[] shape, long begin, long end) {
        /** @return the element count; the header check made sure it does not overflow */
        long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private final Path path;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final long window;
    /** Where the last tensor's data ends, from the start of the data. */
    private final long dataEnd;

    private SafetensorsFile(Path path, long dataStart, Map<String, Entry> entries, long window) {
        this.path = path;
        this.dataStart = dataStart;
        this.entries = entries;
        this.window = window;
        this.dataEnd = entries.values().stream().mapToLong(Entry::end).max().orElse(0);
    }

    /**
     * Reads and checks the header of a file.
     *
     * @param path the file
     * @param model the model, for messages
     * @return the parsed file
     * @throws ModelLoadException when the file is unreadable, truncated or not safetensors
     */
    static SafetensorsFile open(Path path, String model) {
        return open(path, model, DEFAULT_WINDOW);
    }

    /**
     * Reads and checks the header of a file.
     *
     * @param path the file
     * @param model the model, for messages
     * @param window the largest mapping made while reading data, in bytes
     * @return the parsed file
     */
    static SafetensorsFile open(Path path, String model, long window) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw corrupt(path, model, "the file is " + size + " bytes long, too short for a header");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw corrupt(path, model, "the header length " + headerLen + " does not fit the file size "
                        + size);
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            long dataStart = 8 + headerLen;
            Map<String, Entry> entries = parseHeader(json, path, model, size - dataStart);
            return new SafetensorsFile(path, dataStart, entries, window);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + path + " of model " + model + ": " + e.getMessage()
                    + "; check that the file exists and is readable", e);
        }
    }

    private static Map<String, Entry> parseHeader(String json, Path path, String model, long dataLen) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw corrupt(path, model, "the header is not JSON (" + e.getMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw corrupt(path, model, "the header is not a JSON object");
        }
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode t = f.getValue();
            String dt = t.path("dtype").asText("");
            DType dtype = null;
            int size;
            try {
                dtype = DType.valueOf(dt);
                size = dtype.size;
            } catch (IllegalArgumentException e) {
                // Only a tensor the decoder reads must have a supported type; the checkpoint check says so.
                size = OTHER_SIZES.getOrDefault(dt, -1);
            }
            JsonNode shapeNode = t.path("shape");
            JsonNode offs = t.path("data_offsets");
            if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                throw corrupt(path, model, "tensor " + name + " lacks a shape or data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long elements = 1;
            long bytes;
            try {
                for (int i = 0; i < shape.length; i++) {
                    JsonNode d = shapeNode.get(i);
                    shape[i] = d.isIntegralNumber() && d.canConvertToLong() ? d.asLong() : -1;
                    if (shape[i] < 0) {
                        throw corrupt(path, model, "tensor " + name + " has a dimension that is not a "
                                + "non-negative integer: " + d);
                    }
                    elements = Math.multiplyExact(elements, shape[i]);
                }
                bytes = Math.multiplyExact(elements, (long) Math.max(size, 1));
            } catch (ArithmeticException e) {
                throw corrupt(path, model, "tensor " + name + " has a shape " + shapeNode
                        + " whose element count overflows");
            }
            JsonNode b0 = offs.get(0);
            JsonNode b1 = offs.get(1);
            long begin = b0.isIntegralNumber() && b0.canConvertToLong() ? b0.asLong() : -1;
            long end = b1.isIntegralNumber() && b1.canConvertToLong() ? b1.asLong() : -1;
            if (begin < 0 || end < begin || (size > 0 && end - begin != bytes)) {
                throw corrupt(path, model, "tensor " + name + " has data_offsets [" + begin + ", " + end
                        + "] that disagree with its shape and dtype");
            }
            if (end > dataLen) {
                throw new ModelLoadException(path + " of model " + model + " is truncated: tensor " + name
                        + " ends at byte " + end + " of the data section, which holds only " + dataLen
                        + " bytes. Download or write the file again");
            }
            out.put(name, new Entry(name, dtype, dt, shape, begin, end));
        }
        return Collections.unmodifiableMap(out);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            pos += n;
        }
    }

    private static ModelLoadException corrupt(Path path, String model, String what) {
        return new ModelLoadException(path + " of model " + model + " is not a valid safetensors file: " + what
                + ". Download or write the file again");
    }

    /** @return the file */
    Path path() {
        return path;
    }

    /** @return the tensors by name, in header order */
    Map<String, Entry> entries() {
        return entries;
    }

    /**
     * Reads elements of a tensor widened to F32 into a buffer, through read-only mappings of at most
     * {@code window} bytes each.
     *
     * @param e the tensor
     * @param firstElement the first element to read
     * @param out receives {@code out.remaining()} elements
     * @throws IOException when the file cannot be mapped
     */
    void readF32(Entry e, long firstElement, FloatBuffer out) throws IOException {
        long count = out.remaining();
        int es = e.dtype().size;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            checkSize(ch, e);
            long pos = dataStart + e.begin() + firstElement * es;
            long left = count;
            while (left > 0) {
                long n = Math.min(left, Math.max(1, window / es));
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, pos, n * es);
                map.order(ByteOrder.LITTLE_ENDIAN);
                widen(e.dtype(), map, (int) n, out);
                pos += n * es;
                left -= n;
            }
        }
    }

    /**
     * Checks, each time tensor data is opened, that the file still holds every tensor its header lists: a file
     * shortened after its header was read would otherwise fault when the missing bytes are read through a
     * mapping. A file shortened after this check, while its mapping is in use, still faults (see the provider's
     * documentation).
     */
    private void checkSize(FileChannel ch, Entry e) throws IOException {
        long size = ch.size();
        long needed = dataStart + Math.max(dataEnd, e.end());
        if (size < needed) {
            throw new IOException("the file is now " + size + " bytes long, but its header places tensor data up "
                    + "to byte " + needed + "; it was shortened or is being rewritten");
        }
    }

    /**
     * Maps the bytes of a tensor read-only, for use in place.
     *
     * @param e the tensor
     * @return a little-endian buffer of {@code end - begin} bytes, or {@code null} when the tensor is larger than
     *     one mapping can be
     * @throws IOException when the file cannot be mapped
     */
    ByteBuffer map(Entry e) throws IOException {
        long len = e.end() - e.begin();
        if (len > Integer.MAX_VALUE - 8) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            checkSize(ch, e);
            // The mapping stays valid after the channel is closed, until the buffer is collected.
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), len).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * Copies the stored bytes of elements of a tensor into a buffer, through read-only mappings.
     *
     * @param e the tensor
     * @param firstElement the first element to read
     * @param out receives {@code out.remaining()} bytes, a whole number of elements
     * @throws IOException when the file cannot be mapped
     */
    void readRaw(Entry e, long firstElement, ByteBuffer out) throws IOException {
        int es = e.dtype().size;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            checkSize(ch, e);
            long pos = dataStart + e.begin() + firstElement * es;
            long left = out.remaining();
            while (left > 0) {
                long n = Math.min(left, Math.max(es, window / es * es));
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, pos, n);
                out.put(map);
                pos += n;
                left -= n;
            }
        }
    }

    /**
     * Whether every value of a BF16 tensor is exactly representable in IEEE half precision.
     *
     * @param e a BF16 tensor
     * @return whether converting it to F16 loses nothing
     * @throws IOException when the file cannot be mapped
     */
    boolean bf16FitsHalf(Entry e) throws IOException {
        long count = e.elements();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            checkSize(ch, e);
            long pos = dataStart + e.begin();
            long left = count;
            while (left > 0) {
                long n = Math.min(left, Math.max(1, window / 2));
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, pos, n * 2);
                map.order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    float f = Float.intBitsToFloat((map.getShort(i * 2) & 0xffff) << 16);
                    if (halfToFloat(floatToHalf(f)) != f && !Float.isNaN(f)) {
                        return false;
                    }
                }
                pos += n * 2;
                left -= n;
            }
        }
        return true;
    }

    /**
     * Reads elements of a BF16 tensor converted to F16 (exact when {@link #bf16FitsHalf} said so).
     *
     * @param e the tensor
     * @param out receives {@code count} halves
     * @throws IOException when the file cannot be mapped
     */
    void readBf16AsHalf(Entry e, java.nio.ShortBuffer out) throws IOException {
        long count = out.remaining();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            checkSize(ch, e);
            long pos = dataStart + e.begin();
            long left = count;
            while (left > 0) {
                long n = Math.min(left, Math.max(1, window / 2));
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, pos, n * 2);
                map.order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    out.put(floatToHalf(Float.intBitsToFloat((map.getShort(i * 2) & 0xffff) << 16)));
                }
                pos += n * 2;
                left -= n;
            }
        }
    }

    /**
     * Rounds a float to IEEE half precision, to nearest even; beyond the half range it becomes infinity.
     *
     * @param f the value
     * @return the 16 bits
     */
    static short floatToHalf(float f) {
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

    private static void widen(DType dtype, ByteBuffer in, int n, FloatBuffer out) {
        switch (dtype) {
            case F32:
                out.put(in.asFloatBuffer().limit(n));
                break;
            case F16:
                for (int i = 0; i < n; i++) {
                    out.put(halfToFloat(in.getShort(i * 2)));
                }
                break;
            case BF16:
                for (int i = 0; i < n; i++) {
                    out.put(Float.intBitsToFloat((in.getShort(i * 2) & 0xffff) << 16));
                }
                break;
            default:
                throw new AssertionError(dtype);
        }
    }

    /**
     * Converts an IEEE 754 half-precision value to float.
     *
     * @param h the 16 bits
     * @return the value
     */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal half: value is mant * 2^-24.
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
