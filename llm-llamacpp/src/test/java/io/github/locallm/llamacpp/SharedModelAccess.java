package io.github.locallm.llamacpp;

final class SharedModelAccess {
    static de.kherud.llama.LlamaModel model(LlamaCppBackend b) {
        return b.shared().model;
    }
}
