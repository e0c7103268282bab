package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArgsTest {
    private static Args parse(String... args) {
        return Args.parse(args, Set.of("model", "max-tokens", "temperature"), Set.of("help"));
    }

    @Test
    void optionsTakeTheNextWordOrTheTextAfterTheEqualsSign() {
        Args a = parse("--model", "ollama:qwen2.5:0.5b", "--max-tokens=64", "Bonjour", "--", "--not-an-option");
        assertThat(a.option("model")).isEqualTo("ollama:qwen2.5:0.5b");
        assertThat(a.intOption("max-tokens", 1)).isEqualTo(64);
        assertThat(a.intOption("absent", 7)).isEqualTo(7);
        assertThat(a.positional()).containsExactly("Bonjour", "--not-an-option");
        assertThat(a.flag("help")).isFalse();
        assertThat(parse("--help").flag("help")).isTrue();
    }

    @Test
    void badValuesNameTheOption() {
        assertThatThrownBy(() -> parse("--max-tokens", "many").intOption("max-tokens", 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--max-tokens").hasMessageContaining("many");
        assertThatThrownBy(() -> parse("--max-tokens", "0").intOption("max-tokens", 1))
                .hasMessageContaining("at least 1");
        assertThatThrownBy(() -> parse("--temperature", "hot").doubleOption("temperature"))
                .hasMessageContaining("--temperature must be a number: hot");
        assertThatThrownBy(() -> parse("--model")).hasMessage("--model needs a value");
        assertThatThrownBy(() -> parse("--modle", "x")).hasMessageContaining("unknown option --modle")
                .hasMessageContaining("--model VALUE");
    }

    @Test
    void badGenerationSettingsAreReportedBeforeAnyModelIsChosen(@TempDir Path dir) {
        Environment env = TestSupport.env(TestSupport.deadOllama(), dir.resolve("work"), dir.resolve("cache"));
        for (TestSupport.Program program : List.of(TestSupport.QUICK_START, TestSupport.STREAMING,
                TestSupport.ASSISTANT, TestSupport.JSON_AND_EMBEDDINGS)) {
            TestSupport.Result r = TestSupport.run(program, env, "", "--temperature", "9");
            assertThat(r.code()).as(r.toString()).isEqualTo(Programs.USAGE);
            assertThat(r.err()).as(r.toString()).contains("temperature").doesNotContain("Model:");
        }
        assertThat(dir.resolve("cache")).as("no demo model was extracted").doesNotExist();
    }

    @Test
    void sizesReadLikePeopleWriteThem() {
        assertThat(ProgressBar.size(999)).isEqualTo("999 B");
        assertThat(ProgressBar.size(1_500)).isEqualTo("1.5 KB");
        assertThat(ProgressBar.size(397_000_000)).isEqualTo("397 MB");
        assertThat(ProgressBar.size(4_683_075_271L)).isEqualTo("4.7 GB");
    }

    @Test
    void cosineOfParallelOppositeAndOrthogonalVectors() {
        assertThat(JsonAndEmbeddings.cosine(new float[] {1, 2}, new float[] {2, 4})).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(JsonAndEmbeddings.cosine(new float[] {1, 0}, new float[] {-3, 0})).isCloseTo(-1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(JsonAndEmbeddings.cosine(new float[] {1, 0}, new float[] {0, 5})).isZero();
        assertThat(JsonAndEmbeddings.cosine(new float[] {0, 0}, new float[] {0, 5})).isZero();
    }
}
