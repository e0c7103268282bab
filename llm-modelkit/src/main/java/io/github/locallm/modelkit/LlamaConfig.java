package io.github.locallm.modelkit;

import java.util.Objects;

/**
 * The shape of a Llama-family decoder (Llama or Qwen2), in Hugging Face {@code config.json} terms.
 *
 * <p>The same record drives the GGUF writer and the Hugging Face writer, so that one
 * {@link CheckpointModel} can be written for every backend. Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * LlamaConfig config = TinyModels.llama().config();
 * int headDim = config.headDim();
 * }</pre>
 *
 * @param architecture          {@code "llama"}, {@code "qwen2"} or {@code "qwen3"} (per-head q/k RMSNorm)
 * @param vocabSize             number of tokens, equal to the tokenizer's size
 * @param hiddenSize            embedding width
 * @param intermediateSize      feed-forward width
 * @param numLayers             number of decoder blocks
 * @param numHeads              query heads
 * @param numKvHeads            key/value heads (fewer than {@code numHeads} for grouped-query attention)
 * @param ropeTheta             RoPE base frequency
 * @param rmsNormEps            RMS norm epsilon
 * @param maxPositionEmbeddings trained context length
 * @param tieWordEmbeddings     whether the output projection reuses the token embedding
 * @param attentionBias         whether q, k and v projections have biases (Qwen2)
 * @param bosTokenId            beginning-of-sequence token id
 * @param eosTokenId            end-of-sequence (end of turn) token id
 */
public record LlamaConfig(
        String architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        double ropeTheta,
        double rmsNormEps,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        int bosTokenId,
        int eosTokenId) {

    /** Validates the shape: positive sizes, heads dividing the width, a known architecture. */
    public LlamaConfig {
        Objects.requireNonNull(architecture, "architecture");
        if (!architecture.equals("llama") && !architecture.equals("qwen2") && !architecture.equals("qwen3")) {
            throw new IllegalArgumentException("architecture must be \"llama\", \"qwen2\" or \"qwen3\": "
                    + architecture);
        }
        positive("vocabSize", vocabSize);
        positive("hiddenSize", hiddenSize);
        positive("intermediateSize", intermediateSize);
        positive("numLayers", numLayers);
        positive("numHeads", numHeads);
        positive("numKvHeads", numKvHeads);
        positive("maxPositionEmbeddings", maxPositionEmbeddings);
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("hiddenSize " + hiddenSize + " is not a multiple of numHeads " + numHeads);
        }
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("numHeads " + numHeads + " is not a multiple of numKvHeads " + numKvHeads);
        }
        if ((hiddenSize / numHeads) % 2 != 0) {
            throw new IllegalArgumentException("head dimension must be even for RoPE: " + hiddenSize / numHeads);
        }
        if (!(ropeTheta > 0) || !(rmsNormEps > 0)) {
            throw new IllegalArgumentException("ropeTheta and rmsNormEps must be positive: " + ropeTheta + ", " + rmsNormEps);
        }
        if (bosTokenId < 0 || bosTokenId >= vocabSize || eosTokenId < 0 || eosTokenId >= vocabSize) {
            throw new IllegalArgumentException("bos/eos token ids must be in [0, " + vocabSize + "): " + bosTokenId + ", " + eosTokenId);
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive: " + value);
        }
    }

    /** Returns the width of one attention head. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Returns the width of the key and value projections. */
    /**
     * Whether queries and keys are RMS-normalized per head after their projection (Qwen3), with the
     * weights {@code self_attn.q_norm.weight} and {@code self_attn.k_norm.weight} of {@link #headDim()} values.
     *
     * @return true for {@code qwen3}
     */
    public boolean qkNorm() {
        return architecture.equals("qwen3");
    }

    public int kvDim() {
        return headDim() * numKvHeads;
    }

    /** Returns the number of parameters of a model of this shape. */
    public long parameterCount() {
        long h = hiddenSize;
        long perLayer = 2 * h                                   // two norms
                + h * h + 2 * h * kvDim() + h * h               // q, k, v, o
                + (attentionBias ? h + 2L * kvDim() : 0)
                + 3 * h * intermediateSize;
        long embed = (long) vocabSize * h;
        return embed + perLayer * numLayers + h + (tieWordEmbeddings ? 0 : embed);
    }
}
