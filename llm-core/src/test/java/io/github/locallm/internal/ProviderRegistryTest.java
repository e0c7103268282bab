package io.github.locallm.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.LlmException;
import io.github.locallm.ModelSpec;
import io.github.locallm.ProviderInfo;
import io.github.locallm.ProviderNotFoundException;
import io.github.locallm.spi.LlmProvider;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProviderRegistryTest {
    @TempDir
    Path dir;

    /** A registry that sees exactly the named provider classes, through a real service loader. */
    private ProviderRegistry registry(String... classNames) throws IOException {
        Path services = dir.resolve("cp/META-INF/services");
        Files.createDirectories(services);
        Files.write(services.resolve(LlmProvider.class.getName()), List.of(classNames));
        URL root = dir.resolve("cp").toUri().toURL();
        ClassLoader loader = new URLClassLoader(new URL[] {root}, getClass().getClassLoader()) {
            @Override
            public Enumeration<URL> getResources(String name) throws IOException {
                return findResources(name);
            }
        };
        return ProviderRegistry.load(loader);
    }

    private static String name(Class<?> c) {
        return c.getName();
    }

    @Test
    void noCandidateNamesWhatIsInstalledAndTheArtifactToAdd() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.LlamaLike.class));
        assertThatThrownBy(() -> r.select(ModelSpec.parse("ollama:llama3.2"), Optional.empty()))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessage("No backend accepts 'ollama' (from \"ollama:llama3.2\"). Installed: llamacpp "
                        + "[llamacpp, gguf]. Add the io.github.locallm:llm-ollama dependency.");
    }

    @Test
    void misspeltSchemeSuggestsTheInstalledOne() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.LlamaLike.class));
        assertThatThrownBy(() -> r.select(ModelSpec.parse("llamcpp:/m.gguf"), Optional.empty()))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessage("No backend accepts 'llamcpp' (from \"llamcpp:/m.gguf\"). Did you mean 'llamacpp'? "
                        + "Installed: llamacpp [llamacpp, gguf].");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("ggfu:/m.gguf"), Optional.empty()))
                .hasMessageContaining("Did you mean 'gguf'?");
        // Far from every installed scheme: no guess, the artifact hint instead.
        assertThatThrownBy(() -> r.select(ModelSpec.parse("ollama:llama3.2"), Optional.empty()))
                .hasMessageNotContaining("Did you mean");
    }

    @Test
    void editDistanceCountsSwapsAsOneEdit() {
        assertThat(ProviderRegistry.editDistance("llamcpp", "llamacpp")).isEqualTo(1);
        assertThat(ProviderRegistry.editDistance("ggfu", "gguf")).isEqualTo(1);
        assertThat(ProviderRegistry.editDistance("ollama", "gguf")).isGreaterThan(2);
        assertThat(ProviderRegistry.editDistance("", "djl")).isEqualTo(3);
    }

    @Test
    void knownSchemesMapToTheirArtifacts() throws IOException {
        ProviderRegistry r = registry();
        assertThatThrownBy(() -> r.select(ModelSpec.parse("gguf:/m.gguf"), Optional.empty()))
                .hasMessageContaining("Installed: none.").hasMessageEndingWith("io.github.locallm:llm-llamacpp dependency.");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("hf:/models/qwen"), Optional.empty()))
                .as("no backend of the project accepts hf:").hasMessageNotContaining("Add the")
                .hasMessageContaining("a third-party backend that accepts 'hf'");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("openai:qwen"), Optional.empty()))
                .hasMessageEndingWith("io.github.locallm:llm-openai dependency.");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("djl:/models/qwen"), Optional.empty()))
                .hasMessageEndingWith("io.github.locallm:llm-djl dependency.");
    }

    @Test
    void unknownSchemeListsTheArtifactsThatExist() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.LlamaLike.class));
        assertThatThrownBy(() -> r.select(ModelSpec.parse("nosuch:x"), Optional.empty()))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageStartingWith("No backend accepts 'nosuch' (from \"nosuch:x\"). Installed: llamacpp")
                .hasMessageContaining("io.github.locallm:llm-ollama (ollama)")
                .hasMessageContaining("io.github.locallm:llm-llamacpp (llamacpp, gguf)")
                .hasMessageContaining("io.github.locallm:llm-djl (djl)")
                .hasMessageContaining("io.github.locallm:llm-openai (openai)");
    }

    @Test
    void brokenProvidersAreRememberedAndDoNotStopTheOthers() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.Exploding.class), "com.example.DoesNotExist",
                name(TestProviders.BadSchemes.class), name(TestProviders.LlamaLike.class));
        List<ProviderInfo> infos = r.infos();
        assertThat(infos).hasSize(4);
        assertThat(infos.stream().filter(i -> i.loadError().isPresent()).map(ProviderInfo::name)
                .collect(Collectors.toList())).containsExactly(name(TestProviders.Exploding.class),
                "com.example.DoesNotExist", name(TestProviders.BadSchemes.class));
        assertThat(infos.get(0).error()).contains("libnothing.so");
        assertThat(infos.get(3).name()).isEqualTo("llamacpp");
        assertThat(infos.get(3).schemes()).containsExactlyInAnyOrder("llamacpp", "gguf");
        assertThat(infos.get(3).loadError()).isEmpty();

        assertThat(r.select(ModelSpec.parse("gguf:/m.gguf"), Optional.empty()).name()).isEqualTo("llamacpp");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("boom:x"), Optional.empty()))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining(name(TestProviders.Exploding.class) + " (failed to load:")
                .hasMessageContaining("libnothing.so")
                .hasMessageContaining("com.example.DoesNotExist (failed to load:");
    }

    @Test
    void tieIsAnErrorListingTheCandidates() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.AlphaShared.class), name(TestProviders.BetaShared.class));
        assertThatThrownBy(() -> r.select(ModelSpec.parse("shared:m"), Optional.empty()))
                .isInstanceOf(LlmException.class)
                .hasMessageContaining("Several backends accept 'shared'")
                .hasMessageContaining("alpha [alpha, shared]")
                .hasMessageContaining("beta [beta, shared]")
                .hasMessageContaining("OpenOptions.builder().backend(");
        assertThat(r.select(ModelSpec.parse("alpha:m"), Optional.empty()).name()).isEqualTo("alpha");
    }

    @Test
    void explicitChoiceWinsOverTiesAndPriority() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.AlphaShared.class), name(TestProviders.BetaShared.class),
                name(TestProviders.HighRank.class), name(TestProviders.LowRank.class));
        assertThat(r.select(ModelSpec.parse("shared:m"), Optional.of("beta")).name()).isEqualTo("beta");
        assertThat(r.select(ModelSpec.parse("ranked:m"), Optional.of("LOW")).name()).isEqualTo("low");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("ranked:m"), Optional.of("alpha")))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining("Backend 'alpha' does not accept 'ranked'");
        assertThatThrownBy(() -> r.select(ModelSpec.parse("ranked:m"), Optional.of("ollama")))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining("No backend named 'ollama' is installed")
                .hasMessageEndingWith("Add the io.github.locallm:llm-ollama dependency.");
    }

    @Test
    void higherPriorityWins() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.LowRank.class), name(TestProviders.HighRank.class));
        assertThat(r.select(ModelSpec.parse("ranked:m"), Optional.empty()).name()).isEqualTo("high");
    }

    @Test
    void pathsGoToTheProviderThatAcceptsThem() throws IOException {
        ProviderRegistry r = registry(name(TestProviders.LlamaLike.class), name(TestProviders.HighRank.class),
                name(TestProviders.LowRank.class));
        Path gguf = Files.createFile(dir.resolve("m.gguf"));
        Path bin = Files.createFile(dir.resolve("m.bin"));
        Path other = Files.createDirectories(dir.resolve("checkpoint"));
        assertThat(r.selectForPath(gguf, Optional.empty()).name()).isEqualTo("llamacpp");
        assertThat(r.selectForPath(bin, Optional.empty()).name()).isEqualTo("high");
        assertThatThrownBy(() -> r.selectForPath(other, Optional.empty()))
                .isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining("a directory without config.json")
                .hasMessageContaining("Expected a .gguf file")
                .hasMessageContaining("checkpoint directory with config.json")
                .hasMessageContaining("Installed: llamacpp [llamacpp, gguf], high [ranked], low [ranked]");
    }

    @Test
    void theCatalogueNamesEachSchemeOnceAndATieNamesTheArtifacts() throws IOException {
        List<String> schemes = KnownBackends.all().stream().flatMap(b -> b.schemes().stream())
                .collect(Collectors.toList());
        assertThat(schemes).doesNotHaveDuplicates();
        assertThat(KnownBackends.mismatches(new TestProviders.LlamaLike()))
                .as("a provider that does not name its artifact").isNotEmpty();
        ProviderRegistry r = registry(name(TestProviders.AlphaShared.class), name(TestProviders.BetaShared.class));
        assertThatThrownBy(() -> r.select(ModelSpec.parse("shared:m"), Optional.empty()))
                .hasMessageEndingWith("remove one of them from the class path (com.example:alpha).");
    }
}
