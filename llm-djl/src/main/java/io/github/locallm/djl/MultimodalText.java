package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.ModelLoadException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The text model inside a multimodal checkpoint. {@code Gemma3ForConditionalGeneration} keeps the language model's
 * settings in {@code text_config} (keys left out take the defaults of transformers' {@code Gemma3TextConfig}) and
 * its tensors under {@code language_model.model.} (or {@code model.language_model.} in checkpoints saved by newer
 * transformers versions); the vision tower and projector are not read.
 *
 * <p>Stateless.
 */
final class MultimodalText {
    static final String GEMMA3 = "Gemma3ForConditionalGeneration";

    private MultimodalText() {
    }

    /** @return whether config.json describes a Gemma 3 image-text checkpoint */
    static boolean isGemma3(JsonNode root) {
        JsonNode archs = root.path("architectures");
        if (archs.isArray() && archs.size() > 0) {
            return GEMMA3.equals(archs.get(0).asText());
        }
        return root.path("model_type").asText("").equals("gemma3");
    }

    /**
     * The text model's config as a {@code Gemma3ForCausalLM} config.json would hold it.
     *
     * @param root the multimodal config.json
     * @param model the model, for messages
     * @return the text config, defaults filled in
     */
    static JsonNode gemma3TextConfig(JsonNode root, String model) {
        JsonNode text = root.path("text_config");
        if (!text.isMissingNode() && !text.isNull() && !text.isObject()) {
            throw new ModelLoadException("config.json of model " + model + " is invalid: text_config must be an "
                    + "object: " + text + ". Fix config.json or download the checkpoint again");
        }
        ObjectNode c = text.isObject() ? ((ObjectNode) text).deepCopy() : JsonNodeFactory.instance.objectNode();
        // Gemma3TextConfig's defaults, for the keys released checkpoints leave out
        putIfAbsent(c, "vocab_size", 262_208);
        putIfAbsent(c, "hidden_size", 2304);
        putIfAbsent(c, "intermediate_size", 9216);
        putIfAbsent(c, "num_hidden_layers", 26);
        putIfAbsent(c, "num_attention_heads", 8);
        putIfAbsent(c, "num_key_value_heads", 4);
        putIfAbsent(c, "head_dim", 256);
        putIfAbsent(c, "hidden_activation", "gelu_pytorch_tanh");
        putIfAbsent(c, "max_position_embeddings", 131_072);
        putIfAbsent(c, "rms_norm_eps", 1e-6);
        putIfAbsent(c, "rope_theta", 1_000_000.0);
        putIfAbsent(c, "rope_local_base_freq", 10_000.0);
        putIfAbsent(c, "query_pre_attn_scalar", 256);
        putIfAbsent(c, "sliding_window", 4096);
        if (!c.has("layer_types")) {
            putIfAbsent(c, "sliding_window_pattern", 6);
        }
        putIfAbsent(c, "attention_bias", false);
        // the outer config holds what belongs to the whole model
        for (String key : new String[] {"tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id",
            "torch_dtype"}) {
            if (!c.has(key) && root.has(key)) {
                c.set(key, root.get(key));
            }
        }
        putIfAbsent(c, "tie_word_embeddings", true);
        putIfAbsent(c, "bos_token_id", 2);
        putIfAbsent(c, "eos_token_id", 1);
        ArrayNode archs = c.putArray("architectures");
        archs.add("Gemma3ForCausalLM");
        c.put("model_type", "gemma3_text");
        return c;
    }

    private static void putIfAbsent(ObjectNode c, String key, Object value) {
        if (c.has(key)) {
            return;
        }
        if (value instanceof Integer i) {
            c.put(key, i);
        } else if (value instanceof Double d) {
            c.put(key, d);
        } else if (value instanceof Boolean b) {
            c.put(key, b);
        } else {
            c.put(key, String.valueOf(value));
        }
    }

    /**
     * The language model's tensors under the names of a text-only checkpoint; other tensors are left out.
     *
     * @param tensors every tensor of the checkpoint
     * @return the text model's tensors
     */
    static Map<String, Checkpoint.Located> languageModelTensors(Map<String, Checkpoint.Located> tensors) {
        Map<String, Checkpoint.Located> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            String renamed = null;
            if (name.startsWith("language_model.model.")) {
                renamed = "model." + name.substring("language_model.model.".length());
            } else if (name.startsWith("model.language_model.")) {
                renamed = "model." + name.substring("model.language_model.".length());
            } else if (name.startsWith("language_model.lm_head.")) {
                renamed = name.substring("language_model.".length());
            } else if (name.startsWith("lm_head.")) {
                renamed = name;
            }
            if (renamed != null) {
                out.put(renamed, t);
            }
        });
        return Collections.unmodifiableMap(out);
    }
}
