package io.github.locallm.langchain4j;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.atLeast;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.common.AbstractStreamingChatModelIT;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.util.List;
import org.mockito.InOrder;

/**
 * LangChain4j's own published streaming chat-model suite ({@code AbstractStreamingChatModelIT}), run as published
 * on {@link LocalLlmStreamingChatModel} over the in-process llama.cpp backend and the model of {@link SuiteModel}.
 *
 * <p>Feature gates switched off are those of {@link PublishedChatModelSuiteTest}, plus partial tool-call streaming:
 * this SDK's stream delivers a tool call once it is whole ({@code onCompleteToolCall}), never argument fragments.
 */
class PublishedStreamingChatModelSuiteTest extends AbstractStreamingChatModelIT {

    @Override
    protected List<StreamingChatModel> models() {
        return List.of(createModelWith(ChatRequestParameters.builder().build()));
    }

    @Override
    protected StreamingChatModel createModelWith(ChatRequestParameters parameters) {
        return LocalLlmStreamingChatModel.builder(SuiteModels.llm()).defaultOptions(SuiteModels.GREEDY)
                .defaultRequestParameters(parameters).build();
    }

    @Override
    public StreamingChatModel createModelWith(ChatModelListener listener) {
        return LocalLlmStreamingChatModel.builder(SuiteModels.llm()).defaultOptions(SuiteModels.GREEDY)
                .listeners(List.of(listener)).build();
    }

    @Override
    protected ChatRequestParameters createIntegrationSpecificParameters(int maxOutputTokens) {
        return ChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    @Override
    protected void verifyToolCallbacks(StreamingChatResponseHandler handler, InOrder io, String id) {
        io.verify(handler, atLeast(0)).onPartialResponse(any(), any());
        io.verify(handler).onCompleteToolCall(complete(0, id, "getWeather", SuiteModels.MUNICH));
    }

    @Override
    protected void verifyToolCallbacks(StreamingChatResponseHandler handler, InOrder io, String id1, String id2) {
        io.verify(handler, atLeast(0)).onPartialResponse(any(), any());
        io.verify(handler).onCompleteToolCall(complete(0, id1, "getWeather", SuiteModels.MUNICH));
        io.verify(handler).onCompleteToolCall(complete(1, id2, "getTime", SuiteModels.FRANCE));
    }

    @Override
    protected boolean supportsPartialToolStreaming(StreamingChatModel model) {
        return false;
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
