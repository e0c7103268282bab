package io.github.locallm.modelkit;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * A model in memory, ready to be written in any format: its {@link LlamaConfig}, its {@link BpeTokenizer},
 * its tensors by Hugging Face name, and a ChatML chat template.
 *
 * <p>Tensor names follow Hugging Face: {@code model.embed_tokens.weight},
 * {@code model.layers.{i}.input_layernorm.weight}, {@code model.layers.{i}.self_attn.{q,k,v,o}_proj.weight},
 * {@code model.layers.{i}.self_attn.{q,k,v}_proj.bias} when the config has attention biases,
 * {@code model.layers.{i}.post_attention_layernorm.weight}, {@code model.layers.{i}.mlp.{gate,up,down}_proj.weight},
 * {@code model.norm.weight} and {@code lm_head.weight} unless the embeddings are tied.
 *
 * <p>A model is either eager (all tensors in memory) or lazy ({@link #lazy}): then {@link #tensors()} is a
 * view that produces each tensor when it is read and keeps none, so writers can stream a model of hundreds
 * of millions of parameters one tensor at a time. Instances are immutable and thread-safe if the tensor
 * arrays are not mutated.
 *
 * <pre>{@code
 * CheckpointModel model = TinyModels.llama();
 * GgufWriter.write(model, dir.resolve("tiny.gguf"), GgufWriter.Quantization.Q8_0);
 * }</pre>
 */
public final class CheckpointModel {

    /** The ChatML template (Jinja), as Qwen-style chat models ship it. */
    public static final String CHATML_TEMPLATE =
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final LlamaConfig config;
    private final BpeTokenizer tokenizer;
    private final String chatTemplate;
    private final Map<String, long[]> shapes;
    private final Map<String, Tensor> tensors;

    private CheckpointModel(LlamaConfig config, BpeTokenizer tokenizer, String chatTemplate,
                            Map<String, long[]> shapes, Map<String, Tensor> tensors) {
        this.config = Objects.requireNonNull(config, "config");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.chatTemplate = Objects.requireNonNull(chatTemplate, "chatTemplate");
        if (tokenizer.size() != config.vocabSize()) {
            throw new IllegalArgumentException("config.vocabSize " + config.vocabSize()
                    + " differs from the tokenizer's size " + tokenizer.size());
        }
        Map<String, long[]> expected = expectedShapes(config);
        if (!expected.keySet().equals(shapes.keySet())) {
            throw new IllegalArgumentException("tensor names " + shapes.keySet() + " differ from the expected "
                    + expected.keySet());
        }
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            if (!Arrays.equals(e.getValue(), shapes.get(e.getKey()))) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " has shape "
                        + Arrays.toString(shapes.get(e.getKey())) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        this.shapes = shapes;
        this.tensors = tensors;
    }

    /**
     * Creates an eager model from tensors held in memory.
     *
     * @param config       the shape
     * @param tokenizer    the tokenizer, of {@code config.vocabSize()} tokens
     * @param tensors      every expected tensor (see the class comment), in any order
     * @param chatTemplate the Jinja chat template
     * @return the model
     */
    public static CheckpointModel of(LlamaConfig config, BpeTokenizer tokenizer, Map<String, Tensor> tensors,
                                     String chatTemplate) {
        Map<String, long[]> expected = expectedShapes(Objects.requireNonNull(config, "config"));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            Tensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException("missing tensor " + name);
            }
            shapes.put(name, t.shape());
            ordered.put(name, t);
        }
        if (tensors.size() != ordered.size()) {
            throw new IllegalArgumentException("unexpected tensors: " + tensors.keySet() + " expected " + expected.keySet());
        }
        return new CheckpointModel(config, tokenizer, chatTemplate, Collections.unmodifiableMap(shapes),
                Collections.unmodifiableMap(ordered));
    }

    /**
     * Creates a lazy model whose tensors are produced on each read by {@code generator} (given the name).
     *
     * @param config       the shape
     * @param tokenizer    the tokenizer
     * @param generator    returns the row-major data of the named tensor; called once per read
     * @param chatTemplate the Jinja chat template
     * @return the model
     */
    public static CheckpointModel lazy(LlamaConfig config, BpeTokenizer tokenizer, Function<String, float[]> generator,
                                       String chatTemplate) {
        Objects.requireNonNull(generator, "generator");
        Map<String, long[]> shapes = Collections.unmodifiableMap(expectedShapes(config));
        return new CheckpointModel(config, tokenizer, chatTemplate, shapes, new LazyTensors(shapes, generator));
    }

    /** Returns the tensor names and Hugging Face shapes this config calls for, in canonical order. */
    public static Map<String, long[]> expectedShapes(LlamaConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long kv = c.kvDim();
        long ff = c.intermediateSize();
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[] {h});
            m.put(p + "self_attn.q_proj.weight", new long[] {h, h});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            if (c.attentionBias()) {
                m.put(p + "self_attn.q_proj.bias", new long[] {h});
                m.put(p + "self_attn.k_proj.bias", new long[] {kv});
                m.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            m.put(p + "self_attn.o_proj.weight", new long[] {h, h});
            if (c.qkNorm()) {
                m.put(p + "self_attn.q_norm.weight", new long[] {c.headDim()});
                m.put(p + "self_attn.k_norm.weight", new long[] {c.headDim()});
            }
            m.put(p + "post_attention_layernorm.weight", new long[] {h});
            m.put(p + "mlp.gate_proj.weight", new long[] {ff, h});
            m.put(p + "mlp.up_proj.weight", new long[] {ff, h});
            m.put(p + "mlp.down_proj.weight", new long[] {h, ff});
        }
        m.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) {
            m.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return m;
    }

    /** Returns the model's shape. */
    public LlamaConfig config() {
        return config;
    }

    /** Returns the tokenizer. */
    public BpeTokenizer tokenizer() {
        return tokenizer;
    }

    /** Returns the Jinja chat template. */
    public String chatTemplate() {
        return chatTemplate;
    }

    /** Returns the tensor shapes by Hugging Face name, in canonical order, without producing any data. */
    public Map<String, long[]> shapes() {
        return shapes;
    }

    /**
     * Returns the tensors by Hugging Face name in canonical order; for a lazy model each read produces a
     * fresh tensor, so iterate once and let each go.
     */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Returns whether tensors are produced on demand. */
    public boolean isLazy() {
        return tensors instanceof LazyTensors;
    }

    /** Returns a copy of this model with another chat template. */
    public CheckpointModel withChatTemplate(String template) {
        return new CheckpointModel(config, tokenizer, template, shapes, tensors);
    }

    @Override
    public String toString() {
        return "CheckpointModel[" + config.architecture() + ", " + config.parameterCount() + " parameters, "
                + (isLazy() ? "lazy" : "eager") + "]";
    }

    private static final class LazyTensors extends AbstractMap<String, Tensor> {
        private final Map<String, long[]> shapes;
        private final Function<String, float[]> generator;

        LazyTensors(Map<String, long[]> shapes, Function<String, float[]> generator) {
            this.shapes = shapes;
            this.generator = generator;
        }

        @Override
        public Tensor get(Object key) {
            long[] shape = shapes.get(key);
            return shape == null ? null : new Tensor((String) key, shape, generator.apply((String) key));
        }

        @Override
        public boolean containsKey(Object key) {
            return shapes.containsKey(key);
        }

        @Override
        public int size() {
            return shapes.size();
        }

        @Override
        public Set<String> keySet() {
            return shapes.keySet();
        }

        @Override
        public Set<Entry<String, Tensor>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Entry<String, Tensor>> iterator() {
                    Iterator<String> names = List.copyOf(shapes.keySet()).iterator();
                    return new Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return names.hasNext();
                        }

                        @Override
                        public Entry<String, Tensor> next() {
                            String n = names.next();
                            return new SimpleImmutableEntry<>(n, get(n));
                        }
                    };
                }

                @Override
                public int size() {
                    return shapes.size();
                }
            };
        }
    }
}
