package io.github.locallm.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.common.AbstractChatModelIT;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import java.util.List;

/**
 * LangChain4j's own published chat-model suite ({@code AbstractChatModelIT} from {@code langchain4j-core}'s test
 * artifact), run as published on {@link LocalLlmChatModel} over the in-process llama.cpp backend and a model the
 * tests train to give the answers the suite checks ({@link SuiteModel}).
 *
 * <p>Feature gates switched off, each for something this adapter does not do: a per-request model name (a
 * {@code LocalLlm} serves the one model it opened; the suite's refusal case runs instead), images (the model reads
 * text only, and images by URL are never fetched; the suite's refusal cases run instead), and a tool call in the
 * same turn as a JSON-schema response format (the llama.cpp backend constrains the whole output to the schema,
 * so no tool call can be written).
 */
class PublishedChatModelSuiteTest extends AbstractChatModelIT {

    @Override
    protected List<ChatModel> models() {
        return List.of(createModelWith(ChatRequestParameters.builder().build()),
                LocalLlmChatModel.builder(SuiteModels.djl()).defaultOptions(SuiteModels.GREEDY).build());
    }

    @Override
    protected ChatModel createModelWith(ChatRequestParameters parameters) {
        return LocalLlmChatModel.builder(SuiteModels.llm()).defaultOptions(SuiteModels.GREEDY)
                .defaultRequestParameters(parameters).build();
    }

    @Override
    protected ChatRequestParameters createIntegrationSpecificParameters(int maxOutputTokens) {
        return ChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    @Override
    protected boolean supportsModelNameParameter() {
        return false;
    }

    @Override
    protected boolean supportsToolsAndJsonResponseFormatWithSchema() {
        return false;
    }

    @Override
    protected boolean supportsSingleImageInputAsBase64EncodedString() {
        return false;
    }

    @Override
    protected boolean supportsSingleImageInputAsPublicURL() {
        return false;
    }
}
