package io.github.locallm.modelkit;

import java.util.Arrays;
import java.util.Objects;

/**
 * A named float tensor in Hugging Face layout: {@code shape} lists the outermost dimension first and the
 * data is row-major, so a linear layer's weight is {@code [out, in]}.
 *
 * <p>The array fields are not copied: a tensor is a carrier for writers, not a defensive value. Equality
 * is therefore identity of the arrays, as for any record with array components. Not thread-safe if a
 * caller mutates the arrays.
 *
 * <pre>{@code
 * Tensor norm = new Tensor("model.norm.weight", new long[] {64}, new float[64]);
 * }</pre>
 *
 * @param name  Hugging Face tensor name, for example {@code model.layers.0.self_attn.q_proj.weight}
 * @param shape dimensions, outermost first
 * @param data  row-major values, {@code product(shape)} of them
 */
public record Tensor(String name, long[] shape, float[] data) {

    /** Checks that the data length matches the shape. */
    public Tensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        if (elementCount(shape) != data.length) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(shape)
                    + " but " + data.length + " values");
        }
    }

    /** Returns the number of elements a tensor of this shape holds. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("dimensions must be positive: " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Returns the length of the innermost dimension (the row length of a matrix). */
    public long rowLength() {
        return shape[shape.length - 1];
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + Arrays.toString(shape) + "]";
    }
}
