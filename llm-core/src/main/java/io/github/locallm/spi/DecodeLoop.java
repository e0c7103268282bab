package io.github.locallm.spi;

import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import java.util.List;
import java.util.Objects;

/**
 * The decode loop of every in-process backend, written once: the context check, the token budget, stop
 * sequences, cancellation, the finish reason and UTF-8-safe pieces. The backend supplies only a
 * {@link DecodeEngine}.
 *
 * <p>The rules:
 * <ul>
 *   <li>The prompt must leave room for at least one new token: {@code promptTokens < contextLength}, else
 *       {@link ContextOverflowException} with the three counts.</li>
 *   <li>The budget is {@code maxTokens} if given, else the model's own default if it has one, else the
 *       room left; it is then cut to the room left, and is at least one.</li>
 *   <li>The finish reason follows {@link LlmBackend#generate}: {@link FinishReason#STOP} for an
 *       end-of-generation token or a matched stop sequence, {@link FinishReason#LENGTH} when the budget
 *       is spent, {@link FinishReason#CANCELLED} when the cancel signal was seen (checked before every
 *       token is sampled and after every token is sent).</li>
 *   <li>{@code completionTokens} counts the sampled tokens, the end-of-generation token excluded.</li>
 *   <li>Text held back (an incomplete character, the start of a possible stop sequence) is sent at the
 *       end, except after a cancel: then nothing more is sent.</li>
 * </ul>
 *
 * <pre>{@code
 * int[] prompt = encoder.encodeChat(request.messages(), request.options().tools());
 * DecodeLoop loop = DecodeLoop.plan("mybackend model " + name, prompt, contextLength, request.options(), 0);
 * return loop.run(engine, sink, cancel);
 * }</pre>
 *
 * <p>Immutable plan; {@link #run} is called once per generation on the generating thread.
 */
public final class DecodeLoop {
    private final int[] prompt;
    private final int maxNewTokens;
    private final List<String> stops;

    private DecodeLoop(int[] prompt, int maxNewTokens, List<String> stops) {
        this.prompt = prompt;
        this.maxNewTokens = maxNewTokens;
        this.stops = stops;
    }

    /**
     * Checks that the prompt fits and fixes the budget of new tokens.
     *
     * @param model names the model in messages, such as {@code "djl model qwen"}
     * @param prompt the prompt tokens, not empty (a backend starts an empty prompt with its BOS token)
     * @param contextLength the context window in tokens
     * @param options the validated options (maxTokens, stop sequences)
     * @param modelDefaultMaxTokens the model's own default budget when maxTokens is not given, or 0 for none
     * @return the plan of the generation
     * @throws ContextOverflowException when the prompt leaves no room for a new token
     * @throws IllegalArgumentException when the prompt is empty
     */
    public static DecodeLoop plan(String model, int[] prompt, int contextLength, GenerationOptions options,
                                  int modelDefaultMaxTokens) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt of " + model + " has no tokens; start it with the BOS token");
        }
        if (contextLength < 1) {
            throw new IllegalArgumentException("contextLength must be >= 1: " + contextLength + " (" + model + ")");
        }
        int asked = options.maxTokens().orElse(modelDefaultMaxTokens > 0 ? modelDefaultMaxTokens : 0);
        int room = contextLength - prompt.length;
        if (room < 1) {
            throw new ContextOverflowException("the prompt of " + prompt.length + " tokens leaves no room in the context"
                    + " of " + contextLength + " tokens of " + model + "; shorten it or open the model with a larger ctx",
                    prompt.length, Math.max(1, asked), contextLength);
        }
        int budget = asked > 0 ? Math.min(asked, room) : room;
        return new DecodeLoop(prompt.clone(), Math.max(1, budget), options.stop());
    }

    /** @return the number of prompt tokens */
    public int promptTokens() {
        return prompt.length;
    }

    /** @return a copy of the prompt tokens */
    public int[] prompt() {
        return prompt.clone();
    }

    /** @return the most tokens this generation produces, at least one */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /**
     * Runs the generation.
     *
     * @param engine evaluates and samples
     * @param sink receives the pieces; its exceptions pass through unchanged
     * @param cancel polled before each token is sampled and after each piece is sent
     * @return how the generation ended
     */
    public BackendResult run(DecodeEngine engine, TokenSink sink, CancelSignal cancel) {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(cancel, "cancel");
        StopSequenceFilter filter = new StopSequenceFilter(stops, Objects.requireNonNull(sink, "sink"));
        if (cancel.isCancelled()) {
            return BackendResult.of(FinishReason.CANCELLED, prompt.length, 0);
        }
        PieceDecoder text = engine.newPieceDecoder();
        engine.evaluate(prompt.clone());
        int produced = 0;
        FinishReason reason;
        while (true) {
            if (cancel.isCancelled()) {
                reason = FinishReason.CANCELLED;
                break;
            }
            int token = engine.sample();
            if (engine.isEndOfGeneration(token)) {
                reason = FinishReason.STOP;
                break;
            }
            produced++;
            if (filter.accept(text.push(token))) {
                reason = FinishReason.STOP;
                break;
            }
            if (produced >= maxNewTokens) {
                reason = FinishReason.LENGTH;
                break;
            }
            if (cancel.isCancelled()) {
                reason = FinishReason.CANCELLED;
                break;
            }
            engine.evaluate(new int[] {token});
        }
        if (reason != FinishReason.CANCELLED && !filter.stopped()) {
            if (filter.accept(text.flush())) {
                reason = FinishReason.STOP;
            } else {
                filter.flush();
            }
        }
        return BackendResult.of(reason, prompt.length, produced);
    }
}
