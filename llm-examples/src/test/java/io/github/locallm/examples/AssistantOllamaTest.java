package io.github.locallm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ollama.FakeOllama;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assistant on the Ollama backend, against the loopback fake server. */
class AssistantOllamaTest {
    @TempDir
    Path work;
    @TempDir
    Path cache;
    FakeOllama ollama;
    Environment env;

    @BeforeEach
    void start() throws IOException {
        ollama = FakeOllama.start();
        ollama.keepOnly(FakeOllama.CHAT_MODEL);
        env = TestSupport.env(ollama.url(), work, cache);
    }

    @AfterEach
    void stop() {
        ollama.close();
    }

    private static List<String> lines(String text) {
        return text.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void pipedMessagesAreAnsweredOneLineEachWithTheHistoryAndTheDefaultSystemPrompt() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env,
                "Explique-moi Python en une phrase\nEt les listes ?\n");

        assertThat(r.code()).as(r.toString()).isZero();
        List<String> answers = lines(r.out());
        assertThat(answers).as(r.toString()).hasSize(2);
        assertThat(answers).allSatisfy(a -> assertThat(a).matches("\\S+( \\S+)*"));
        assertThat(ollama.requests("/api/chat")).isEqualTo(2);
        // The second turn carries the first one: system, user, assistant, user.
        assertThat(ollama.lastChatRoles()).containsExactly("system", "user", "assistant", "user");
        assertThat(ollama.lastChatContents()).containsExactly(Assistant.DEFAULT_SYSTEM_PROMPT,
                "Explique-moi Python en une phrase", answers.get(0), "Et les listes ?");
        assertThat(r.err()).contains("found on the local Ollama server").doesNotContain("demo model");
    }

    @Test
    void resetForgetsTheConversationButKeepsTheSystemPrompt() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env,
                "Bonjour\n/reset\nQu'est-ce qu'une liste ?\n", "--system", "Réponds en une phrase.");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).contains("Conversation reset");
        assertThat(ollama.lastChatRoles()).containsExactly("system", "user");
        assertThat(ollama.lastChatContents()).containsExactly("Réponds en une phrase.", "Qu'est-ce qu'une liste ?");
    }

    @Test
    void modelDescribesTheModelWithoutAskingIt() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, "/model\n");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).contains("backend: ollama").contains("model: " + FakeOllama.CHAT_MODEL)
                .contains("context: ").contains("CHAT").contains("system prompt: " + Assistant.DEFAULT_SYSTEM_PROMPT)
                .contains("history: 1 messages");
        assertThat(ollama.requests("/api/chat")).isZero();
    }

    @Test
    void theHistoryIsTrimmedToTheContextOldestTurnsFirst() {
        // With this backend the session estimates a token per byte plus a per-message overhead: a context of
        // 1500 with 40 tokens kept for each answer holds a few turns of about 300 bytes, not eleven.
        StringBuilder input = new StringBuilder();
        for (int i = 1; i <= 12; i++) {
            input.append("Question numéro ").append(i).append(" sur les boucles for en Python ?\n");
        }
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, input.toString(),
                "--model", "ollama:" + FakeOllama.CHAT_MODEL + "?ctx=1500&host=" + ollama.url(), "--max-tokens", "40");

        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(lines(r.out())).hasSize(12);
        List<String> contents = ollama.lastChatContents();
        assertThat(contents.get(0)).isEqualTo(Assistant.DEFAULT_SYSTEM_PROMPT);
        assertThat(contents.get(contents.size() - 1)).isEqualTo("Question numéro 12 sur les boucles for en Python ?");
        assertThat(contents).hasSizeGreaterThan(3).hasSizeLessThan(1 + 2 * 11 + 1).doesNotContain(
                "Question numéro 1 sur les boucles for en Python ?");
        assertThat(ollama.lastChatRoles().get(1)).isEqualTo("user");
    }

    @Test
    void exitStopsReadingAndUnknownCommandsAreReported() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, "/nope\n/exit\nBonjour\n");
        assertThat(r.code()).isZero();
        assertThat(r.err()).contains("Unknown command /nope");
        assertThat(ollama.requests("/api/chat")).isZero();
    }

    @Test
    void atATerminalItGreetsAndPrompts() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env.withInteractive(true), "Bonjour\n/exit\n");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Local Python assistant on ollama").contains("> ");
        assertThat(ollama.requests("/api/chat")).isEqualTo(1);
    }

    @Test
    void aModelTheServerLacksFailsWithAMessageThatNamesIt() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, "Bonjour\n",
                "--model", "ollama:absent-model?host=" + ollama.url());
        assertThat(r.code()).isEqualTo(Programs.FAILED);
        assertThat(r.err()).contains("absent-model");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aBadCommandLineIsAUsageError() {
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, "", "--temprature", "2");
        assertThat(r.code()).isEqualTo(Programs.USAGE);
        assertThat(r.err()).contains("unknown option --temprature").contains("--temperature");
    }

    @Test
    void aMessageTooLongForTheContextIsReportedAndTheNextOneStillAnswered() {
        String tooLong = "Explique-moi les listes ".repeat(20);
        TestSupport.Result r = TestSupport.run(TestSupport.ASSISTANT, env, tooLong + "\nBonjour\n",
                "--model", "ollama:" + FakeOllama.CHAT_MODEL + "?ctx=200&host=" + ollama.url(), "--max-tokens", "20");
        assertThat(r.code()).as(r.toString()).isEqualTo(Programs.FAILED);
        assertThat(r.err()).contains("does not fit the context").contains("1 of 2 messages got no answer");
        assertThat(lines(r.out())).hasSize(1);
        assertThat(ollama.lastChatContents()).containsExactly(Assistant.DEFAULT_SYSTEM_PROMPT, "Bonjour");
    }
}
