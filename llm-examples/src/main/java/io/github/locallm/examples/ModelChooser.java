package io.github.locallm.examples;

import io.github.locallm.LlmException;
import io.github.locallm.ollama.OllamaClient;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Picks the model of a program: {@code --model} when given, otherwise the first model of an Ollama server on
 * this machine, else the first {@code .gguf} file in {@code ./models}, else the embedded demo model.
 * Stateless and thread-safe.
 */
final class ModelChooser {
    /** The server asked when {@code OLLAMA_HOST} is not set. */
    static final String DEFAULT_OLLAMA = "127.0.0.1:11434";
    private static final String DEFAULT_OLLAMA_URL = "http://" + DEFAULT_OLLAMA;

    private ModelChooser() {
    }

    /**
     * Chooses the model.
     *
     * @param model the {@code --model} value, or null for the automatic choice
     * @param env the machine
     * @param err where to explain an embedded choice
     * @return the choice
     */
    static ModelChoice choose(String model, Environment env, PrintStream err) {
        if (model != null) {
            return explicit(model, env);
        }
        Optional<ModelChoice> ollama = fromOllama(env);
        if (ollama.isPresent()) {
            return ollama.get();
        }
        Optional<ModelChoice> file = fromModelsDir(env.workDir().resolve("models"));
        if (file.isPresent()) {
            return file.get();
        }
        ModelChoice embedded = EmbeddedModel.extract(env.cacheDir());
        explainEmbedded(embedded, err);
        return embedded;
    }

    /** A path that exists is opened as a path; anything else is a spec. */
    static ModelChoice explicit(String model, Environment env) {
        String value = model.strip();
        if (value.isEmpty()) {
            throw new IllegalArgumentException("--model needs a value, such as ollama:qwen2.5:0.5b or a .gguf path");
        }
        Path asPath = env.workDir().resolve(value);
        if (!looksLikeSpec(value) && Files.exists(asPath)) {
            return ModelChoice.ofPath(asPath, ModelChoice.Source.EXPLICIT, null);
        }
        if (!looksLikeSpec(value)) {
            throw new IllegalArgumentException("--model " + value + ": no such file or directory, and not a spec. "
                    + "Give a spec such as ollama:qwen2.5:0.5b, llamacpp:/models/m.gguf or djl:/models/dir, "
                    + "or the path of a .gguf file or a checkpoint directory.");
        }
        return ModelChoice.ofSpec(value, ModelChoice.Source.EXPLICIT);
    }

    // A scheme of two letters or more before the first colon: "C:\..." is a Windows path, not a spec.
    private static boolean looksLikeSpec(String value) {
        int colon = value.indexOf(':');
        return colon >= 2 && value.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*");
    }

    /**
     * Asks the Ollama server of {@code OLLAMA_HOST} (else {@value #DEFAULT_OLLAMA}) for its models, waiting
     * at most the environment's probe time.
     *
     * @return the first model that is not an embedding model, if the server answers and has one
     */
    static Optional<ModelChoice> fromOllama(Environment env) {
        String host = Optional.ofNullable(env.variable("OLLAMA_HOST")).orElse(DEFAULT_OLLAMA);
        List<OllamaClient.LocalModel> models;
        OllamaClient client;
        try {
            client = OllamaClient.builder().baseUrl(host)
                    .connectTimeout(env.ollamaProbe())
                    .firstTokenTimeout(env.ollamaProbe())
                    .requestTimeout(env.ollamaProbe().multipliedBy(3))
                    .build();
            models = client.list();
        } catch (LlmException | IllegalArgumentException e) {
            return Optional.empty();
        }
        return models.stream()
                .map(OllamaClient.LocalModel::name)
                .filter(name -> !name.isBlank() && !name.toLowerCase(Locale.ROOT).contains("embed"))
                .findFirst()
                .map(name -> ModelChoice.ofSpec(ollamaSpec(name, client.baseUrl()), ModelChoice.Source.OLLAMA));
    }

    private static String ollamaSpec(String name, String baseUrl) {
        String url = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        return url.equals(DEFAULT_OLLAMA_URL) ? "ollama:" + name : "ollama:" + name + "?host=" + url;
    }

    /** @return the first {@code .gguf} file of the folder, by name, if there is one */
    static Optional<ModelChoice> fromModelsDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> ggufs = files
                    .filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .collect(Collectors.toList());
            return ggufs.stream().findFirst()
                    .map(p -> ModelChoice.ofPath(p, ModelChoice.Source.MODELS_DIR, null));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** Says plainly, on the error stream, that the embedded model is a toy and how to use a real one. */
    static void explainEmbedded(ModelChoice choice, PrintStream err) {
        err.println("Note: no Ollama server with a model and no .gguf file in ./models, so this runs the embedded "
                + "demo model: a tiny model (about a million parameters) trained by this project on a few hundred "
                + "Python questions in French and English. It answers those questions and little else.");
        err.println("To use a real model: start Ollama and run `ollama pull qwen2.5:0.5b`, then pass "
                + "--model ollama:qwen2.5:0.5b; or put a .gguf file in ./models (or pass --model /path/model.gguf); "
                + "or pass a Hugging Face checkpoint directory with --model djl:/path/to/dir.");
    }
}
