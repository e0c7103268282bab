package io.github.locallm.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.common.AbstractChatModelListenerIT;
import dev.langchain4j.model.chat.common.AbstractStreamingChatModelListenerIT;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import java.util.List;
import org.junit.jupiter.api.Nested;

/**
 * LangChain4j's published listener suites ({@code AbstractChatModelListenerIT},
 * {@code AbstractStreamingChatModelListenerIT}) on the model of {@link SuiteModel}: listeners see the request with
 * the adapter's default parameters, the response, and an error. The failing model is an adapter whose
 * {@code LocalLlm} was closed before the call, which this SDK reports as {@code IllegalStateException}.
 */
class PublishedListenerSuitesTest {

    private static GenerationOptions options() {
        return GenerationOptions.builder().temperature(0.7).topP(1.0).maxTokens(7).build();
    }

    /** A second instance of the suite model, which each failing model closes once its adapter is built. */
    private static LocalLlm anotherInstance() {
        return LocalLlm.open("llamacpp:" + SuiteModel.gguf(), OpenOptions.builder().threads(1).build());
    }

    @Nested
    class Blocking extends AbstractChatModelListenerIT {
        @Override
        protected ChatModel createModel(ChatModelListener listener) {
            return LocalLlmChatModel.builder(SuiteModels.llm()).defaultOptions(options())
                    .listeners(List.of(listener)).build();
        }

        @Override
        protected String modelName() {
            return SuiteModels.llm().info().model();
        }

        @Override
        protected ChatModel createFailingModel(ChatModelListener listener) {
            LocalLlm llm = anotherInstance();
            ChatModel model = LocalLlmChatModel.builder(llm).listeners(List.of(listener)).build();
            llm.close();
            return model;
        }

        @Override
        protected Class<? extends Exception> expectedExceptionClass() {
            return IllegalStateException.class;
        }
    }

    @Nested
    class Streaming extends AbstractStreamingChatModelListenerIT {
        @Override
        protected StreamingChatModel createModel(ChatModelListener listener) {
            return LocalLlmStreamingChatModel.builder(SuiteModels.llm()).defaultOptions(options())
                    .listeners(List.of(listener)).build();
        }

        @Override
        protected String modelName() {
            return SuiteModels.llm().info().model();
        }

        @Override
        protected StreamingChatModel createFailingModel(ChatModelListener listener) {
            LocalLlm llm = anotherInstance();
            StreamingChatModel model = LocalLlmStreamingChatModel.builder(llm).listeners(List.of(listener)).build();
            llm.close();
            return model;
        }

        @Override
        protected Class<? extends Exception> expectedExceptionClass() {
            return IllegalStateException.class;
        }
    }
}
