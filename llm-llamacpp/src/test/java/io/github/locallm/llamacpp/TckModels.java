package io.github.locallm.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Capability;
import org.junit.jupiter.api.Test;
import io.github.locallm.LocalLlm;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.tck.LlmProviderTck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * The tiny models the TCK runs on, written once per JVM, and the TCK settings for them. The models carry QwQ's
 * real chat template (read from the shared templates): tools in the Hermes format and reasoning opened by the
 * prompt when the reply is asked to think, so that the TCK's tool and thinking cases run.
 */
abstract class TckModels extends LlmProviderTck {

    private static final Map<GgufWriter.Quantization, Path> FILES = new EnumMap<>(GgufWriter.Quantization.class);

    static synchronized Path file(GgufWriter.Quantization q) {
        return FILES.computeIfAbsent(q, k -> {
            try {
                Path dir = Files.createTempDirectory("llamacpp-tck");
                dir.toFile().deleteOnExit();
                String template = Files.readString(Path.of(System.getProperty("locallm.shared.dir"),
                        "chat-templates", "Qwen-QwQ-32B.jinja"), java.nio.charset.StandardCharsets.UTF_8);
                Path file = TestModels.write(dir, "tck", TinyModels.gqa().withChatTemplate(template), k);
                file.toFile().deleteOnExit();
                return file;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    abstract GgufWriter.Quantization quantization();

    /** The engine the suite runs on. */
    String engine() {
        return LoadSettings.ENGINE_LLAMACPP;
    }

    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("llamacpp:" + file(quantization()) + "?ctx=1024&threads=1&engine=" + engine());
    }

    @Override
    protected int completionTokenTolerance() {
        // A random model emits byte tokens that do not form canonical (or valid) UTF-8 text, so the
        // re-tokenized output can differ from what was generated.
        return 3 * maxTokens();
    }

    /** The cases of tools, thinking, schemas (and embeddings) run on this model rather than check a refusal. */
    @Test
    void theModelClaimsWhatTheToolThinkingAndSchemaCasesNeed() {
        for (Capability c : java.util.EnumSet.of(Capability.TOOLS,
                Capability.TOOL_CHOICE, Capability.THINKING, Capability.JSON_SCHEMA)) {
            assertThat(claims(c)).as("%s", c).isTrue();
        }
    }
}
