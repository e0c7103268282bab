package io.github.locallm.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.ResponseFormat;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Asks for JSON that follows a schema, then compares sentences by their embeddings, on the backends that can;
 * on the others it says plainly what the model lacks.
 *
 * <pre>{@code
 * GenerationOptions json = GenerationOptions.builder()
 *         .responseFormat(ResponseFormat.jsonSchema("{\"type\":\"object\", ...}"))
 *         .build();
 * String text = llm.chat(List.of(ChatMessage.user("Décris Python en JSON")), json).text();
 * float[] vector = llm.embed("Python est un langage de programmation.");
 * }</pre>
 *
 * <p>Run with
 * {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.JsonAndEmbeddings};
 * {@code --embedding-model SPEC} takes the embeddings from another model (such as
 * {@code ollama:nomic-embed-text}). Stateless; each run opens and closes its models.
 */
public final class JsonAndEmbeddings {
    /** The schema the JSON answer must follow. */
    public static final String SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"nom\":{\"type\":\"string\"},"
            + "\"annee_creation\":{\"type\":\"integer\"},"
            + "\"createur\":{\"type\":\"string\"},"
            + "\"paradigmes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
            + "\"required\":[\"nom\",\"annee_creation\",\"createur\",\"paradigmes\"]}";
    /** The question answered in JSON. */
    public static final String JSON_PROMPT = "Décris le langage Python en JSON avec les champs nom, "
            + "annee_creation, createur et paradigmes.";
    /** The sentences compared by their embeddings. */
    public static final List<String> SENTENCES = List.of(
            "Python est un langage de programmation.",
            "Python is a programming language.",
            "Il fait beau aujourd'hui.");

    private static final String HELP = "Usage: JsonAndEmbeddings [options]\n"
            + "Asks for JSON following a schema, then compares sentences by their embeddings.\n"
            + Programs.MODEL_HELP
            + "  --embedding-model SPEC  the model for the embeddings (default: the same model)\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonAndEmbeddings() {
    }

    /**
     * Runs the program on the process's streams and exits with a non-zero code on failure.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        Logs.configure();
        int code = run(args, System.out, System.err);
        if (code != Programs.OK) {
            System.exit(code);
        }
    }

    /**
     * Runs the program on the given streams.
     *
     * @param args the command line
     * @param out where the results go
     * @param err where notes and errors go
     * @return the exit code
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, Environment.system());
    }

    static int run(String[] args, PrintStream out, PrintStream err, Environment env) {
        return Programs.guard("json-embeddings", err, () -> {
            Set<String> withValue = new TreeSet<>(Programs.MODEL_OPTIONS);
            withValue.add("embedding-model");
            Args a = Args.parse(args, withValue, Set.of("help"));
            if (a.flag("help")) {
                out.print(HELP);
                return Programs.OK;
            }
            Programs.checkGenerationOptions(a);
            ModelChoice choice = ModelChooser.choose(a.option("model"), env, err);
            Programs.announce(choice, err);
            try (LocalLlm llm = choice.open()) {
                json(llm, Programs.generationOptions(choice, a), out);
                out.println();
                if (a.option("embedding-model") == null) {
                    embeddings(llm, out);
                } else {
                    ModelChoice embedChoice = ModelChooser.explicit(a.option("embedding-model"), env);
                    try (LocalLlm embedder = embedChoice.open()) {
                        embeddings(embedder, out);
                    }
                }
            }
            return Programs.OK;
        });
    }

    private static void json(LocalLlm llm, GenerationOptions base, PrintStream out) {
        ModelInfo info = llm.info();
        ResponseFormat format;
        if (info.supports(Capability.JSON_SCHEMA)) {
            format = ResponseFormat.jsonSchema(SCHEMA);
            out.println("JSON with a schema (" + label(info) + "):");
        } else if (info.supports(Capability.JSON_MODE)) {
            format = ResponseFormat.JSON;
            out.println("JSON without a schema (" + label(info) + " can constrain output to JSON, but not to a schema):");
        } else {
            out.println("JSON output: not available. The " + label(info) + " cannot constrain its output to JSON "
                    + "(it has neither the JSON_MODE nor the JSON_SCHEMA capability; it has "
                    + new TreeSet<>(info.capabilities()) + ").");
            return;
        }
        Completion c = llm.chat(List.of(ChatMessage.user(JSON_PROMPT)), base.toBuilder().responseFormat(format).build());
        out.println(c.text().strip());
        try {
            JsonNode node = JSON.readTree(c.text());
            out.println("Valid JSON: yes (" + node.getNodeType().name().toLowerCase(Locale.ROOT)
                    + (node.isObject() ? " with fields " + fieldNames(node) : "") + ")");
        } catch (JsonProcessingException e) {
            out.println("Valid JSON: no (" + c.finishReason() + " after " + c.usage().completionTokens()
                    + " tokens; a small model may run out of tokens before closing the JSON: raise --max-tokens)");
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static void embeddings(LocalLlm llm, PrintStream out) {
        ModelInfo info = llm.info();
        if (!info.supports(Capability.EMBEDDINGS)) {
            out.println("Embeddings: not available. The " + label(info) + " cannot compute embeddings (it lacks "
                    + "the EMBEDDINGS capability). Pass --embedding-model with a model that can, such as "
                    + "ollama:nomic-embed-text, or a GGUF file opened for embeddings: llamacpp:/path/model.gguf?embedding=true.");
            return;
        }
        List<float[]> vectors = llm.embed(SENTENCES);
        out.println("Embeddings (" + label(info) + "): " + vectors.size() + " vectors of " + vectors.get(0).length
                + " dimensions. Cosine similarity:");
        for (int i = 0; i < SENTENCES.size(); i++) {
            for (int j = i + 1; j < SENTENCES.size(); j++) {
                out.printf(Locale.ROOT, "  %.3f  \"%s\" / \"%s\"%n", cosine(vectors.get(i), vectors.get(j)),
                        SENTENCES.get(i), SENTENCES.get(j));
            }
        }
    }

    /** @return the cosine similarity of two vectors of the same length, 0 when one is zero */
    static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("vectors of different lengths: " + a.length + " and " + b.length);
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    private static String label(ModelInfo info) {
        return info.backend() + " model " + info.model();
    }
}
