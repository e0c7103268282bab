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
 * Streaming cases beyond LangChain4j's published suite ({@link PublishedStreamingChatModelSuiteTest}), on the
 * demo model whose answers are known: pieces add up to the blocking answer, a handler's exception on every piece
 * does not stop the stream, a refused request calls nothing back, and a closed model is reported through
 * {@code onError}.
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
