package io.github.locallm.springai;

import io.github.locallm.Capability;
import io.github.locallm.LocalLlm;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.embedding.EmbeddingResponseMetadata;

/**
 * A Spring AI {@link EmbeddingModel} backed by a {@link LocalLlm} that can embed, for vector stores and RAG.
 *
 * <pre>{@code
 * EmbeddingModel embeddings = LocalLlmEmbeddingModel.of(LocalLlm.open("llamacpp:/models/e5.gguf?embedding=true"));
 * float[] v = embeddings.embed("Python est un langage");
 * }</pre>
 *
 * <p>A model without {@link Capability#EMBEDDINGS} is refused when the adapter is built. Inputs are embedded in
 * one batch, in order. Thread-safe.
 */
public final class LocalLlmEmbeddingModel implements EmbeddingModel, AutoCloseable {

    private final LocalLlm llm;
    private final boolean owned;
    private final String modelName;

    private LocalLlmEmbeddingModel(LocalLlm llm, boolean owned) {
        this.llm = Objects.requireNonNull(llm, "llm");
        this.owned = owned;
        this.modelName = llm.info().model();
        if (!llm.info().supports(Capability.EMBEDDINGS)) {
            throw new UnsupportedCapabilityException(llm.info().backend() + ":" + modelName
                    + " does not make embeddings; open an embedding model (llamacpp with embedding=true, ollama, "
                    + "openai)");
        }
    }

    /**
     * @param llm an open model that supports {@link Capability#EMBEDDINGS}, which the caller closes
     * @return the embedding model
     */
    public static LocalLlmEmbeddingModel of(LocalLlm llm) {
        return new LocalLlmEmbeddingModel(llm, false);
    }

    /**
     * @param llm an open model that supports {@link Capability#EMBEDDINGS}; {@link #close()} closes it
     * @return the embedding model, owning the {@code LocalLlm}
     */
    public static LocalLlmEmbeddingModel owning(LocalLlm llm) {
        return new LocalLlmEmbeddingModel(llm, true);
    }

    @Override
    public EmbeddingResponse call(EmbeddingRequest request) {
        List<String> texts = request.getInstructions();
        List<float[]> vectors = llm.embed(texts);
        List<Embedding> out = new ArrayList<>(vectors.size());
        for (int i = 0; i < vectors.size(); i++) {
            out.add(new Embedding(vectors.get(i), i));
        }
        int tokens = 0;
        if (llm.info().supports(Capability.TOKENIZE)) {
            for (String t : texts) {
                tokens += llm.countTokens(t);
            }
        }
        return new EmbeddingResponse(out, new EmbeddingResponseMetadata(modelName, new DefaultUsage(tokens, 0)));
    }

    @Override
    public float[] embed(Document document) {
        String text = document.getText();
        if (text == null) {
            throw new IllegalArgumentException("LocalLLM embeds text documents only; document " + document.getId()
                    + " has no text");
        }
        return llm.embed(text);
    }

    /** Closes the {@code LocalLlm} when this model owns it (as the Boot auto-configuration's does). */
    @Override
    public void close() {
        if (owned) {
            llm.close();
        }
    }

    @Override
    public String toString() {
        return "LocalLlmEmbeddingModel[" + llm.info().backend() + ":" + modelName + "]";
    }
}
