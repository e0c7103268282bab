package io.github.locallm.server;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.StreamHandler;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One generation the server runs for a request: the model pushes its events into a queue that the
 * request's thread drains and writes, so a failed write (the client went away) can cancel the
 * generation at once. Registered with the server while it runs, so a shutdown can end it.
 */
final class Run implements StreamHandler, AutoCloseable {

    /** One event of a generation, in order; {@link Done} or {@link Failed} is the last. */
    sealed interface Event permits Token, Thinking, Done, Failed {
    }

    record Token(String text) implements Event {
    }

    record Thinking(String text) implements Event {
    }

    record Done(Completion completion) implements Event {
    }

    record Failed(Throwable error) implements Event {
    }

    /** How often a non-streamed generation looks whether its client is still connected. */
    private static final long CLIENT_CHECK_MILLIS = 200;

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final LlmServer server;
    private final ModelSlot.Permit permit;
    private volatile GenerationHandle handle;
    private volatile boolean cancelled;

    private Run(LlmServer server, ModelSlot.Permit permit) {
        this.server = server;
        this.permit = permit;
    }

    /**
     * Starts a chat generation once the model's slot is free.
     *
     * @throws HttpError when the model is busy past its queue or refuses the request
     */
    static Run chat(LlmServer server, ModelSlot slot, List<ChatMessage> messages, GenerationOptions options) {
        ModelSlot.Permit p = slot.acquire();
        Run r = new Run(server, p);
        try {
            server.register(r);
            r.handle = slot.llm.streamChat(messages, options, r);
        } catch (RuntimeException e) {
            r.close();
            throw Conversions.toHttp(e);
        }
        return r;
    }

    /**
     * Starts a raw completion once the model's slot is free.
     *
     * @throws HttpError when the model is busy past its queue or refuses the request
     */
    static Run completion(LlmServer server, ModelSlot slot, String prompt, GenerationOptions options) {
        ModelSlot.Permit p = slot.acquire();
        Run r = new Run(server, p);
        try {
            server.register(r);
            r.handle = slot.llm.stream(prompt, options, r);
        } catch (RuntimeException e) {
            r.close();
            throw Conversions.toHttp(e);
        }
        return r;
    }

    /**
     * @return the next event; waits for it
     * @throws InterruptedException when the request thread is interrupted
     */
    Event next() throws InterruptedException {
        return events.take();
    }

    /**
     * @param millis how long to wait
     * @return the next event, or null when none came in time
     * @throws InterruptedException when the request thread is interrupted
     */
    Event poll(long millis) throws InterruptedException {
        return events.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Cancels the generation; its stream still ends with one terminal event. */
    void cancel() {
        cancelled = true;
        GenerationHandle h = handle;
        if (h != null) {
            h.cancel();
        }
    }

    boolean cancelled() {
        return cancelled;
    }

    /** @return the completion, waiting for the end and skipping the pieces */
    Completion await() throws InterruptedException {
        while (true) {
            Event e = next();
            if (e instanceof Done d) {
                return d.completion();
            }
            if (e instanceof Failed f) {
                throw rethrow(f.error());
            }
        }
    }

    /**
     * Waits for the whole completion of a non-streamed answer; the client going away meanwhile cancels
     * the generation.
     *
     * @param ex the exchange the answer goes to
     * @return the completion
     * @throws HttpError when the generation failed
     * @throws InterruptedException when the request thread is interrupted
     */
    Completion awaitAnswer(Exchange ex) throws InterruptedException {
        ex.request.addFailureListener(t -> cancel());
        long nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLIENT_CHECK_MILLIS);
        while (true) {
            Event e = poll(CLIENT_CHECK_MILLIS);
            if (e instanceof Done d) {
                return d.completion();
            }
            if (e instanceof Failed f) {
                throw Conversions.toHttp(f.error());
            }
            // nothing is written before the answer, so the connection is looked at now and then
            if (System.nanoTime() - nextCheck >= 0 && !cancelled) {
                nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLIENT_CHECK_MILLIS);
                if (ex.clientGone()) {
                    cancel();
                }
            }
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    @Override
    public void onToken(String text) {
        events.add(new Token(text));
    }

    @Override
    public void onThinking(String text) {
        events.add(new Thinking(text));
    }

    @Override
    public void onComplete(Completion completion) {
        events.add(new Done(completion));
    }

    @Override
    public void onError(Throwable error) {
        events.add(new Failed(error));
    }

    /** Cancels the generation if it still runs, and frees the model's slot. */
    @Override
    public void close() {
        GenerationHandle h = handle;
        if (h != null && !h.isDone()) {
            h.cancel();
            try {
                h.completion().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // the slot is freed below whatever the end was; the generation's own error went to the stream
            }
        }
        permit.close();
        server.unregister(this);
    }
}
