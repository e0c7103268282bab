package io.github.locallm.djl;

import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import io.github.locallm.ChatMessage;
import io.github.locallm.ModelSpec;
import io.github.locallm.spi.OpenRequest;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Opens test checkpoints: through the provider, as users do, or as parts this helper opens itself, for tests
 * that look below the SPI at the decoder, tokenizer and chat encoder a backend runs on.
 */
final class Backends {
    private static final Map<TinyCheckpoints.Variant, DjlBackend> SHARED = new EnumMap<>(TinyCheckpoints.Variant.class);
    private static final Map<TinyCheckpoints.Variant, Parts> SHARED_PARTS =
            new EnumMap<>(TinyCheckpoints.Variant.class);

    private Backends() {
    }

    /** @return a new backend on the directory, opened by the provider, owned by the caller */
    static DjlBackend open(Path dir, Map<String, String> settings) {
        return (DjlBackend) new DjlProvider().open(new OpenRequest(ModelSpec.parse("djl:" + dir), settings));
    }

    /** @return the shared backend of a variant, opened by the provider; never closed by tests (the JVM ends) */
    static synchronized DjlBackend shared(TinyCheckpoints.Variant v) {
        return SHARED.computeIfAbsent(v, x -> open(TinyCheckpoints.dir(x), Map.of()));
    }

    /** @return the shared parts of a variant; never closed by tests (the JVM ends) */
    static synchronized Parts sharedParts(TinyCheckpoints.Variant v) {
        return SHARED_PARTS.computeIfAbsent(v, x -> parts(TinyCheckpoints.dir(x)));
    }

    /**
     * Opens a checkpoint's parts as the provider does with no settings (checkpoint, tokenizer, chat encoder,
     * decoder on the CPU) and assembles a backend from them.
     *
     * @return the parts, owned by the caller
     */
    static Parts parts(Path dir) {
        String model = "djl:" + dir;
        Checkpoint ckpt = Checkpoint.read(dir, model);
        CheckpointConfig c = ckpt.config();
        int ctx = new OpenRequest(ModelSpec.parse(model), Map.of()).contextLength(c.contextLimit());
        EmbeddingPooling.Setup embedding = EmbeddingPooling.read(dir, model, c.hiddenSize(), Optional.empty(),
                Optional.empty());
        CheckpointTokenizer tokenizer = CheckpointTokenizer.open(dir.resolve(Checkpoint.TOKENIZER), model,
                c.vocabSize());
        CheckpointChat chat = new CheckpointChat(ckpt, tokenizer, null);
        NDManager weights = Engine.getEngine("PyTorch").newBaseManager();
        LlamaDecoder decoder = LlamaDecoder.load(ckpt, weights);
        return new Parts(new DjlBackend(ckpt, tokenizer, chat, decoder, ctx, "cpu", embedding), tokenizer, chat,
                decoder, weights);
    }

    /**
     * A backend and the parts it runs on: the very decoder, tokenizer and chat encoder it uses, and the manager
     * of the decoder's weights. Closing it closes the backend, which closes the parts.
     */
    record Parts(DjlBackend backend, CheckpointTokenizer tokenizer, CheckpointChat chat, LlamaDecoder decoder,
                 NDManager weights) implements AutoCloseable {

        /**
         * @return how many arrays the weights' manager and its sub-managers (the caches, each step's
         *     temporaries) hold, for leak checks; call it between decoder calls, not during one
         */
        int liveArrays() {
            return ((BaseNDManager) weights).getManagedArrays().size();
        }

        /** @return the conversation as the model reads it, with the generation prompt */
        String renderChat(List<ChatMessage> messages) {
            var encoder = chat.encoder();
            return encoder.render(messages, encoder.renderOptions().toBuilder().addGenerationPrompt(true).build());
        }

        /** @return the token ids of the conversation as the model reads it */
        int[] chatTokens(List<ChatMessage> messages) {
            return chat.encoder().encodeChat(messages, List.of());
        }

        @Override
        public void close() {
            backend.close();
        }
    }
}
