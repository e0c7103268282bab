package io.github.locallm.tck;

import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import java.util.List;
import java.util.concurrent.Flow;
import org.reactivestreams.tck.TestEnvironment;
import org.reactivestreams.tck.flow.FlowPublisherVerification;
import org.testng.annotations.AfterClass;

/**
 * The reactive-streams TCK (its Flow variant, TestNG-based, run on the JUnit Platform by the TestNG engine)
 * against {@link LocalLlm#publisher}, on the in-memory test backend: one element is one generated piece.
 * Publishers of a generation are finite, so the rules that need an unbounded publisher are reported skipped
 * by the reactive-streams TCK itself ({@link #maxElementsFromPublisher()}).
 */
public class PublisherFlowTckTest extends FlowPublisherVerification<String> {
    private static final String PROMPT = "Once upon a time";
    private final LocalLlm llm = LocalLlm.open("memory:tiny?ctx=4096");
    private final String firstPiece;

    /** Creates the verification with the reactive-streams TCK's default timeouts, doubled for a busy machine. */
    public PublisherFlowTckTest() {
        super(new TestEnvironment(400));
        Completion one = llm.generate(PROMPT, GenerationOptions.builder().temperature(0.0).maxTokens(1).build());
        firstPiece = one.text();
    }

    @AfterClass
    void close() {
        llm.close();
    }

    @Override
    public Flow.Publisher<String> createFlowPublisher(long elements) {
        GenerationOptions.Builder o = GenerationOptions.builder().temperature(0.0);
        if (elements == 0) {
            // a stop sequence that matches the first piece: the generation ends before any piece is sent
            return llm.publisher(PROMPT, o.maxTokens(4).stop(List.of(firstPiece)).build());
        }
        return llm.publisher(PROMPT, o.maxTokens((int) elements).build());
    }

    @Override
    public Flow.Publisher<String> createFailedFlowPublisher() {
        // refused by the backend once subscribed: an unknown per-call option
        return llm.publisher(PROMPT, GenerationOptions.builder().backendOption("memory", "no_such_option", "1").build());
    }

    @Override
    public long maxElementsFromPublisher() {
        return 1024;
    }
}
