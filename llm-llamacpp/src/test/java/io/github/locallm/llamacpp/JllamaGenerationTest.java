package io.github.locallm.llamacpp;

/** The backend's generation tests on the de.kherud:llama engine ({@code engine=jllama}). */
class JllamaGenerationTest extends GenerationTest {
    @Override
    String engine() {
        return LoadSettings.ENGINE_JLLAMA;
    }
}
