package io.github.locallm.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.FinishReason;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's common streaming cases (order of pieces, cancellation through the streaming handle, exceptions
 * thrown by user handlers), reproduced on the demo model whose answers are known.
 */
class StreamingChatModelTest {

    private final StreamingChatModel model =
            LocalLlmStreamingChatModel.builder(Demo.chat()).defaultOptions(Demo.GREEDY).build();

    /** Records every callback of one stream. */
    static class Recorder implements StreamingChatResponseHandler {
        final List<String> pieces = new CopyOnWriteArrayList<>();
        final List<Throwable> errors = new CopyOnWriteArrayList<>();
        final CompletableFuture<ChatResponse> response = new CompletableFuture<>();
        final CountDownLatch ended = new CountDownLatch(1);

        @Override
        public void onPartialResponse(String piece) {
            pieces.add(piece);
        }

        @Override
        public void onCompleteResponse(ChatResponse r) {
            response.complete(r);
            ended.countDown();
        }

        @Override
        public void onError(Throwable error) {
            errors.add(error);
            ended.countDown();
        }

        ChatResponse await() throws Exception {
            return response.get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void piecesArriveInOrderAndAddUpToTheResponse() throws Exception {
        Recorder r = new Recorder();
        model.chat(Demo.QUESTION, r);

        ChatResponse response = r.await();
        assertThat(String.join("", r.pieces)).isEqualTo(response.aiMessage().text())
                .isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(r.pieces.size()).isGreaterThan(3);
        assertThat(response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(response.tokenUsage().outputTokenCount()).isPositive();
        assertThat(r.errors).isEmpty();
    }

    @Test
    void cancellingThroughTheHandleStopsTheStreamWithNoFurtherCallback() throws Exception {
        AtomicInteger partials = new AtomicInteger();
        AtomicReference<StreamingHandle> handle = new AtomicReference<>();
        CountDownLatch cancelled = new CountDownLatch(1);
        CompletableFuture<Object> terminal = new CompletableFuture<>();
        StreamingChatResponseHandler h = new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(PartialResponse piece, PartialResponseContext ctx) {
                assertThat(ctx.streamingHandle().isCancelled()).isFalse();
                handle.set(ctx.streamingHandle());
                if (partials.incrementAndGet() == 3) {
                    ctx.streamingHandle().cancel();
                    cancelled.countDown();
                }
            }

            @Override
            public void onCompleteResponse(ChatResponse r) {
                terminal.complete(r);
            }

            @Override
            public void onError(Throwable error) {
                terminal.complete(error);
            }
        };

        model.chat(ChatRequest.builder().messages(UserMessage.from(Demo.QUESTION))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(90).build()).build(), h);

        // the generation would have gone on for tens of pieces; after the cancel none arrives, nor a terminal call
        assertThat(cancelled.await(60, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(1500);
        assertThat(partials.get()).isEqualTo(3);
        assertThat(terminal).isNotDone();
        assertThat(handle.get().isCancelled()).isTrue();
        handle.get().cancel();
        assertThat(handle.get().isCancelled()).isTrue();
        // and the model is free for the next call at once
        assertThat(LocalLlmChatModel.builder(Demo.chat()).defaultOptions(Demo.GREEDY).build().chat(Demo.QUESTION))
                .isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
    }

    @Test
    void anExceptionFromOnPartialResponseReachesOnErrorEachTimeAndTheStreamGoesOn() throws Exception {
        RuntimeException boom = new RuntimeException("user code failed");
        Recorder r = new Recorder() {
            @Override
            public void onPartialResponse(String piece) {
                super.onPartialResponse(piece);
                throw boom;
            }
        };
        model.chat(Demo.QUESTION, r);

        ChatResponse response = r.await();
        assertThat(response.aiMessage().text()).isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(r.errors).hasSize(r.pieces.size()).allMatch(e -> e == boom);
    }

    @Test
    void anExceptionFromOnCompleteResponseReachesOnErrorOnce() throws Exception {
        RuntimeException boom = new RuntimeException("user code failed");
        CountDownLatch errored = new CountDownLatch(1);
        Recorder r = new Recorder() {
            @Override
            public void onCompleteResponse(ChatResponse response) {
                super.onCompleteResponse(response);
                throw boom;
            }

            @Override
            public void onError(Throwable error) {
                super.onError(error);
                errored.countDown();
                throw new IllegalStateException("ignored by the adapter");
            }
        };
        model.chat(Demo.QUESTION, r);

        assertThat(r.await().aiMessage().text()).isEqualTo(Demo.TRAINED.get(Demo.QUESTION));
        assertThat(errored.await(30, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(200);
        assertThat(r.errors).containsExactly(boom);
    }

    @Test
    void anUnsupportedParameterIsRefusedByTheCallWithNoCallback() throws Exception {
        Recorder r = new Recorder();
        assertThatThrownBy(() -> model.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().presencePenalty(1.0).build()).build(), r))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("presencePenalty");

        assertThat(r.ended.await(200, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(r.errors).isEmpty();
        assertThat(r.pieces).isEmpty();
        assertThat(r.response).isNotDone();
    }

    @Test
    void aClosedModelIsReportedThroughOnError() throws Exception {
        io.github.locallm.LocalLlm opened = io.github.locallm.LocalLlm.open("llamacpp:" + Demo.gguf());
        StreamingChatModel streaming = LocalLlmStreamingChatModel.of(opened);
        opened.close();
        Recorder r = new Recorder();
        streaming.chat(Demo.QUESTION, r);

        assertThat(r.ended.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(r.errors).singleElement().isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> LocalLlmChatModel.of(opened).chat(Demo.QUESTION))
                .isInstanceOf(IllegalStateException.class);
    }
}
