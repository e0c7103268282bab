package io.github.locallm.memory;

import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.StopSequenceFilter;
import io.github.locallm.spi.TokenSink;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The in-memory model: one token per Unicode code point; the text is a word sequence chosen by a random
 * generator seeded from the prompt (and the seed, when the temperature is above zero). Asked for JSON (when
 * it claims JSON_MODE), it writes a JSON object holding such words and closes it within the token limit, as
 * a grammar-constrained backend would. It records how core calls it, so tests can check the lifecycle rules.
 *
 * <p>Thread-safe.
 */
public final class InMemoryBackend implements LlmBackend {
    /** Tokens produced when the options set no maximum. */
    public static final int DEFAULT_MAX_TOKENS = 48;

    private static final List<String> WORDS = List.of("the", "cat", "sat", "on", "a", "mat", "café", "naïve",
            "über", "日本", "😀", "and", "then", "slept", "Hello", "world", "quietly", "river", "—", "ok");
    private static final List<InMemoryBackend> OPENED = new CopyOnWriteArrayList<>();

    /** How long a held generation waits for its cancel before it fails, so that a broken test cannot hang. */
    private static final long HOLD_LIMIT_SECONDS = 300;

    /**
     * What the model does besides generating words.
     *
     * @param delayMs pause before each token
     * @param holdAfter tokens after which a generation waits until cancelled; negative for never
     * @param failAfter tokens after which a generation fails; negative for never
     * @param tokenize whether it can tokenize and count tokens
     * @param chat whether it has a chat template
     * @param json whether it constrains output to JSON when asked
     * @param embed whether it computes embeddings
     * @param seed whether it samples reproducibly with a seed
     * @param tools whether it claims tools and forced tool calls (it answers in words all the same; tests read
     *              {@link #lastRequest} to see what core handed it)
     * @param ignoreCancel whether it never looks at its cancel signal (a broken backend)
     */
    record Behaviour(int delayMs, int holdAfter, int failAfter, boolean tokenize, boolean chat, boolean json,
            boolean embed, boolean seed, boolean tools, boolean ignoreCancel) {
    }

    private final ModelInfo info;
    private final int delayMs;
    private final int holdAfter;
    private final int failAfter;
    private final boolean ignoresCancel;
    private final boolean tokenizes;
    private final boolean chats;

    /** Calls of {@link #generate}. */
    public final AtomicInteger generateCalls = new AtomicInteger();
    /** Calls of {@link #generate} running now. */
    public final AtomicInteger activeCalls = new AtomicInteger();
    /** Most calls of {@link #generate} seen running at once. */
    public final AtomicInteger maxActiveCalls = new AtomicInteger();
    /** Calls of {@link #close()}. */
    public final AtomicInteger closeCalls = new AtomicInteger();
    /** The request of the latest call of {@link #generate}. */
    public volatile GenerationRequest lastRequest;
    /** Calls of any method after {@link #close()}, or {@code close()} while a generation ran. */
    public final AtomicInteger misuse = new AtomicInteger();
    private volatile boolean closed;

    InMemoryBackend(String model, int ctx, Behaviour b) {
        Set<Capability> caps = EnumSet.of(Capability.COMPLETION);
        if (b.seed()) {
            caps.add(Capability.SEED);
        }
        if (b.chat()) {
            caps.add(Capability.CHAT);
        }
        if (b.tokenize()) {
            caps.add(Capability.TOKENIZE);
        }
        if (b.json()) {
            caps.add(Capability.JSON_MODE);
        }
        if (b.embed()) {
            caps.add(Capability.EMBEDDINGS);
        }
        if (b.tools()) {
            caps.add(Capability.TOOLS);
            caps.add(Capability.TOOL_CHOICE);
        }
        this.info = new ModelInfo("memory", model, ctx, caps, Map.of("tokenizer", "one token per code point"));
        this.tokenizes = b.tokenize();
        this.chats = b.chat();
        this.delayMs = b.delayMs();
        this.holdAfter = b.holdAfter();
        this.failAfter = b.failAfter();
        this.ignoresCancel = b.ignoreCancel();
        OPENED.add(this);
    }

    /** @return every backend opened in this JVM, oldest first */
    public static List<InMemoryBackend> opened() {
        return List.copyOf(OPENED);
    }

    /** @return the backend opened last */
    public static InMemoryBackend last() {
        return OPENED.get(OPENED.size() - 1);
    }

    /** @return true once closed */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public BackendResult generate(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        checkOpen();
        generateCalls.incrementAndGet();
        lastRequest = request;
        maxActiveCalls.accumulateAndGet(activeCalls.incrementAndGet(), Math::max);
        try {
            return run(request, sink, cancel);
        } finally {
            activeCalls.decrementAndGet();
        }
    }

    private BackendResult run(GenerationRequest request, TokenSink sink, CancelSignal cancel) {
        if (request.isChat() && !chats) {
            throw new UnsupportedCapabilityException("memory model " + info.model() + " has no chat template; "
                    + "open it without chat=false to chat", io.github.locallm.Capability.CHAT);
        }
        io.github.locallm.spi.OptionValues.backendOptions(request.options(), "memory", "memory model " + info.model(),
                java.util.Set.of());
        String input = request.isChat() ? render(request.messages()) : request.prompt();
        int promptTokens = input.codePointCount(0, input.length());
        int ctx = info.contextLength();
        if (promptTokens >= ctx) {
            throw new ContextOverflowException("memory model " + info.model() + ": prompt of " + promptTokens
                    + " tokens does not fit the context of " + ctx + "; shorten it or open with a larger ctx",
                    promptTokens, request.options().maxTokens().orElse(1), ctx);
        }
        GenerationOptions o = request.options();
        int limit = Math.min(o.maxTokens().orElse(DEFAULT_MAX_TOKENS), ctx - promptTokens);
        SplittableRandom random = new SplittableRandom(seedFor(input, o));
        StopSequenceFilter filter = new StopSequenceFilter(o.stop(), sink);
        boolean json = o.responseFormat().map(f -> f.kind() == ResponseFormat.Kind.JSON).orElse(false);
        int[] jsonText = json ? jsonObject(random, limit).codePoints().toArray() : null;
        if (json && jsonText.length < limit) {
            limit = jsonText.length;
        }
        int produced = 0;
        int[] word = new int[0];
        int pos = 0;
        while (produced < limit) {
            if (produced == holdAfter) {
                holdUntilCancelled(cancel);
            }
            if (cancel.isCancelled() && !ignoresCancel) {
                filter.flush();
                return BackendResult.of(FinishReason.CANCELLED, promptTokens, produced);
            }
            if (failAfter >= 0 && produced >= failAfter) {
                throw new LlmException("memory model " + info.model() + " failed on purpose after " + produced
                        + " tokens (fail_after)");
            }
            if (json) {
                word = jsonText;
            } else if (pos == word.length) {
                String next = (produced == 0 ? "" : " ") + WORDS.get(random.nextInt(WORDS.size()));
                word = next.codePoints().toArray();
                pos = 0;
            }
            pause();
            String piece = new String(word, pos++, 1);
            produced++;
            if (filter.accept(piece)) {
                return BackendResult.of(FinishReason.STOP, promptTokens, produced);
            }
        }
        filter.flush();
        boolean closedJson = json && produced == jsonText.length;
        return BackendResult.of(closedJson ? FinishReason.STOP : FinishReason.LENGTH, promptTokens, produced);
    }

    // An object of a few words that fits the limit; when not even the smallest object fits, its start.
    private static String jsonObject(SplittableRandom random, int limit) {
        List<String> words = new ArrayList<>();
        int count = 2 + random.nextInt(6);
        for (int i = 0; i < count; i++) {
            words.add(WORDS.get(random.nextInt(WORDS.size())));
        }
        while (true) {
            String text = "{\"story\": \"" + String.join(" ", words) + "\"}";
            if (text.codePointCount(0, text.length()) <= limit || words.isEmpty()) {
                return text.codePointCount(0, text.length()) <= limit ? text : "{}";
            }
            words.remove(words.size() - 1);
        }
    }

    private void holdUntilCancelled(CancelSignal cancel) {
        CountDownLatch cancelled = new CountDownLatch(1);
        cancel.onCancel(cancelled::countDown);
        try {
            if (!cancelled.await(HOLD_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                throw new LlmException("memory model " + info.model() + " held a generation after " + holdAfter
                        + " tokens (hold_after) for " + HOLD_LIMIT_SECONDS + " s and nobody cancelled it");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LlmException("memory model " + info.model() + " was interrupted while holding a generation", e);
        }
    }

    private void pause() {
        if (delayMs > 0) {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static long seedFor(String input, GenerationOptions o) {
        long h = 1125899906842597L;
        for (byte b : input.getBytes(StandardCharsets.UTF_8)) {
            h = 31 * h + b;
        }
        double temperature = o.temperature().orElse(0.0);
        if (temperature == 0.0) {
            return h;
        }
        long seed = o.seed().isPresent() ? o.seed().getAsLong() : ThreadLocalRandom.current().nextLong();
        return h ^ (seed * 0x9E3779B97F4A7C15L) ^ Double.doubleToLongBits(temperature);
    }

    /** @param messages a conversation @return the text the model reads for it */
    static String render(List<ChatMessage> messages) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : messages) {
            sb.append("<|").append(m.role().wireName()).append("|>").append(m.content()).append('\n');
        }
        return sb.append("<|assistant|>").toString();
    }

    @Override
    public int[] tokenize(String text) {
        checkOpen();
        if (!tokenizes) {
            return LlmBackend.super.tokenize(text);
        }
        return text.codePoints().toArray();
    }

    @Override
    public String detokenize(int[] tokens) {
        checkOpen();
        if (!tokenizes) {
            return LlmBackend.super.detokenize(tokens);
        }
        return new String(tokens, 0, tokens.length);
    }

    @Override
    public int countTokens(List<ChatMessage> messages) {
        checkOpen();
        if (!tokenizes || !chats) {
            return LlmBackend.super.countTokens(messages);
        }
        String s = render(messages);
        return s.codePointCount(0, s.length());
    }

    @Override
    public List<float[]> embed(List<String> texts) {
        checkOpen();
        if (!info.supports(Capability.EMBEDDINGS)) {
            return LlmBackend.super.embed(texts);
        }
        List<float[]> out = new ArrayList<>(texts.size());
        for (String t : texts) {
            // a normalised histogram of code points: equal texts get equal vectors
            float[] v = new float[16];
            t.codePoints().forEach(cp -> v[Math.floorMod(cp, v.length)]++);
            double norm = 0;
            for (float x : v) {
                norm += x * x;
            }
            for (int i = 0; i < v.length && norm > 0; i++) {
                v[i] = (float) (v[i] / Math.sqrt(norm));
            }
            out.add(v);
        }
        return out;
    }

    @Override
    public void close() {
        if (closed || activeCalls.get() > 0) {
            misuse.incrementAndGet();
        }
        closed = true;
        closeCalls.incrementAndGet();
    }

    private void checkOpen() {
        if (closed) {
            misuse.incrementAndGet();
            throw new IllegalStateException("memory model " + info.model() + " is closed");
        }
    }
}
