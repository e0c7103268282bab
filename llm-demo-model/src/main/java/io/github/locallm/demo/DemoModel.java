package io.github.locallm.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The project's tiny demo model: a Llama-architecture model of about one million parameters, trained by
 * {@link TrainDemoModel} on the project's own French and English questions about Python basics, shipped
 * inside this jar as a GGUF file (for the llama.cpp backend) and as a Hugging Face checkpoint directory
 * (for the DJL backend).
 *
 * <p>It answers the questions of its corpus (see {@link #corpus()}) with the trained answer under greedy
 * decoding, and little else: it is a demonstration that runs offline, not a useful assistant. Prompts use
 * the ChatML template with the system prompt {@link #systemPrompt()} (the model was also trained without a
 * system prompt).
 *
 * <p>All methods are static and thread-safe; concurrent extractions into the same directory are safe
 * because each file is written to a temporary name and then moved into place.
 *
 * <pre>{@code
 * Path gguf = DemoModel.extractGguf(Path.of(System.getProperty("java.io.tmpdir"), "locallm-demo"));
 * try (LocalLlm llm = LocalLlm.open(gguf)) {
 *     // ask "Explique-moi Python en une phrase" with DemoModel.systemPrompt() as the system message
 * }
 * }</pre>
 */
public final class DemoModel {

    /** Classpath folder of the shipped model files. */
    static final String MODEL_RESOURCES = "/io/github/locallm/demo/model/";
    /** Classpath location of the corpus. */
    static final String CORPUS_RESOURCE = "/io/github/locallm/demo/corpus.txt";
    /** File name of the GGUF model. */
    static final String GGUF_FILE = "demo.gguf";
    /** Folder name of the Hugging Face checkpoint. */
    static final String CHECKPOINT_DIR = "hf";
    /** Name of the manifest that lists the shipped files with their SHA-256 and size. */
    static final String MANIFEST = "manifest.txt";

    private static final String SYSTEM_PROMPT = "Tu es un assistant Python utile.";

    private DemoModel() {
    }

    /**
     * One question of the corpus and the answer the model was trained to give.
     *
     * @param question the user's message
     * @param answer   the assistant's trained reply
     */
    public record Exchange(String question, String answer) {
        /**
         * Checks that both texts are present.
         *
         * @param question the user's message
         * @param answer   the assistant's trained reply
         */
        public Exchange {
            Objects.requireNonNull(question, "question");
            Objects.requireNonNull(answer, "answer");
        }
    }

    /**
     * Returns the system prompt the model was trained with.
     *
     * @return {@code "Tu es un assistant Python utile."}
     */
    public static String systemPrompt() {
        return SYSTEM_PROMPT;
    }

    /**
     * Returns the training corpus, in file order.
     *
     * @return every question with its trained answer
     */
    public static List<Exchange> corpus() {
        try (InputStream in = open(CORPUS_RESOURCE)) {
            return parseCorpus(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the demo corpus " + CORPUS_RESOURCE, e);
        }
    }

    /**
     * Copies the GGUF model into {@code dir} (created if needed), unless an identical copy is already there.
     *
     * @param dir destination folder
     * @return the path of {@code demo.gguf} inside {@code dir}
     * @throws UncheckedIOException if the folder cannot be written
     */
    public static Path extractGguf(Path dir) {
        Objects.requireNonNull(dir, "dir");
        extract(dir, entry -> entry.equals(GGUF_FILE));
        return dir.resolve(GGUF_FILE);
    }

    /**
     * Copies the Hugging Face checkpoint ({@code config.json}, {@code model.safetensors}, tokenizer files)
     * into {@code dir/hf} (created if needed), skipping files already there with the same content.
     *
     * @param dir destination folder
     * @return the checkpoint folder {@code dir/hf}
     * @throws UncheckedIOException if the folder cannot be written
     */
    public static Path extractCheckpoint(Path dir) {
        Objects.requireNonNull(dir, "dir");
        extract(dir, entry -> entry.startsWith(CHECKPOINT_DIR + "/"));
        return dir.resolve(CHECKPOINT_DIR);
    }

    private static void extract(Path dir, java.util.function.Predicate<String> wanted) {
        List<String[]> manifest = manifest();
        try {
            for (String[] entry : manifest) {
                String name = entry[0];
                if (!wanted.test(name)) {
                    continue;
                }
                Path target = dir.resolve(name);
                if (Files.isRegularFile(target) && Files.size(target) == Long.parseLong(entry[2])
                        && sha256(target).equals(entry[1])) {
                    continue;
                }
                Files.createDirectories(target.getParent());
                Path temp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
                try (InputStream in = open(MODEL_RESOURCES + name)) {
                    Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(temp);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the demo model into " + dir
                    + "; check that the folder is writable and has a few MB free", e);
        }
    }

    /** Lines {@code path sha256 size} of the shipped files. */
    static List<String[]> manifest() {
        try (InputStream in = open(MODEL_RESOURCES + MANIFEST);
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            List<String[]> entries = new ArrayList<>();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.isBlank()) {
                    String[] parts = line.trim().split(" ");
                    if (parts.length != 3) {
                        throw new IllegalStateException("malformed demo model manifest line: " + line);
                    }
                    entries.add(parts);
                }
            }
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the demo model manifest", e);
        }
    }

    private static InputStream open(String resource) {
        InputStream in = DemoModel.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException("the demo model resource " + resource
                    + " is missing from the llm-demo-model jar; rebuild the module or retrain with TrainDemoModel");
        }
        return in;
    }

    /** Parses the {@code Q:}/{@code A:} corpus format. */
    static List<Exchange> parseCorpus(String text) {
        List<Exchange> out = new ArrayList<>();
        String question = null;
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("Q: ") && question == null) {
                question = line.substring(3);
            } else if (line.startsWith("A: ") && question != null) {
                out.add(new Exchange(question, line.substring(3)));
                question = null;
            } else {
                throw new IllegalArgumentException("corpus line " + lineNo + " is not the expected "
                        + (question == null ? "Q: " : "A: ") + "line: " + line);
            }
        }
        if (question != null) {
            throw new IllegalArgumentException("corpus ends with a question without answer: " + question);
        }
        return out;
    }

    /**
     * Renders the ChatML prompt the model sees before its answer.
     *
     * @param system   system prompt, or {@code null} for none
     * @param question the user's message
     * @return the prompt text, ending with the assistant header
     */
    static String chatMlPrompt(String system, String question) {
        return chatMlConversation(system, List.of(), question);
    }

    /**
     * Renders the ChatML prompt of a conversation: the earlier turns, then the new question.
     *
     * @param system   system prompt, or {@code null} for none
     * @param history  earlier messages, alternately the user's and the assistant's
     * @param question the user's new message
     * @return the prompt text, ending with the assistant header
     */
    static String chatMlConversation(String system, List<String> history, String question) {
        StringBuilder sb = new StringBuilder();
        if (system != null) {
            sb.append("<|im_start|>system\n").append(system).append("<|im_end|>\n");
        }
        for (int i = 0; i < history.size(); i++) {
            sb.append(i % 2 == 0 ? "<|im_start|>user\n" : "<|im_start|>assistant\n").append(history.get(i))
                    .append("<|im_end|>\n");
        }
        sb.append("<|im_start|>user\n").append(question).append("<|im_end|>\n");
        sb.append("<|im_start|>assistant\n");
        return sb.toString();
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
