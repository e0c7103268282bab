package io.github.locallm.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.common.AbstractEmbeddingModelIT;
import dev.langchain4j.model.embedding.listener.EmbeddingModelListener;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's own embedding-model suite ({@code AbstractEmbeddingModelIT} from its published test artifact),
 * run on the demo model through llama.cpp's embeddings, plus the adapter's own cases.
 */
class EmbeddingModelTest extends AbstractEmbeddingModelIT {

    @Override
    protected List<EmbeddingModel> models() {
        return List.of(LocalLlmEmbeddingModel.of(Demo.embedder()));
    }

    @Override
    protected EmbeddingModel modelWith(EmbeddingModelListener listener) {
        return LocalLlmEmbeddingModel.of(Demo.embedder(), List.of(listener));
    }

    // per-call input types, dimensions and images are not part of this SDK's embed call: refused, as asked
    @Override
    protected boolean supportsInputTypeParameter() {
        return false;
    }

    @Override
    protected boolean supportsDimensionsParameter() {
        return false;
    }

    @Override
    protected boolean supportsImageInput() {
        return false;
    }

    @Test
    void vectorsAreTheSdksOwnInOrder() {
        EmbeddingModel model = LocalLlmEmbeddingModel.of(Demo.embedder());
        var all = model.embedAll(List.of(TextSegment.from("les listes"), TextSegment.from("les boucles"))).content();

        assertThat(all.get(0).vector()).containsExactly(Demo.embedder().embed("les listes"));
        assertThat(all.get(1).vector()).containsExactly(Demo.embedder().embed("les boucles"));
        assertThat(model.modelName()).isEqualTo(Demo.embedder().info().model());
    }

    @Test
    void aModelThatCannotEmbedIsRefusedWhenTheAdapterIsBuilt() {
        assertThatThrownBy(() -> LocalLlmEmbeddingModel.of(Demo.chat()))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("embedding");
    }
}
