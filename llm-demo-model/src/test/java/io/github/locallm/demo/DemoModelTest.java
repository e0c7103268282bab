package io.github.locallm.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;

class DemoModelTest {

    @TempDir
    Path dir;

    @Test
    void extractsTheGgufAndTheCheckpointAsListedInTheManifest() throws IOException {
        Path gguf = DemoModel.extractGguf(dir);
        Path hf = DemoModel.extractCheckpoint(dir);
        assertThat(gguf).isEqualTo(dir.resolve("demo.gguf"));
        assertThat(hf).isEqualTo(dir.resolve("hf"));
        assertThat(hf.resolve("config.json")).isRegularFile();
        for (String[] entry : DemoModel.manifest()) {
            if (entry[0].equals("demo.gguf") || entry[0].startsWith("hf/")) {
                Path f = dir.resolve(entry[0]);
                assertThat(DemoModel.sha256(f)).as(entry[0]).isEqualTo(entry[1]);
                assertThat(Files.size(f)).as(entry[0]).isEqualTo(Long.parseLong(entry[2]));
            }
        }
        assertThat(DemoModel.manifest()).extracting(e -> e[0]).contains("demo.gguf", "hf/config.json", "README.md");
    }

    @Test
    void keepsAnIdenticalCopyAndRepairsADamagedOne() throws IOException {
        Path gguf = DemoModel.extractGguf(dir);
        FileTime stamp = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(gguf, stamp);
        DemoModel.extractGguf(dir);
        assertThat(Files.getLastModifiedTime(gguf)).isEqualTo(stamp);

        byte[] bytes = Files.readAllBytes(gguf);
        bytes[bytes.length - 1] ^= 1;
        Files.write(gguf, bytes);
        DemoModel.extractGguf(dir);
        String expected = DemoModel.manifest().stream().filter(e -> e[0].equals("demo.gguf")).findFirst()
                .orElseThrow()[1];
        assertThat(DemoModel.sha256(gguf)).isEqualTo(expected);
    }

    @Test
    void shipsAFewMegabytesAtMost() {
        long total = DemoModel.manifest().stream().mapToLong(e -> Long.parseLong(e[2])).sum();
        assertThat(total).isLessThan(8L << 20);
    }
}
