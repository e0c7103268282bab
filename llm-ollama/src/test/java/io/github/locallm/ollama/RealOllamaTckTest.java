package io.github.locallm.ollama;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Runs the provider TCK against a real Ollama server, when {@code OLLAMA_HOST} names one. The model is
 * {@code OLLAMA_TEST_MODEL} (default {@code qwen2.5:0.5b}); it must be pulled already. Skipped, with the
 * reason shown, when {@code OLLAMA_HOST} is not set.
 */
@EnabledIfEnvironmentVariable(named = "OLLAMA_HOST", matches = ".*\\S.*",
        disabledReason = "OLLAMA_HOST is not set: no real Ollama server to run the TCK against "
                + "(set OLLAMA_HOST and optionally OLLAMA_TEST_MODEL, default qwen2.5:0.5b)")
class RealOllamaTckTest extends LlmProviderTck {
    private static final String HOST = System.getenv("OLLAMA_HOST");
    private static final String MODEL = System.getenv().getOrDefault("OLLAMA_TEST_MODEL", "qwen2.5:0.5b");

    @Override
    protected LocalLlm openModel() {
        assumeTrue(HOST != null && !HOST.isBlank(),
                "OLLAMA_HOST is not set: no real Ollama server to run the TCK against "
                        + "(set OLLAMA_HOST and optionally OLLAMA_TEST_MODEL, default qwen2.5:0.5b)");
        return LocalLlm.open("ollama:" + MODEL);
    }

    @Override
    protected int maxTokens() {
        return 12;
    }

    @Override
    protected int cancelSlack() {
        return 8;
    }

    @Override
    protected List<String> concurrentPrompts() {
        return List.of("The capital of France is", "Count: 1, 2, 3,");
    }

    @Override
    protected Duration timeout() {
        return Duration.ofMinutes(3);
    }
}
