package io.github.locallm;

import io.github.locallm.internal.CallbackGeneration;
import io.github.locallm.internal.Cancellation;
import io.github.locallm.internal.CompletionFuture;
import io.github.locallm.internal.Engine;
import io.github.locallm.internal.Generation;
import io.github.locallm.internal.GenerationPublisher;
import io.github.locallm.internal.ProviderRegistry;
import io.github.locallm.internal.QueueTokenStream;
import io.github.locallm.internal.Rethrow;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

/**
 * An open local model: the entry point of the SDK.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("ollama:llama3.2")) {
 *     System.out.println(llm.generate("Explique-moi Python en une phrase").text());
 * }
 * }</pre>
 *
 * <p>A spec is {@code scheme:model[?key=value&...]}, split on its first colon (see {@link ModelSpec}). The
 * backend is the installed provider whose schemes contain the scheme; {@link OpenOptions#backend()} picks
 * one explicitly when several do, otherwise the highest priority wins and a tie is an error.
 *
 * <p>Every generation form (blocking, callback, iterator, {@link Flow.Publisher},
 * {@link CompletableFuture}) runs the backend on a thread of a bounded pool owned by this object (when all
 * of its threads are busy, a blocking call runs on the calling thread and a streaming call is refused with
 * an {@link LlmException}) and follows one contract: pieces arrive in order, exactly one terminal signal comes
 * last, the concatenated pieces equal the result's text, and a cancel stops the generation promptly.
 * Arguments are checked before any backend work: {@code null} gives a {@link NullPointerException}, an
 * empty conversation an {@link IllegalArgumentException}, an option the model lacks the capability for an
 * {@link UnsupportedCapabilityException}.
 *
 * <p>Each form has one way to cancel and one way to report it; closing the model cancels every running
 * generation, reported as the form reports its own cancel:
 * <ul>
 *   <li>blocking ({@link #generate}, {@link #chat}, {@link ChatSession#send}): cancelled by interrupting the
 *       calling thread; reported by throwing {@link GenerationCancelledException} (the interrupt status is
 *       kept). A failure on the generation thread is rethrown as an exception of the same type created on
 *       the calling thread, with the original as its cause, so that the stack trace shows the caller;</li>
 *   <li>callback ({@link #stream}, {@link #streamChat}, {@link ChatSession#stream}): cancelled by
 *       {@link GenerationHandle#cancel()}; reported by {@link StreamHandler#onComplete} with
 *       {@link FinishReason#CANCELLED} and the text so far, which {@link GenerationHandle#completion()} also
 *       completes with;</li>
 *   <li>iterator ({@link #tokens}, {@link #chatTokens}): cancelled by {@link TokenStream#close()} (or by
 *       closing its {@link TokenStream#stream()}); reported by {@code hasNext()} turning false and
 *       {@link TokenStream#completion()} holding {@link FinishReason#CANCELLED};</li>
 *   <li>{@link Flow.Publisher} ({@link #publisher}, {@link #chatPublisher}): cancelled by
 *       {@link Flow.Subscription#cancel()}, after which no signal comes (Reactive Streams rule 3.7); a
 *       generation cancelled by closing the model ends with {@code onError(GenerationCancelledException)};</li>
 *   <li>{@link CompletableFuture} ({@link #generateAsync}, {@link #chatAsync}, and
 *       {@link GenerationHandle#completion()}): cancelled by {@link CompletableFuture#cancel}; reported by
 *       {@link java.util.concurrent.CancellationException} from {@code get} and {@code join}
 *       ({@code isCancelled()} is true). The handler of a handle whose future was cancelled still gets
 *       {@code onComplete} with {@link FinishReason#CANCELLED}.</li>
 * </ul>
 * A thread interrupted while it waits for a generation (a blocking call, {@code hasNext()} of an iterator)
 * cancels it and gets {@link GenerationCancelledException}.
 *
 * <p>Thread-safe, costly to create, meant to be shared. {@link #close()} is idempotent, cancels running
 * generations, closes the model's chat sessions and frees native memory; any other call after it throws
 * {@link IllegalStateException}. A {@link Cleaner} frees the backend of an instance that was never
 * closed, as a safety net only.
 */
public final class LocalLlm implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "locallm-cleaner");
        t.setDaemon(true);
        return t;
    });

    private final Engine engine;
    private final Set<ChatSession> sessions = Collections.newSetFromMap(new WeakHashMap<>());
    private final Cleaner.Cleanable cleanable;

    private LocalLlm(Engine engine) {
        this.engine = engine;
        this.cleanable = CLEANER.register(this, engine.cleanupAction());
    }

    /**
     * Opens a model from a spec such as {@code "ollama:llama3.2"} or {@code "llamacpp:/models/m.gguf?ctx=4096"}.
     *
     * @param spec {@code scheme:model[?key=value&...]}
     * @return the open model
     * @throws ProviderNotFoundException when no installed backend accepts the scheme
     * @throws IllegalArgumentException when the spec is malformed or has an unknown setting
     * @throws LlmException when the model cannot be found or loaded
     */
    public static LocalLlm open(String spec) {
        return open(spec, OpenOptions.defaults());
    }

    /**
     * Opens a model from a spec, with options that win over the spec's query parameters.
     *
     * @param spec the model spec
     * @param options how to open it
     * @return the open model
     * @throws ProviderNotFoundException when no installed backend accepts the scheme
     * @throws IllegalArgumentException when the spec is malformed or has an unknown setting
     * @throws LlmException when the model cannot be found or loaded
     */
    public static LocalLlm open(String spec, OpenOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        ModelSpec parsed = ModelSpec.parse(spec);
        LlmProvider provider = ProviderRegistry.system().select(parsed, options.backend());
        return openWith(provider, parsed, options);
    }

    /**
     * Opens a model with a provider instance the caller configured, without looking one up: the way to give
     * one model settings that are objects rather than text, such as a backend's own HTTP client.
     *
     * <pre>{@code
     * LlmProvider ollama = new OllamaProvider(myHttpClient);
     * try (LocalLlm llm = LocalLlm.open(ollama, "ollama:llama3.2", OpenOptions.defaults())) { ... }
     * }</pre>
     *
     * @param provider the provider that opens the model
     * @param spec the model spec; its scheme must be one of the provider's
     * @param options how to open it ({@link OpenOptions#backend()} is not consulted)
     * @return the open model
     * @throws IllegalArgumentException when the spec is malformed, its scheme is not the provider's, or a
     *     setting is unknown
     * @throws LlmException when the model cannot be found or loaded
     */
    public static LocalLlm open(LlmProvider provider, String spec, OpenOptions options) {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        ModelSpec parsed = ModelSpec.parse(spec);
        if (!provider.schemes().contains(parsed.scheme())) {
            throw new IllegalArgumentException("provider " + provider.name() + " takes the schemes "
                    + provider.schemes() + ", not '" + parsed.scheme() + "' (from \"" + spec + "\")");
        }
        return openWith(provider, parsed, options);
    }

    /**
     * Opens a local model file or directory; the backend is chosen from what the path is (a {@code .gguf}
     * file, a checkpoint directory with {@code config.json}).
     *
     * @param path a model file or directory
     * @return the open model
     * @throws ModelNotFoundException when the path does not exist
     * @throws ProviderNotFoundException when no installed backend recognises the path
     * @throws LlmException when the model cannot be loaded
     */
    public static LocalLlm open(Path path) {
        return open(path, OpenOptions.defaults());
    }

    /**
     * Opens a local model file or directory with options.
     *
     * @param path a model file or directory
     * @param options how to open it; {@link OpenOptions#backend()} skips the detection
     * @return the open model
     * @throws ModelNotFoundException when the path does not exist
     * @throws ProviderNotFoundException when no installed backend recognises the path
     * @throws LlmException when the model cannot be loaded
     */
    public static LocalLlm open(Path path, OpenOptions options) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        Path abs = path.toAbsolutePath().normalize();
        if (!Files.exists(abs)) {
            throw new ModelNotFoundException("No model at " + abs + ": the file or directory does not exist. "
                    + "Give the path of a .gguf file or of a checkpoint directory with config.json.");
        }
        LlmProvider provider = ProviderRegistry.system().selectForPath(abs, options.backend());
        String scheme = provider.schemes().contains(provider.name()) ? provider.name()
                : provider.schemes().iterator().next();
        ModelSpec spec = new ModelSpec(scheme, abs.toString(), Map.of(), scheme + ":" + abs);
        return openWith(provider, spec, options);
    }

    private static LocalLlm openWith(LlmProvider provider, ModelSpec spec, OpenOptions options) {
        Map<String, String> parameters = new LinkedHashMap<>(spec.parameters());
        parameters.putAll(options.parameters());
        OpenRequest request = new OpenRequest(spec, parameters);
        LlmBackend backend;
        try {
            backend = provider.open(request);
        } catch (LlmException | IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelLoadException("Backend " + provider.name() + " could not open \"" + spec + "\": " + e, e);
        } catch (LinkageError e) {
            throw new BackendUnavailableException("Backend " + provider.name() + " could not start for \"" + spec
                    + "\" (its native library or a dependency is missing): " + e, e);
        }
        if (backend == null) {
            throw new ModelLoadException("Backend " + provider.name() + " returned no model for \"" + spec
                    + "\"; this is a defect of that backend");
        }
        ModelInfo info;
        try {
            info = Objects.requireNonNull(backend.info(), "info");
        } catch (RuntimeException e) {
            backend.close();
            throw new ModelLoadException("Backend " + provider.name() + " opened \"" + spec
                    + "\" but could not describe it: " + e, e);
        }
        return new LocalLlm(new Engine(backend, info));
    }

    /** @return the installed backends, broken ones included with their error */
    public static List<ProviderInfo> providers() {
        return ProviderRegistry.system().infos();
    }

    /**
     * @return what the model is
     * @throws IllegalStateException when closed
     */
    public ModelInfo info() {
        engine.ensureOpen();
        return engine.info();
    }

    /**
     * Completes a raw prompt with the backend's default options.
     *
     * @param prompt raw prompt
     * @return the completion
     * @throws GenerationCancelledException when the calling thread is interrupted (the generation is cancelled)
     */
    public Completion generate(String prompt) {
        return generate(prompt, GenerationOptions.defaults());
    }

    /**
     * Completes a raw prompt, blocking until generation ends.
     *
     * @param prompt raw prompt
     * @param options options
     * @return the completion
     * @throws GenerationCancelledException when the calling thread is interrupted or the model is closed (the
     *     generation is cancelled)
     */
    public Completion generate(String prompt, GenerationOptions options) {
        return runBlocking(completionRequest(prompt, options));
    }

    /**
     * Answers a conversation with the backend's default options.
     *
     * @param messages conversation
     * @return the assistant's reply
     */
    public Completion chat(List<ChatMessage> messages) {
        return chat(messages, GenerationOptions.defaults());
    }

    /**
     * Answers a conversation, blocking until generation ends.
     *
     * @param messages conversation, not empty
     * @param options options
     * @return the assistant's reply
     */
    public Completion chat(List<ChatMessage> messages, GenerationOptions options) {
        return runBlocking(chatRequest(messages, options));
    }

    /**
     * Streams a completion to a handler on a generation thread.
     *
     * @param prompt prompt
     * @param options options
     * @param handler receiver of the pieces and of exactly one terminal call
     * @return the handle that cancels the generation
     */
    public GenerationHandle stream(String prompt, GenerationOptions options, StreamHandler handler) {
        return startCallback(completionRequest(prompt, options), handler);
    }

    /**
     * Streams a chat reply to a handler on a generation thread.
     *
     * @param messages conversation
     * @param options options
     * @param handler receiver of the pieces and of exactly one terminal call
     * @return the handle that cancels the generation
     */
    public GenerationHandle streamChat(List<ChatMessage> messages, GenerationOptions options, StreamHandler handler) {
        return startCallback(chatRequest(messages, options), handler);
    }

    /**
     * Streams a completion as an iterator; closing it cancels the generation.
     *
     * @param prompt prompt
     * @param options options
     * @return the pieces
     */
    public TokenStream tokens(String prompt, GenerationOptions options) {
        return startIterator(completionRequest(prompt, options));
    }

    /**
     * Streams a chat reply as an iterator; closing it cancels the generation.
     *
     * @param messages conversation
     * @param options options
     * @return the pieces
     */
    public TokenStream chatTokens(List<ChatMessage> messages, GenerationOptions options) {
        return startIterator(chatRequest(messages, options));
    }

    /**
     * Streams a completion as a cold publisher: each subscription runs its own generation, honours the
     * subscriber's demand (the generation waits while there is none) and cancelling it cancels the
     * generation.
     *
     * @param prompt prompt
     * @param options options
     * @return the publisher
     */
    public Flow.Publisher<String> publisher(String prompt, GenerationOptions options) {
        return new GenerationPublisher(engine, completionRequest(prompt, options), this);
    }

    /**
     * Streams a chat reply as a cold publisher.
     *
     * @param messages conversation
     * @param options options
     * @return the publisher
     */
    public Flow.Publisher<String> chatPublisher(List<ChatMessage> messages, GenerationOptions options) {
        return new GenerationPublisher(engine, chatRequest(messages, options), this);
    }

    /**
     * Completes a prompt asynchronously.
     *
     * @param prompt prompt
     * @param options options
     * @return the future result; {@code cancel(true)} cancels the generation, and a cancelled generation
     *     (also by closing the model) makes it throw {@link java.util.concurrent.CancellationException}
     */
    public CompletableFuture<Completion> generateAsync(String prompt, GenerationOptions options) {
        return startFuture(completionRequest(prompt, options));
    }

    /**
     * Answers a conversation asynchronously.
     *
     * @param messages conversation
     * @param options options
     * @return the future reply; {@code cancel(true)} cancels the generation, and a cancelled generation
     *     (also by closing the model) makes it throw {@link java.util.concurrent.CancellationException}
     */
    public CompletableFuture<Completion> chatAsync(List<ChatMessage> messages, GenerationOptions options) {
        return startFuture(chatRequest(messages, options));
    }

    /**
     * @param text text, without special tokens added
     * @return token ids
     * @throws UnsupportedCapabilityException when the backend cannot tokenize
     */
    public int[] tokenize(String text) {
        Objects.requireNonNull(text, "text");
        requireOpen(Capability.TOKENIZE, "tokenization");
        return engine.call(() -> engineBackendTokenize(text));
    }

    /**
     * @param tokens ids
     * @return their text
     * @throws UnsupportedCapabilityException when the backend cannot tokenize
     */
    public String detokenize(int[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        requireOpen(Capability.TOKENIZE, "detokenization");
        int[] copy = tokens.clone();
        return engine.call(() -> backendHandle().detokenize(copy));
    }

    /**
     * @param text text
     * @return its token count, without special tokens
     * @throws UnsupportedCapabilityException when the backend cannot tokenize
     */
    public int countTokens(String text) {
        return tokenize(text).length;
    }

    /**
     * @param text text
     * @return its embedding
     * @throws UnsupportedCapabilityException when the model cannot embed
     */
    public float[] embed(String text) {
        Objects.requireNonNull(text, "text");
        return embed(List.of(text)).get(0);
    }

    /**
     * @param texts texts, not empty
     * @return their embeddings, in order
     * @throws UnsupportedCapabilityException when the model cannot embed
     */
    public List<float[]> embed(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        List<String> copy = List.copyOf(texts);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("texts must not be empty");
        }
        requireOpen(Capability.EMBEDDINGS, "embeddings");
        List<float[]> out = engine.call(() -> backendHandle().embed(copy));
        if (out == null || out.size() != copy.size()) {
            throw new LlmException(engine.label() + ": the backend returned " + (out == null ? "no" : out.size())
                    + " embeddings for " + copy.size() + " texts; this is a defect of the backend");
        }
        return List.copyOf(out);
    }

    /** @return a chat session without system prompt and with the backend's default options */
    public ChatSession newChatSession() {
        return newChatSession(null, GenerationOptions.defaults());
    }

    /**
     * @param systemPrompt the system prompt, kept through every trim of the history
     * @return a chat session with the backend's default options
     */
    public ChatSession newChatSession(String systemPrompt) {
        Objects.requireNonNull(systemPrompt, "systemPrompt");
        return newChatSession(systemPrompt, GenerationOptions.defaults());
    }

    /**
     * @param systemPrompt the system prompt, or {@code null} for none
     * @param options options of every turn; their {@link GenerationOptions#maxTokens()} is the room kept
     *     for the reply when the history is trimmed
     * @return a chat session
     */
    public ChatSession newChatSession(String systemPrompt, GenerationOptions options) {
        Objects.requireNonNull(options, "options");
        engine.ensureOpen();
        ChatSession s = new ChatSession(this, systemPrompt, options);
        synchronized (sessions) {
            engine.ensureOpen();
            sessions.add(s);
        }
        return s;
    }

    /** @return true once closed */
    public boolean isClosed() {
        return engine.isClosed();
    }

    /**
     * Closes the model: cancels running generations, closes its chat sessions, waits (at most ten seconds)
     * for running backend calls to return, then frees the backend. Idempotent.
     */
    @Override
    public void close() {
        if (!engine.beginClose()) {
            return;
        }
        List<ChatSession> open;
        synchronized (sessions) {
            open = new ArrayList<>(sessions);
            sessions.clear();
        }
        open.forEach(ChatSession::closedByModel);
        engine.finishClose();
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "LocalLlm{" + engine.label() + (isClosed() ? ", closed}" : "}");
    }

    // ---- package-private services for ChatSession ----

    Engine engine() {
        return engine;
    }

    void forget(ChatSession session) {
        synchronized (sessions) {
            sessions.remove(session);
        }
    }

    GenerationRequest chatRequest(List<ChatMessage> messages, GenerationOptions options) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(options, "options");
        List<ChatMessage> copy = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            copy.add(Objects.requireNonNull(m, "message"));
        }
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("messages must not be empty: give at least one user message");
        }
        engine.ensureOpen();
        ModelInfo info = engine.info();
        require(info, Capability.CHAT, "chat");
        if (options.suffix().isPresent()) {
            throw new UnsupportedCapabilityException("a suffix (fill-in-the-middle) is a completion feature, not a "
                    + "chat one (" + info.backend() + " model " + info.model() + "): ask LocalLlm.generate(prefix, "
                    + "options with suffix) of a model with fill-in-the-middle tokens", Capability.FILL_IN_MIDDLE);
        }
        for (ChatMessage m : copy) {
            if (!m.images().isEmpty()) {
                require(info, Capability.VISION, "images in messages");
            }
        }
        checkOptions(info, options);
        return GenerationRequest.chat(copy, turnToolChoice(copy, options));
    }

    /**
     * The tool choice as it applies to this turn: {@link ToolChoice#NONE} offers no tools; a required call answers
     * the user, so once tool results (or an assistant message) end the conversation the model answers freely.
     */
    private static GenerationOptions turnToolChoice(List<ChatMessage> messages, GenerationOptions options) {
        ToolChoice choice = options.toolChoice().orElse(ToolChoice.AUTO);
        if (choice.mode() == ToolChoice.Mode.NONE && !options.tools().isEmpty()) {
            return options.toBuilder().clearTools().toolChoice(ToolChoice.NONE).build();
        }
        if (choice.forcesCall() && messages.get(messages.size() - 1).role() != ChatMessage.Role.USER) {
            return options.toBuilder().toolChoice(ToolChoice.AUTO).build();
        }
        return options;
    }

    private GenerationRequest completionRequest(String prompt, GenerationOptions options) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        engine.ensureOpen();
        ModelInfo info = engine.info();
        require(info, Capability.COMPLETION, "raw prompt completion");
        if (options.suffix().isPresent() && !info.supports(Capability.FILL_IN_MIDDLE)) {
            throw new UnsupportedCapabilityException(info.backend() + " model " + info.model() + " cannot fill in "
                    + "the middle (a completion with a suffix): fill-in-the-middle needs a model with "
                    + "fill-in-the-middle tokens (it has " + info.capabilities() + "). Use a code model that has "
                    + "them, or complete without a suffix.", Capability.FILL_IN_MIDDLE);
        }
        checkOptions(info, options);
        return GenerationRequest.completion(prompt, options);
    }

    private static void checkOptions(ModelInfo info, GenerationOptions options) {
        options.responseFormat().ifPresent(f -> {
            if (f.kind() == ResponseFormat.Kind.JSON && !info.supports(Capability.JSON_MODE)
                    && !info.supports(Capability.JSON_SCHEMA)) {
                require(info, Capability.JSON_MODE, "JSON output");
            } else if (f.kind() == ResponseFormat.Kind.JSON_SCHEMA) {
                require(info, Capability.JSON_SCHEMA, "JSON schema output");
            }
        });
        if (!options.tools().isEmpty()) {
            require(info, Capability.TOOLS, "tool calling");
        }
        ToolChoice choice = options.toolChoice().orElse(ToolChoice.AUTO);
        if (choice.forcesCall()) {
            if (options.tools().isEmpty()) {
                throw new IllegalArgumentException("toolChoice " + choice + " needs at least one tool: offer them "
                        + "with tool(...)");
            }
            choice.callable(options.tools());
            require(info, Capability.TOOL_CHOICE, "a required tool call (toolChoice " + choice + ")");
        }
        if (options.think().orElse(false)) {
            require(info, Capability.THINKING, "thinking");
        }
        if (options.seed().isPresent()) {
            require(info, Capability.SEED, "seeded sampling");
        }
    }

    // Closed first (IllegalStateException), then the capability (UnsupportedCapabilityException).
    private void requireOpen(Capability c, String what) {
        engine.ensureOpen();
        require(engine.info(), c, what);
    }

    static void require(ModelInfo info, Capability c, String what) {
        if (!info.supports(c)) {
            throw new UnsupportedCapabilityException(info.backend() + " model " + info.model() + " cannot do " + what
                    + " (it lacks the " + c + " capability; it has " + info.capabilities()
                    + "). Use a model or backend that supports it.", c);
        }
    }

    GenerationHandle startCallback(GenerationRequest request, StreamHandler handler) {
        Objects.requireNonNull(handler, "handler");
        Cancellation c = new Cancellation();
        CallbackGeneration g = new CallbackGeneration(handler, c);
        engine.start(request, g, c);
        return g;
    }

    private TokenStream startIterator(GenerationRequest request) {
        Cancellation c = new Cancellation();
        QueueTokenStream s = new QueueTokenStream(c);
        Generation g = engine.start(request, s, c);
        s.bind(g);
        return s;
    }

    CompletableFuture<Completion> startFuture(GenerationRequest request) {
        Cancellation c = new Cancellation();
        CompletionFuture f = new CompletionFuture(c);
        engine.start(request, f, c);
        return f;
    }

    /**
     * Runs a generation for a blocking call: on a generation thread while one is free, else on the caller's.
     * A failure is rethrown as an exception created here, so that its stack trace shows the caller.
     */
    Completion runBlocking(GenerationRequest request) {
        Cancellation c = new Cancellation();
        CompletionFuture f = new CompletionFuture(c);
        engine.start(request, f, c, true);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException(engine.label() + ": interrupted while waiting for the generation; "
                    + "it was cancelled", e);
        } catch (CancellationException e) {
            throw new GenerationCancelledException(engine.label() + ": the generation was cancelled before it ended "
                    + "(its model was closed)", e);
        } catch (ExecutionException e) {
            throw Rethrow.onCallerThread(e.getCause());
        }
    }

    private int[] engineBackendTokenize(String text) {
        int[] ids = backendHandle().tokenize(text);
        return ids == null ? new int[0] : ids;
    }

    private LlmBackend backendHandle() {
        return engine.backend();
    }
}
