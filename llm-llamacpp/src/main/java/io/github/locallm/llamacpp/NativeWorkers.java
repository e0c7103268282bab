package io.github.locallm.llamacpp;

import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Keeps the binding's native worker threads from holding the JVM open at exit.
 *
 * <p>Each loaded model runs a native thread that the binding attaches to the JVM as a non-daemon thread and
 * never detaches, not even after {@code close()}: a program whose {@code main} returns would then wait
 * forever. This class records those threads when a model is loaded, and a daemon watcher ends the JVM
 * normally ({@code System.exit(0)}, shutdown hooks run) once every other non-daemon thread has finished,
 * which is the moment the JVM would have exited without them.
 */
final class NativeWorkers {

    private static final Set<Thread> WORKERS = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    private static final Object LOCK = new Object();
    private static Thread watcher;

    private NativeWorkers() {
    }

    /** Returns the live threads of the JVM. */
    static Set<Thread> liveThreads() {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        Set<Thread> out = new HashSet<>();
        for (int i = 0; i < n; i++) {
            out.add(threads[i]);
        }
        return out;
    }

    /**
     * Records the non-daemon threads that appeared since {@code before} (the worker of a model just loaded),
     * waiting briefly for the native side to attach it.
     */
    static void adoptNewThreads(Set<Thread> before) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (true) {
            boolean found = false;
            for (Thread t : liveThreads()) {
                if (!before.contains(t) && !t.isDaemon() && t != Thread.currentThread() && t.getStackTrace().length == 0) {
                    WORKERS.add(t);
                    found = true;
                }
            }
            if (found || System.nanoTime() > deadline) {
                break;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        startWatcher();
    }

    private static void startWatcher() {
        synchronized (LOCK) {
            if (watcher != null) {
                return;
            }
            watcher = new Thread(NativeWorkers::watch, "locallm-llamacpp-exit-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    private static void watch() {
        while (true) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            boolean othersAlive = false;
            for (Thread t : liveThreads()) {
                if (t.isAlive() && !t.isDaemon() && !WORKERS.contains(t) && !t.getName().equals("DestroyJavaVM")) {
                    othersAlive = true;
                    break;
                }
            }
            if (!othersAlive && !WORKERS.isEmpty()) {
                System.exit(0);
            }
        }
    }
}
