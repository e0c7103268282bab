package io.github.locallm.djl;

import io.github.locallm.LlmException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one thread that touches a model's native arrays: it loads the weights and runs every forward pass.
 *
 * <p>PyTorch's CPU kernels run on an OpenMP thread team that belongs to the calling thread; loading on one
 * thread and computing on others makes several teams compete for the same cores. Sending all native work
 * to one thread keeps one team, and keeps DJL's thread-local array scopes consistent.
 *
 * <p>Thread-safe: tasks from any thread run one at a time, in submission order.
 */
final class InferenceThread implements AutoCloseable {
    private final ExecutorService executor;
    private volatile Thread thread;

    InferenceThread(String name) {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
    }

    /**
     * Runs a task on the inference thread and waits for it. An interrupt of the caller does not abandon the
     * task (native work cannot be stopped half-way): the caller waits for it, then keeps its interrupt flag.
     *
     * @param task the work
     * @param <T> its result type
     * @return its result
     */
    <T> T call(Callable<T> task) {
        if (Thread.currentThread() == thread) {
            return callHere(task);
        }
        Future<T> f;
        try {
            f = executor.submit(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new IllegalStateException("the model is closed", e);
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof RuntimeException r) {
                        throw r;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new LlmException("the inference thread failed: " + c, c);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static <T> T callHere(Callable<T> task) {
        try {
            return task.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new LlmException("the inference thread failed: " + e, e);
        }
    }

    /** Runs a task on the thread and waits for it. */
    void run(Runnable task) {
        call(() -> {
            task.run();
            return null;
        });
    }

    /** Lets queued tasks finish and ends the thread; idempotent. */
    @Override
    public void close() {
        executor.shutdown();
    }
}
