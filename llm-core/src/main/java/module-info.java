/**
 * LocalLLM for Java: one API over local language-model backends.
 */
module io.github.locallm {
    exports io.github.locallm;
    exports io.github.locallm.spi;
    exports io.github.locallm.template;
    exports io.github.locallm.format;
    exports io.github.locallm.grammar;

    uses io.github.locallm.spi.LlmProvider;
    uses io.github.locallm.spi.ProcessIsolation;
}
