package io.github.locallm.langchain4j;

import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;

/** The model of {@link SuiteModel} opened once per test JVM on the in-process llama.cpp and DJL backends. */
final class SuiteModels {
    /** Greedy decoding: the trained answers come back word for word. */
    static final GenerationOptions GREEDY = GenerationOptions.builder().temperature(0).repeatPenalty(1)
            .maxTokens(120).build();
    /** The tool-call arguments as the adapter hands them to LangChain4j (compact JSON). */
    static final String MUNICH = "{\"city\":\"Munich\"}";
    static final String FRANCE = "{\"country\":\"France\"}";

    private static LocalLlm llm;
    private static LocalLlm djl;

    private SuiteModels() {
    }

    static synchronized LocalLlm llm() {
        if (llm == null) {
            llm = LocalLlm.open("llamacpp:" + SuiteModel.gguf(), OpenOptions.builder().threads(1).build());
            Runtime.getRuntime().addShutdownHook(new Thread(llm::close, "suite-model-close"));
        }
        return llm;
    }

    /** The same model through the DJL backend (PyTorch). */
    static synchronized LocalLlm djl() {
        if (djl == null) {
            djl = LocalLlm.open("djl:" + SuiteModel.checkpoint()); // PyTorch threads: the surefire property
            Runtime.getRuntime().addShutdownHook(new Thread(djl::close, "suite-model-close-djl"));
        }
        return djl;
    }
}
