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

    @Test
    void piecesSlowerThanTheHoldIntervalGoOutAtOnce() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            for (int i = 0; i < 5; i++) {
                token(w, 7, "p" + i);
                // delivered before piece() returned: no piece waits when pieces are slow
                assertThat(caller.flushes()).isEqualTo(i + 1);
                assertThat(caller.frames()).last().isEqualTo(Wire.TOKEN + " 7 p" + i);
                clock.addAndGet(4 * MS);
            }
        }
    }

    @Test
    void fastPiecesAreHeldAndTheAnswerSendsThemFirstInOrder() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 3, "a");
            assertThat(caller.flushes()).isEqualTo(1);
            for (String p : List.of("b", "c", "d")) {
                clock.addAndGet(MS);
                token(w, 3, p);
            }
            // three pieces within one hold interval of the last send: held, not delivered
            assertThat(caller.flushes()).isEqualTo(1);
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 3 a");
            result(w, 3);
            assertThat(caller.flushes()).isEqualTo(2);
            assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 3 a", Wire.TOKEN + " 3 b",
                    Wire.TOKEN + " 3 c", Wire.TOKEN + " 3 d", Wire.RESULT + " 3 ");
        }
    }

    @Test
    void theFirstPieceOfACallIsNeverHeld() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 1, "a");
            result(w, 1);
            assertThat(caller.flushes()).isEqualTo(2);
            // the next call's first piece comes right after the last send: it goes out at once all the same
            clock.addAndGet(MS);
            w.piece(Wire.TOKEN, 2, o -> Wire.string(o, "first"), true);
            assertThat(caller.flushes()).isEqualTo(3);
            clock.addAndGet(MS);
            w.piece(Wire.TOKEN, 2, o -> Wire.string(o, "second"), false);
            assertThat(caller.flushes()).isEqualTo(3);
            assertThat(caller.frames()).last().isEqualTo(Wire.TOKEN + " 2 first");
        }
    }

    @Test
    void aHeldPieceGoesOutTwoHoldIntervalsAfterTheLastSendWithoutAnotherPiece() throws Exception {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 4, clock)) {
            token(w, 5, "first");
            clock.addAndGet(MS);
            token(w, 5, "held");
            assertThat(caller.flushes()).isEqualTo(1);
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
    void aHoldOfZeroSendsEveryPieceAtOnce() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        try (FrameWriter w = writer(caller, 0, clock)) {
            for (int i = 0; i < 3; i++) {
                token(w, 1, "x" + i);
                assertThat(caller.flushes()).isEqualTo(i + 1);
            }
        }
        assertThat(caller.frames()).hasSize(3);
    }

    @Test
    void closeSendsWhatIsHeld() throws IOException {
        Caller caller = new Caller();
        AtomicLong clock = new AtomicLong(1_000 * MS);
        FrameWriter w = writer(caller, 50, clock);
        token(w, 2, "a");
        token(w, 2, "b");
        assertThat(caller.frames()).hasSize(1);
        w.close();
        assertThat(caller.frames()).containsExactly(Wire.TOKEN + " 2 a", Wire.TOKEN + " 2 b");
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
