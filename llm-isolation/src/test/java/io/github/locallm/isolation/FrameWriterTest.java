package io.github.locallm.isolation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine process's frame writer: slow pieces go out at once, fast ones are gathered for at most the hold
 * interval, answers send what is held before them, and nothing is lost, duplicated or reordered.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FrameWriterTest {
    private static final long MS = 1_000_000L;

    /** The caller's end: every flush is recorded with the bytes delivered so far and the flushing thread. */
    static final class Caller extends OutputStream {
        private final ByteArrayOutputStream delivered = new ByteArrayOutputStream();
        final List<String> flushers = new CopyOnWriteArrayList<>();

        @Override
        public synchronized void write(int b) {
            delivered.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            delivered.write(b, off, len);
        }

        @Override
        public synchronized void flush() {
            flushers.add(Thread.currentThread().getName());
        }

        synchronized byte[] bytes() {
            return delivered.toByteArray();
        }

        int flushes() {
            return flushers.size();
        }

        /** @return the frames delivered so far, as "type id text" (text empty for answers) */
        List<String> frames() throws IOException {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes()));
            List<String> out = new ArrayList<>();
            while (in.available() > 0) {
                byte type = in.readByte();
                int id = in.readInt();
                out.add(type + " " + id + " " + (type == Wire.TOKEN ? Wire.string(in) : ""));
            }
            return out;
        }
    }

    private static FrameWriter writer(Caller caller, long holdMillis, AtomicLong clock) {
        // a buffer as large as the engine process's, so that only flushes deliver bytes
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(caller, 1 << 20));
        return new FrameWriter(out, holdMillis, e -> {
            throw new AssertionError(e);
        }, clock::get);
    }

    private static void token(FrameWriter w, int id, String text) {
        w.piece(Wire.TOKEN, id, o -> Wire.string(o, text));
    }

    private static void result(FrameWriter w, int id) {
        w.answer(Wire.RESULT, id, o -> { });
    }

    /** Waits until the caller has seen {@code n} flushes (the flushing thread sends on its own time). */
    private static void awaitFlushes(Caller caller, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (caller.flushes() < n && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(caller.flushes()).isEqualTo(n);
    }

    /** Asserts that the caller still has {@code n} flushes a while later: nothing more was sent. */
    private static void stillFlushes(Caller caller, int n) throws InterruptedException {
        Thread.sleep(50);
        assertThat(caller.flushes()).isEqualTo(n);
    }

    @Test
    void piecesSlowerThanTheHoldIntervalGoOutAtOnceFromTheFlushingThread() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            for (int i = 0; i < 5; i++) {
                token(w, 7, "p" + i);
                // sent without waiting for the writer's clock: no piece waits when pieces are slow
                awaitFlushes(caller, i + 1);
                assertThat(caller.frames()).last().isEqualTo(Wire.TOKEN + " 7 p" + i);
                clock.addAndGet(4 * MS);
            }
            // sent by the flushing thread, not by the thread that produced the pieces
            assertThat(caller.flushers).containsOnly("locallm-engine-flusher");
        }
    }

    @Test
    void fastPiecesAreHeldAndTheAnswerSendsThemFirstInOrder() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 3, "a");
            awaitFlushes(caller, 1);
            for (String p : List.of("b", "c", "d")) {
                clock.addAndGet(MS);
                token(w, 3, p);
            }
            // three pieces within one hold interval of the last send: held, not delivered
            stillFlushes(caller, 1);
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 3 a");
            result(w, 3);
            // the answer is sent by the thread that gives it, before answer() returns
            assertThat(caller.flushes()).isEqualTo(2);
            assertThat(caller.flushers.get(1)).isEqualTo(Thread.currentThread().getName());
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 3 a", Wire.TOKEN + " 3 b",
                    Wire.TOKEN + " 3 c", Wire.TOKEN + " 3 d", Wire.RESULT + " 3 ");
        }
    }

    @Test
    void theFirstPieceOfACallIsNeverHeld() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 1, "a");
            result(w, 1);
            // "a" went out alone or together with the answer, depending on the flushing thread's timing
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 1 a", Wire.RESULT + " 1 ");
            int sends = caller.flushes();
            // the next call's first piece comes right after the last send: it goes out at once all the same
            clock.addAndGet(MS);
            w.piece(Wire.TOKEN, 2, o -> Wire.string(o, "first"), true);
            awaitFlushes(caller, sends + 1);
            clock.addAndGet(MS);
            w.piece(Wire.TOKEN, 2, o -> Wire.string(o, "second"), false);
            stillFlushes(caller, sends + 1);
            assertThat(caller.frames()).last().isEqualTo(Wire.TOKEN + " 2 first");
        }
    }

    @Test
    void aHeldPieceGoesOutTwoHoldIntervalsAfterTheLastSendWithoutAnotherPiece() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 5, "first");
            awaitFlushes(caller, 1);
            clock.addAndGet(MS);
            token(w, 5, "held");
            stillFlushes(caller, 1);
            // the interval has not ended on the writer's clock: the piece stays held however long we wait
            Thread.sleep(50);
            assertThat(caller.flushes()).isEqualTo(1);
            // one hold interval after the last send it is still held: a next piece would send it
            clock.addAndGet(3 * MS);
            Thread.sleep(50);
            assertThat(caller.flushes()).isEqualTo(1);
            // two hold intervals after the last send, with no piece to send it, the flushing thread does
            clock.addAndGet(4 * MS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (caller.flushes() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(caller.flushes()).isEqualTo(2);
            assertThat(caller.flushers.get(1)).isEqualTo("locallm-engine-flusher");
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 5 first", Wire.TOKEN + " 5 held");
        }
    }

    @Test
    void concurrentCallsKeepEveryPieceOnceAndInOrderOnTheRealClock() throws Exception {
        Caller caller = new Caller();
        int pieces = 5_000;
        try (FrameWriter w = new FrameWriter(new DataOutputStream(new BufferedOutputStream(caller, 1 << 20)), 2,
                e -> {
                    throw new AssertionError(e);
                })) {
            List<Thread> threads = new ArrayList<>();
            for (int id = 1; id <= 2; id++) {
                int call = id;
                threads.add(new Thread(() -> {
                    for (int i = 0; i < pieces; i++) {
                        token(w, call, Integer.toString(i));
                    }
                    result(w, call);
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
            List<String> frames = caller.frames();
            assertThat(frames).hasSize(2 * pieces + 2);
            for (int id = 1; id <= 2; id++) {
                String prefix = Wire.TOKEN + " " + id + " ";
                List<String> mine = new ArrayList<>();
                for (String f : frames) {
                    if (f.startsWith(prefix)) {
                        mine.add(f.substring(prefix.length()));
                    }
                }
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < pieces; i++) {
                    expected.add(Integer.toString(i));
                }
                assertThat(mine).isEqualTo(expected);
                // the answer comes after the last piece of its call
                assertThat(frames.indexOf(Wire.RESULT + " " + id + " "))
                        .isGreaterThan(frames.indexOf(prefix + (pieces - 1)));
            }
            // 10,000 pieces written as fast as two threads can: gathered into far fewer sends
            assertThat(caller.flushes()).isLessThan(pieces);
        }
    }

    @Test
    void aHoldOfZeroSendsEveryPieceAtOnceFromTheProducingThread() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 0, clock)) {
            for (int i = 0; i < 3; i++) {
                token(w, 1, "x" + i);
                assertThat(caller.flushes()).isEqualTo(i + 1);
            }
            assertThat(caller.flushers).containsOnly(Thread.currentThread().getName());
        }
        assertThat(caller.frames()).hasSize(3);
    }

    @Test
    void closeSendsWhatIsHeld() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        FrameWriter w = writer(caller, 50, clock);
        token(w, 2, "a");
        awaitFlushes(caller, 1);
        token(w, 2, "b");
        stillFlushes(caller, 1);
        assertThat(caller.frames()).hasSize(1);
        w.close();
        assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 2 a", Wire.TOKEN + " 2 b");
    }

    @Test
    void aFailedWriteIsReportedOnceAndNothingIsWrittenAfterIt() throws Exception {
        List<IOException> failures = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
        OutputStream gone = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                writes.incrementAndGet();
                throw new IOException("the caller went away");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                write(0);
            }
        };
        try (FrameWriter w = new FrameWriter(new DataOutputStream(gone), 4, failures::add)) {
            w.answer(Wire.RESULT, 1, o -> { });
            assertThat(failures).hasSize(1);
            w.answer(Wire.RESULT, 2, o -> { });
            token(w, 3, "late");
            Thread.sleep(50);
            assertThat(failures).hasSize(1);
            assertThat(writes.get()).isEqualTo(1);
        }
    }

    @Test
    void theHoldIntervalIsBoundedAndValidated() {
        String old = System.getProperty(FrameWriter.HOLD_PROPERTY);
        try {
            System.clearProperty(FrameWriter.HOLD_PROPERTY);
            assertThat(FrameWriter.configuredHoldMillis()).isEqualTo(FrameWriter.DEFAULT_HOLD_MILLIS);
            System.setProperty(FrameWriter.HOLD_PROPERTY, "0");
            assertThat(FrameWriter.configuredHoldMillis()).isZero();
            for (String bad : List.of("-1", "51", "four", "1e3")) {
                System.setProperty(FrameWriter.HOLD_PROPERTY, bad);
                assertThatThrownBy(FrameWriter::configuredHoldMillis).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining(FrameWriter.HOLD_PROPERTY).hasMessageContaining(bad);
            }
        } finally {
            if (old == null) {
                System.clearProperty(FrameWriter.HOLD_PROPERTY);
            } else {
                System.setProperty(FrameWriter.HOLD_PROPERTY, old);
            }
        }
        assertThatThrownBy(() -> new FrameWriter(new DataOutputStream(OutputStream.nullOutputStream()), 51, e -> { }))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
