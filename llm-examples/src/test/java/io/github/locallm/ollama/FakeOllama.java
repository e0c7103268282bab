package io.github.locallm.ollama;

import java.io.IOException;
import java.util.List;

/**
 * Opens llm-ollama's loopback fake Ollama server (from its test-jar) to the examples' tests, which live in
 * another package. Its chat models answer with deterministic words derived from the prompt; every request
 * is recorded. Not thread-safe for configuration; the server itself serves requests concurrently.
 */
public final class FakeOllama implements AutoCloseable {
    /** A chat model the server starts with. */
    public static final String CHAT_MODEL = FakeOllamaServer.CHAT_MODEL;
    /** A chat model with only the completion capability. */
    public static final String PLAIN_MODEL = FakeOllamaServer.PLAIN_MODEL;
    /** An embedding model the server starts with. */
    public static final String EMBED_MODEL = FakeOllamaServer.EMBED_MODEL;
    /** A model the server's registry offers to pull. */
    public static final String PULLABLE_MODEL = "tiny-pull:latest";

    private final FakeOllamaServer server;

    private FakeOllama(FakeOllamaServer server) {
        this.server = server;
    }

    /** @return a started server */
    public static FakeOllama start() throws IOException {
        return new FakeOllama(new FakeOllamaServer());
    }

    /** @return the base URL, such as {@code http://127.0.0.1:40123} */
    public String url() {
        return server.url();
    }

    /** Removes every model, as on a fresh Ollama installation. */
    public void removeAllModels() {
        server.models.clear();
    }

    /** Keeps only the named models. */
    public void keepOnly(String... names) {
        server.models.keySet().retainAll(List.of(names));
    }

    /** @return the names of the models the server has now */
    public List<String> modelNames() {
        return server.models.keySet().stream().sorted().toList();
    }

    /** @return the roles of the messages of the last chat request, such as {@code [system, user]} */
    public List<String> lastChatRoles() {
        List<String> roles = new java.util.ArrayList<>();
        server.last("/api/chat").body().path("messages").forEach(m -> roles.add(m.path("role").asText()));
        return roles;
    }

    /** @return the contents of the messages of the last chat request */
    public List<String> lastChatContents() {
        List<String> contents = new java.util.ArrayList<>();
        server.last("/api/chat").body().path("messages").forEach(m -> contents.add(m.path("content").asText()));
        return contents;
    }

    /** @return the number of requests to a path, such as {@code /api/chat} */
    public long requests(String path) {
        return server.requests.stream().filter(r -> r.path().equals(path)).count();
    }

    @Override
    public void close() {
        server.close();
    }
}
