package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code llm-server} command in its own JVM: the startup line, serving, and a clean stop on SIGTERM. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServerCommandTest {

    private static Path stderr;

    private static Process start(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ServerMain.class.getName()));
        cmd.addAll(List.of(args));
        stderr = java.nio.file.Files.createTempFile("llm-server-command", ".err");
        stderr.toFile().deleteOnExit();
        return new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    }

    @Test
    void servesWhatTheStartupLineSaysAndStopsOnSigterm() throws Exception {
        Process p = start("--model", "tiny=llamacpp:" + Fixture.GGUF + "?ctx=256&threads=1", "--port", "0");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            String startup = line.get(60, TimeUnit.SECONDS);
            assertThat(startup).startsWith("llm-server: serving tiny=llamacpp:");
            Matcher m = Pattern.compile("on (http://127\\.0\\.0\\.1:\\d+) ").matcher(startup);
            assertThat(m.find()).as(startup).isTrue();
            String base = m.group(1);
            assertThat(startup).contains(base + "/v1").contains(base + "/api");
            JsonNode tags = Http.json(Http.get(base + "/api/tags").body());
            assertThat(tags.get("models").get(0).get("name").asText()).isEqualTo("tiny");
            JsonNode chat = Http.json(Http.post(base + "/v1/completions",
                    "{\"model\":\"tiny\",\"prompt\":\"Once\",\"max_tokens\":3}").body());
            assertThat(chat.get("choices").get(0).get("finish_reason").asText()).isIn("stop", "length");
            p.destroy(); // SIGTERM: the shutdown hook stops the server gracefully
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(java.nio.file.Files.readString(stderr)).doesNotContain("Exception");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badArgumentsPrintTheUsage() throws Exception {
        Process p = start("--model", "no-equals-sign");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        String err = java.nio.file.Files.readString(stderr);
        assertThat(err).contains("--model wants NAME=SPEC").contains("usage: java -jar llm-server.jar");
    }
}
