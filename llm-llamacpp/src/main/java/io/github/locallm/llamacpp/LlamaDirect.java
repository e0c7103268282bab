package io.github.locallm.llamacpp;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * The calls made once or more per generated token, bound by JNA direct mapping ({@link Native#register}) to
 * the same {@code libllama} as {@link LlamaApi.Llama}: a direct call goes from a {@code native} method to
 * the C function without the proxy, reflection and argument boxing of an interface-mapped call.
 *
 * <p>Handles ({@code llama_context *}, {@code llama_vocab *}, {@code llama_sampler *}) and buffers are passed
 * as their 64-bit addresses ({@code long}); {@link LlamaRuntime} loads this engine on 64-bit platforms only.
 * The {@code llama_batch} argument is passed by value from a {@link LlamaApi.Batch.ByValue} whose automatic
 * write is switched off: its memory is kept up to date by the caller, so a call copies the 56 bytes and does no
 * reflection. Not part of the public API.
 */
final class LlamaDirect {

    private LlamaDirect() {
    }

    /** Binds the methods below to the loaded {@code libllama}; called once per JVM. */
    static void register(NativeLibrary llama) {
        Native.register(LlamaDirect.class, llama);
    }

    static native int llama_decode(long ctx, LlamaApi.Batch.ByValue batch);

    static native int llama_sampler_sample(long sampler, long ctx, int idx);

    static native void llama_sampler_accept(long sampler, int token);

    static native int llama_token_to_piece(long vocab, int token, long buf, int length, int lstrip, byte special);

    static native byte llama_vocab_is_eog(long vocab, int token);

    static native long llama_get_logits_ith(long ctx, int i);

    static native long llama_get_embeddings_ith(long ctx, int i);

    static native long llama_get_embeddings_seq(long ctx, int seqId);
}
