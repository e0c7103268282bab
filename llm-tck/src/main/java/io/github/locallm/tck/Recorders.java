package io.github.locallm.tck;

import io.github.locallm.Completion;
import io.github.locallm.StreamHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/** Handlers and subscribers that record every signal, for the TCK. */
final class Recorders {
    private Recorders() {
    }

    /** One recorded signal. */
    record Event(String kind, String text, Completion completion, Throwable error) {
        boolean terminal() {
            return kind.equals("complete") || kind.equals("error");
        }
    }

    /** Records the calls of a {@link StreamHandler}; thread-safe. */
    static class RecordingHandler implements StreamHandler {
        private final List<Event> events = new ArrayList<>();
        private final CountDownLatch terminal = new CountDownLatch(1);

        @Override
        public void onToken(String text) {
            add(new Event("token", text, null, null));
        }

        @Override
        public void onThinking(String text) {
            add(new Event("thinking", text, null, null));
        }

        @Override
        public void onComplete(Completion completion) {
            add(new Event("complete", null, completion, null));
            terminal.countDown();
        }

        @Override
        public void onError(Throwable error) {
            add(new Event("error", null, null, error));
            terminal.countDown();
        }

        synchronized void add(Event e) {
            events.add(e);
        }

        synchronized List<Event> events() {
            return List.copyOf(events);
        }

        synchronized int tokenCount() {
            return (int) events.stream().filter(e -> e.kind().equals("token")).count();
        }

        synchronized String text() {
            StringBuilder sb = new StringBuilder();
            events.stream().filter(e -> e.kind().equals("token")).forEach(e -> sb.append(e.text()));
            return sb.toString();
        }

        boolean awaitTerminal(Duration max) throws InterruptedException {
            return terminal.await(max.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Records the signals of a subscription and asks for one item at a time; thread-safe. */
    static class RecordingSubscriber implements Flow.Subscriber<String> {
        private final List<Event> events = new ArrayList<>();
        private final CountDownLatch terminal = new CountDownLatch(1);
        private final long batch;
        private Flow.Subscription subscription;

        /** @param batch items asked for at subscription and after each item; 0 asks for nothing */
        RecordingSubscriber(long batch) {
            this.batch = batch;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            synchronized (this) {
                subscription = s;
                events.add(new Event("subscribe", null, null, null));
            }
            if (batch > 0) {
                s.request(batch);
            }
        }

        @Override
        public void onNext(String item) {
            Flow.Subscription s;
            synchronized (this) {
                events.add(new Event("token", item, null, null));
                s = subscription;
            }
            if (batch > 0 && batch != Long.MAX_VALUE) {
                s.request(batch);
            }
        }

        @Override
        public void onError(Throwable t) {
            synchronized (this) {
                events.add(new Event("error", null, null, t));
            }
            terminal.countDown();
        }

        @Override
        public void onComplete() {
            synchronized (this) {
                events.add(new Event("complete", null, null, null));
            }
            terminal.countDown();
        }

        synchronized Flow.Subscription subscription() {
            return subscription;
        }

        synchronized List<Event> events() {
            return List.copyOf(events);
        }

        synchronized String text() {
            StringBuilder sb = new StringBuilder();
            events.stream().filter(e -> e.kind().equals("token")).forEach(e -> sb.append(e.text()));
            return sb.toString();
        }

        synchronized int tokenCount() {
            return (int) events.stream().filter(e -> e.kind().equals("token")).count();
        }

        boolean awaitTerminal(Duration max) throws InterruptedException {
            return terminal.await(max.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
