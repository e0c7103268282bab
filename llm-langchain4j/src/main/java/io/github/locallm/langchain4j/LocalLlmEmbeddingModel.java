package io.github.locallm.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.listener.EmbeddingModelListener;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import io.github.locallm.Capability;
import io.github.locallm.LocalLlm;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LangChain4j {@link EmbeddingModel} backed by a {@link LocalLlm} that can embed (see
 * {@link Capability#EMBEDDINGS}), for RAG with an embedding store.
 *
 * <pre>{@code
 * EmbeddingModel embeddings = LocalLlmEmbeddingModel.of(llm);
 * Embedding e = embeddings.embed("Python est un langage").content();
 * }</pre>
 *
 * <p>Segments are embedded in one batch, in order. Per-call {@code dimensions} and {@code inputType} and image
 * inputs are refused with {@code UnsupportedFeatureException}, as LangChain4j's default asks. Token usage is reported when the model tokenizes. A model
 * without {@code EMBEDDINGS} is refused when the adapter is built. Thread-safe.
 */
public final class LocalLlmEmbeddingModel implements EmbeddingModel {

    private final LocalLlm llm;
    private final List<EmbeddingModelListener> listeners;
    private volatile int dimension = -1;

    private LocalLlmEmbeddingModel(LocalLlm llm, List<EmbeddingModelListener> listeners) {
        this.llm = Objects.requireNonNull(llm, "llm");
        this.listeners = List.copyOf(listeners);
        if (!llm.info().supports(Capability.EMBEDDINGS)) {
            throw Mapping.error(new UnsupportedCapabilityException(llm.info().backend() + ":" + llm.info().model()
                    + " does not make embeddings; open an embedding model (llamacpp with pooling, ollama, openai)"));
        }
    }

    /**
     * @param llm an open model that supports {@link Capability#EMBEDDINGS}
     * @return the embedding model
     */
    public static LocalLlmEmbeddingModel of(LocalLlm llm) {
        return new LocalLlmEmbeddingModel(llm, List.of());
    }

    /**
     * @param llm an open model that supports {@link Capability#EMBEDDINGS}
     * @param listeners LangChain4j listeners told of each request, response and error
     * @return the embedding model
     */
    public static LocalLlmEmbeddingModel of(LocalLlm llm, List<EmbeddingModelListener> listeners) {
        return new LocalLlmEmbeddingModel(llm, listeners);
    }

    @Override
    public List<EmbeddingModelListener> listeners() {
        return listeners;
    }

    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<String> texts = new ArrayList<>(segments.size());
        for (TextSegment s : segments) {
            texts.add(s.text());
        }
        try {
            List<float[]> vectors = llm.embed(texts);
            List<Embedding> out = new ArrayList<>(vectors.size());
            for (float[] v : vectors) {
                out.add(Embedding.from(v));
            }
            if (!out.isEmpty()) {
                dimension = out.get(0).dimension();
            }
            return Response.from(out, usage(texts));
        } catch (RuntimeException e) {
            throw Mapping.error(e);
        }
    }

    private TokenUsage usage(List<String> texts) {
        if (!llm.info().supports(Capability.TOKENIZE)) {
            return null;
        }
        int n = 0;
        for (String t : texts) {
            n += llm.countTokens(t);
        }
        return new TokenUsage(n);
    }

    @Override
    public int dimension() {
        int d = dimension;
        if (d < 0) {
            d = embedAll(List.of(TextSegment.from("dimension"))).content().get(0).dimension();
        }
        return d;
    }

    @Override
    public String modelName() {
        return llm.info().model();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public String toString() {
        return "LocalLlmEmbeddingModel[" + llm.info().backend() + ":" + llm.info().model() + "]";
    }
}
