package io.github.locallm.springai.autoconfigure;

import io.github.locallm.GenerationOptions;
import io.github.locallm.OpenOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the LocalLLM auto-configuration, under {@code locallm.}:
 *
 * <pre>
 * locallm.chat.model=llamacpp:/models/qwen2.5-0.5b-instruct-q8_0.gguf
 * locallm.chat.open.ctx=8192
 * locallm.chat.options.temperature=0.2
 * locallm.chat.options.max-tokens=512
 * locallm.embedding.model=llamacpp:/models/e5-small.gguf?embedding=true
 * </pre>
 *
 * <p>{@code model} is a {@code LocalLlm} spec; {@code open.*} are its open options (backend-specific keys
 * included, such as {@code gpu_layers}); {@code options.*} are the default generation options.
 */
@ConfigurationProperties(prefix = "locallm")
public class LocalLlmProperties {

    private final Model chat = new Model();
    private final Model embedding = new Model();

    /** @return the chat model's settings */
    public Model getChat() {
        return chat;
    }

    /** @return the embedding model's settings */
    public Model getEmbedding() {
        return embedding;
    }

    /** One model: its spec, open options and default generation options. */
    public static class Model {
        private String model;
        private final Map<String, String> open = new LinkedHashMap<>();
        private final Options options = new Options();

        /** @return the {@code LocalLlm} spec, or null when this model is not configured */
        public String getModel() {
            return model;
        }

        /** @param model the {@code LocalLlm} spec */
        public void setModel(String model) {
            this.model = model;
        }

        /** @return open options by key ({@code ctx}, {@code threads}, {@code gpu_layers}...) */
        public Map<String, String> getOpen() {
            return open;
        }

        /** @return default generation options */
        public Options getOptions() {
            return options;
        }

        OpenOptions openOptions() {
            OpenOptions.Builder b = OpenOptions.builder();
            open.forEach(b::parameter);
            return b.build();
        }
    }

    /** Default generation options; unset values leave the backend's own defaults. */
    public static class Options {
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Double minP;
        private Double repeatPenalty;
        private Integer maxTokens;
        private Long seed;
        private List<String> stop = new ArrayList<>();
        private boolean requireToolCall;

        /** @return whether each user message must be answered with a tool call (in-process backends) */
        public boolean isRequireToolCall() {
            return requireToolCall;
        }

        /** @param requireToolCall whether each user message must be answered with a tool call */
        public void setRequireToolCall(boolean requireToolCall) {
            this.requireToolCall = requireToolCall;
        }

        GenerationOptions toGenerationOptions() {
            GenerationOptions.Builder b = GenerationOptions.builder();
            if (temperature != null) {
                b.temperature(temperature);
            }
            if (topP != null) {
                b.topP(topP);
            }
            if (topK != null) {
                b.topK(topK);
            }
            if (minP != null) {
                b.minP(minP);
            }
            if (repeatPenalty != null) {
                b.repeatPenalty(repeatPenalty);
            }
            if (maxTokens != null) {
                b.maxTokens(maxTokens);
            }
            if (seed != null) {
                b.seed(seed);
            }
            if (!stop.isEmpty()) {
                b.stop(stop);
            }
            return b.build();
        }

        /** @return sampling temperature */
        public Double getTemperature() {
            return temperature;
        }

        /** @param temperature sampling temperature, 0 for greedy */
        public void setTemperature(Double temperature) {
            this.temperature = temperature;
        }

        /** @return nucleus sampling mass */
        public Double getTopP() {
            return topP;
        }

        /** @param topP nucleus sampling mass */
        public void setTopP(Double topP) {
            this.topP = topP;
        }

        /** @return top-k sampling */
        public Integer getTopK() {
            return topK;
        }

        /** @param topK top-k sampling */
        public void setTopK(Integer topK) {
            this.topK = topK;
        }

        /** @return min-p sampling */
        public Double getMinP() {
            return minP;
        }

        /** @param minP min-p sampling */
        public void setMinP(Double minP) {
            this.minP = minP;
        }

        /** @return repetition penalty */
        public Double getRepeatPenalty() {
            return repeatPenalty;
        }

        /** @param repeatPenalty repetition penalty, 1 for none */
        public void setRepeatPenalty(Double repeatPenalty) {
            this.repeatPenalty = repeatPenalty;
        }

        /** @return most tokens per answer */
        public Integer getMaxTokens() {
            return maxTokens;
        }

        /** @param maxTokens most tokens per answer */
        public void setMaxTokens(Integer maxTokens) {
            this.maxTokens = maxTokens;
        }

        /** @return sampling seed */
        public Long getSeed() {
            return seed;
        }

        /** @param seed sampling seed */
        public void setSeed(Long seed) {
            this.seed = seed;
        }

        /** @return stop sequences */
        public List<String> getStop() {
            return stop;
        }

        /** @param stop stop sequences */
        public void setStop(List<String> stop) {
            this.stop = new ArrayList<>(stop);
        }
    }
}
