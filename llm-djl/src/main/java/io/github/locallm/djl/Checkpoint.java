package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A checkpoint directory read and checked in Java: config, generation defaults, tokenizer settings and the
 * safetensors headers, with every tensor the decoder needs present and shaped as the config says.
 *
 * <p>Nothing here touches native code, so every bad input is reported before the engine starts.
 *
 * <p>Immutable once read.
 */
final class Checkpoint {
    static final String CONFIG = "config.json";
    static final String TOKENIZER = "tokenizer.json";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    static final String GENERATION_CONFIG = "generation_config.json";
    static final String WEIGHTS = "model.safetensors";
    static final String WEIGHTS_INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where one tensor lives. */
    record Located(SafetensorsFile file, SafetensorsFile.Entry entry) {
    }

    private final Path dir;
    private final String model;
    private final CheckpointConfig config;
    private final JsonNode tokenizerConfig;
    private final JsonNode generationConfig;
    private final String chatTemplate;
    private final Map<String, Located> tensors;
    private final String architecture;

    private Checkpoint(Path dir, String model, CheckpointConfig config, JsonNode tokenizerConfig,
                       JsonNode generationConfig, String chatTemplate, Map<String, Located> tensors,
                       String architecture) {
        this.architecture = architecture;
        this.dir = dir;
        this.model = model;
        this.config = config;
        this.tokenizerConfig = tokenizerConfig;
        this.generationConfig = generationConfig;
        this.chatTemplate = chatTemplate;
        this.tensors = tensors;
    }

    /**
     * Reads and checks a checkpoint directory.
     *
     * @param dir the directory
     * @param model the model as the user named it, for messages
     * @return the checked checkpoint
     * @throws ModelNotFoundException when the directory does not exist
     * @throws ModelLoadException when a file is missing, unreadable or inconsistent
     */
    static Checkpoint read(Path dir, String model) {
        if (!Files.exists(dir)) {
            throw new ModelNotFoundException("model directory " + dir + " of djl model " + model
                    + " does not exist; give the path of a Hugging Face checkpoint directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("djl model " + model + " must be a checkpoint directory holding "
                    + CONFIG + ", but " + dir + " is a file; for a .gguf file use the llamacpp backend");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new ModelLoadException("no " + CONFIG + " in " + dir + " (djl model " + model
                    + "); a Hugging Face checkpoint directory needs config.json, tokenizer.json and "
                    + "model.safetensors");
        }
        JsonNode root = readJson(configFile, model, true);
        boolean multimodal = MultimodalText.isGemma3(root);
        if (multimodal) {
            root = MultimodalText.gemma3TextConfig(root, model);
        }
        CheckpointConfig config = CheckpointConfig.parse(root, model);
        if (!Files.isRegularFile(dir.resolve(TOKENIZER))) {
            throw new ModelLoadException("no " + TOKENIZER + " in " + dir + " (djl model " + model
                    + "); the djl backend needs the fast tokenizer file, save it with "
                    + "tokenizer.save_pretrained() or download it with the checkpoint");
        }
        JsonNode tokConfig = readJson(dir.resolve(TOKENIZER_CONFIG), model, false);
        JsonNode genConfig = readJson(dir.resolve(GENERATION_CONFIG), model, false);
        String template = chatTemplate(dir, tokConfig, model);
        Map<String, Located> tensors = locateTensors(dir, model);
        if (multimodal) {
            tensors = MultimodalText.languageModelTensors(tensors);
        }
        checkTensors(config, tensors, model);
        return new Checkpoint(dir, model, config, tokConfig, genConfig, template, tensors,
                multimodal ? MultimodalText.GEMMA3 : config.architecture());
    }

    private static JsonNode readJson(Path file, String model, boolean required) {
        if (!required && !Files.exists(file)) {
            return JSON.createObjectNode();
        }
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(file + " of djl model " + model + " cannot be read as JSON: "
                    + e.getMessage() + "; fix or download the file again", e);
        }
        if (n == null || !n.isObject()) {
            throw new ModelLoadException(file + " of djl model " + model + " is not a JSON object; "
                    + "fix or download the file again");
        }
        return n;
    }

    private static String chatTemplate(Path dir, JsonNode tokConfig, String model) {
        JsonNode t = tokConfig.path("chat_template");
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            // Named templates: the one called "default" is the chat template.
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    return named.path("template").asText(null);
                }
            }
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return Files.readString(jinja);
            } catch (IOException e) {
                throw new ModelLoadException("cannot read " + jinja + " of djl model " + model, e);
            }
        }
        return null;
    }

    private static Map<String, Located> locateTensors(Path dir, String model) {
        Path single = dir.resolve(WEIGHTS);
        Path index = dir.resolve(WEIGHTS_INDEX);
        Map<String, Located> out = new HashMap<>();
        if (Files.isRegularFile(index)) {
            JsonNode map = readJson(index, model, true).path("weight_map");
            if (!map.isObject() || map.size() == 0) {
                throw new ModelLoadException(index + " of djl model " + model + " has no weight_map; "
                        + "fix or download the file again");
            }
            Map<String, SafetensorsFile> files = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = map.properties().iterator(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String fileName = e.getValue().asText();
                Path shard = dir.resolve(fileName).normalize();
                if (!shard.startsWith(dir.normalize()) || !Files.isRegularFile(shard)) {
                    throw new ModelLoadException("shard " + fileName + " named in " + index + " of djl model "
                            + model + " is missing; download every shard of the checkpoint");
                }
                SafetensorsFile f = files.computeIfAbsent(fileName, n -> SafetensorsFile.open(shard, model));
                SafetensorsFile.Entry entry = f.entries().get(e.getKey());
                if (entry == null) {
                    throw new ModelLoadException("tensor " + e.getKey() + " is listed in " + index + " but not found in "
                            + shard + " (djl model " + model + "); download the checkpoint again");
                }
                out.put(e.getKey(), new Located(f, entry));
            }
        } else if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single, model);
            f.entries().forEach((name, entry) -> out.put(name, new Located(f, entry)));
        } else {
            boolean bin = Files.isRegularFile(dir.resolve("pytorch_model.bin"));
            throw new ModelLoadException("no " + WEIGHTS + " or " + WEIGHTS_INDEX + " in " + dir + " (djl model "
                    + model + ")" + (bin ? "; pytorch_model.bin is not supported, convert the weights to safetensors"
                    : "; download the weights of the checkpoint"));
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Lists the tensors the decoder reads, with their expected shapes, as the architecture names them.
     *
     * @param c the config
     * @return tensor name to HF-order shape
     */
    static Map<String, long[]> expectedShapes(CheckpointConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize;
        long q = (long) c.numHeads * c.headDim;
        long kv = (long) c.numKvHeads * c.headDim;
        long inter = c.intermediateSize;
        CheckpointConfig.Family f = c.family;
        boolean phi = f == CheckpointConfig.Family.PHI;
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize, h});
        for (int i = 0; i < c.numLayers; i++) {
            String p = "model.layers." + i + ".";
            norm(m, c, p + "input_layernorm", h);
            if (f == CheckpointConfig.Family.PHI3) {
                m.put(p + "self_attn.qkv_proj.weight", new long[] {q + 2 * kv, h});
            } else {
                m.put(p + "self_attn.q_proj.weight", new long[] {q, h});
                m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
                m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
                if (c.qkvBias) {
                    m.put(p + "self_attn.q_proj.bias", new long[] {q});
                    m.put(p + "self_attn.k_proj.bias", new long[] {kv});
                    m.put(p + "self_attn.v_proj.bias", new long[] {kv});
                }
            }
            String o = phi ? "self_attn.dense" : "self_attn.o_proj";
            m.put(p + o + ".weight", new long[] {h, q});
            if (c.oBias) {
                m.put(p + o + ".bias", new long[] {h});
            }
            if (c.qkNorm) {
                norm(m, c, p + (phi ? "self_attn.q_layernorm" : "self_attn.q_norm"), c.headDim);
                norm(m, c, p + (phi ? "self_attn.k_layernorm" : "self_attn.k_norm"), c.headDim);
            }
            if (!phi) {
                norm(m, c, p + "post_attention_layernorm", h);
            }
            if (c.sandwichNorms) {
                norm(m, c, p + "pre_feedforward_layernorm", h);
                norm(m, c, p + "post_feedforward_layernorm", h);
            }
            if (phi) {
                m.put(p + "mlp.fc1.weight", new long[] {inter, h});
                m.put(p + "mlp.fc1.bias", new long[] {inter});
                m.put(p + "mlp.fc2.weight", new long[] {h, inter});
                m.put(p + "mlp.fc2.bias", new long[] {h});
            } else if (c.sparse[i] && f == CheckpointConfig.Family.MIXTRAL) {
                long e = c.expertIntermediate;
                m.put(p + "block_sparse_moe.gate.weight", new long[] {c.numExperts, h});
                for (int x = 0; x < c.numExperts; x++) {
                    String ep = p + "block_sparse_moe.experts." + x + ".";
                    m.put(ep + "w1.weight", new long[] {e, h});
                    m.put(ep + "w2.weight", new long[] {h, e});
                    m.put(ep + "w3.weight", new long[] {e, h});
                }
            } else if (c.sparse[i]) {
                long e = c.expertIntermediate;
                m.put(p + "mlp.gate.weight", new long[] {c.numExperts, h});
                for (int x = 0; x < c.numExperts; x++) {
                    gated(m, p + "mlp.experts." + x + ".", e, h, false);
                }
                if (c.sharedExpertIntermediate > 0) {
                    gated(m, p + "mlp.shared_expert.", c.sharedExpertIntermediate, h, false);
                    m.put(p + "mlp.shared_expert_gate.weight", new long[] {1, h});
                }
            } else if (f == CheckpointConfig.Family.PHI3) {
                m.put(p + "mlp.gate_up_proj.weight", new long[] {2 * inter, h});
                m.put(p + "mlp.down_proj.weight", new long[] {h, inter});
            } else {
                gated(m, p + "mlp.", inter, h, c.mlpBias);
            }
        }
        norm(m, c, phi ? "model.final_layernorm" : "model.norm", h);
        if (!c.tieWordEmbeddings) {
            m.put("lm_head.weight", new long[] {c.vocabSize, h});
            if (phi) {
                m.put("lm_head.bias", new long[] {c.vocabSize});
            }
        }
        return m;
    }

    private static void norm(Map<String, long[]> m, CheckpointConfig c, String name, long width) {
        m.put(name + ".weight", new long[] {width});
        if (c.normKind == CheckpointConfig.NormKind.LAYER) {
            m.put(name + ".bias", new long[] {width});
        }
    }

    private static void gated(Map<String, long[]> m, String p, long inter, long h, boolean bias) {
        m.put(p + "gate_proj.weight", new long[] {inter, h});
        m.put(p + "up_proj.weight", new long[] {inter, h});
        m.put(p + "down_proj.weight", new long[] {h, inter});
        if (bias) {
            m.put(p + "gate_proj.bias", new long[] {inter});
            m.put(p + "up_proj.bias", new long[] {inter});
            m.put(p + "down_proj.bias", new long[] {h});
        }
    }

    private static void checkTensors(CheckpointConfig c, Map<String, Located> tensors, String model) {
        Set<String> missing = new TreeSet<>();
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expectedShapes(c).entrySet()) {
            Located l = tensors.get(e.getKey());
            if (l == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(l.entry().shape(), e.getValue())) {
                wrong.add(e.getKey() + " is " + Arrays.toString(l.entry().shape()) + ", config.json implies "
                        + Arrays.toString(e.getValue()));
            }
        }
        for (String name : expectedShapes(c).keySet()) {
            Located l = tensors.get(name);
            if (l != null && l.entry().dtype() == null) {
                throw new ModelLoadException("tensor " + name + " of djl model " + model + " has dtype '"
                        + l.entry().dtypeName() + "'; supported: F32, F16, BF16. Use an unquantized checkpoint or "
                        + "convert it to one of them");
            }
        }
        if (!wrong.isEmpty()) {
            throw new ModelLoadException("tensor shapes of djl model " + model + " disagree with its config.json ("
                    + c.architecture() + "): " + String.join("; ", wrong.subList(0, Math.min(5, wrong.size())))
                    + (wrong.size() > 5 ? "; and " + (wrong.size() - 5) + " more" : "")
                    + ". The weights and config.json come from different models");
        }
        if (!missing.isEmpty()) {
            List<String> some = new ArrayList<>(missing).subList(0, Math.min(5, missing.size()));
            throw new ModelLoadException("djl model " + model + " (" + c.architecture() + ") lacks " + missing.size()
                    + " tensor(s) its config.json requires, such as " + some
                    + "; the weights are incomplete or belong to another architecture");
        }
    }

    Path dir() {
        return dir;
    }

    /** @return the architecture config.json names; for a multimodal checkpoint, not the text model that runs */
    String architecture() {
        return architecture;
    }

    String model() {
        return model;
    }

    CheckpointConfig config() {
        return config;
    }

    /** @return the chat template, or {@code null} when the checkpoint has none */
    String chatTemplate() {
        return chatTemplate;
    }

    Located tensor(String name) {
        return tensors.get(name);
    }

    /** @return the total number of parameters the decoder reads */
    long parameterCount() {
        long n = 0;
        for (String name : expectedShapes(config).keySet()) {
            n += tensors.get(name).entry().elements();
        }
        return n;
    }

    /**
     * @return the bytes the weights occupy once loaded: F32 and F16 as stored, BF16 as F16 (its size when
     *     every value converts exactly; widening to F32 doubles it)
     */
    long weightBytes() {
        long n = 0;
        for (String name : expectedShapes(config).keySet()) {
            SafetensorsFile.Entry e = tensors.get(name).entry();
            n = Math.addExact(n, Math.multiplyExact(e.elements(), e.dtype() == SafetensorsFile.DType.F32 ? 4L : 2L));
        }
        return n;
    }

    /** @return the tokenizer settings, an empty object when the checkpoint has none */
    JsonNode tokenizerConfig() {
        return tokenizerConfig;
    }

    /** @return the most common element type of the stored weights */
    String storedDtype() {
        Map<String, Long> count = new HashMap<>();
        for (String name : expectedShapes(config).keySet()) {
            SafetensorsFile.Entry e = tensors.get(name).entry();
            count.merge(e.dtypeName(), e.elements(), Long::sum);
        }
        return count.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("F32");
    }

    /**
     * A special token named in {@code tokenizer_config.json}, which stores it as text or as an object with
     * a {@code content} field.
     *
     * @param key such as {@code eos_token}
     * @return the token text, or {@code null}
     */
    String specialToken(String key) {
        JsonNode n = tokenizerConfig.path(key);
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isObject() && n.path("content").isTextual()) {
            return n.path("content").asText();
        }
        return null;
    }

    /** @return the generation defaults, an empty object when the checkpoint has none */
    JsonNode generationConfig() {
        return generationConfig;
    }

    /** @return end token ids from the generation config and the model config, in that order */
    Set<Integer> configuredEosIds() {
        Set<Integer> out = new LinkedHashSet<>();
        JsonNode n = generationConfig.path("eos_token_id");
        if (n.isInt()) {
            out.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(x -> {
                if (x.isInt()) {
                    out.add(x.asInt());
                }
            });
        }
        out.addAll(config.eosTokenIds());
        return out;
    }
}
