package io.github.locallm.server;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What a LangChain4j streaming chat model received from the server: the partial texts in order and the
 * final response.
 *
 * @param pieces the partial responses
 * @param response the complete response
 */
record Streamed(List<String> pieces, ChatResponse response) {

    /** @return the pieces joined */
    String text() {
        return String.join("", pieces);
    }

    /**
     * Streams one request and waits (at most 60 s) for its end.
     *
     * @param model the client's streaming model
     * @param request the request
     * @return what arrived
     * @throws Exception when the stream failed or did not end in time
     */
    static Streamed chat(StreamingChatModel model, ChatRequest request) throws Exception {
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(request, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                synchronized (pieces) {
                    pieces.add(partial);
                }
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        synchronized (pieces) {
            return new Streamed(List.copyOf(pieces), response);
        }
    }
}
