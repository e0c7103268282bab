package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.memory.InMemoryBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolChoiceTest {
    private static final ToolSpec WEATHER = new ToolSpec("get_weather", "weather in a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
    private static final ToolSpec TIME = new ToolSpec("now", "current time", "{\"type\":\"object\"}");

    @Test
    void aChoiceIsAValueOfTheOptions() {
        GenerationOptions o = GenerationOptions.builder().tool(WEATHER).toolChoice(ToolChoice.function("get_weather"))
                .build();
        assertThat(o.toolChoice()).contains(ToolChoice.function("get_weather"));
        assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
        assertThat(o).isNotEqualTo(o.toBuilder().toolChoice(ToolChoice.REQUIRED).build());
        assertThat(o.toString()).contains("toolChoice=function(get_weather)");
        assertThat(GenerationOptions.defaults().toolChoice()).isEmpty();
        assertThat(o.toBuilder().clearTools().build().tools()).isEmpty();
        assertThat(o.toBuilder().clearTools().build().toolChoice()).isEmpty();
        assertThat(ToolChoice.REQUIRED.forcesCall()).isTrue();
        assertThat(ToolChoice.function("x").forcesCall()).isTrue();
        assertThat(ToolChoice.AUTO.forcesCall()).isFalse();
        assertThat(ToolChoice.NONE.forcesCall()).isFalse();
        assertThat(ToolChoice.function("now").callable(List.of(WEATHER, TIME))).containsExactly(TIME);
        assertThat(ToolChoice.REQUIRED.callable(List.of(WEATHER, TIME))).containsExactly(WEATHER, TIME);
        assertThatThrownBy(() -> ToolChoice.function(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GenerationOptions.builder().toolChoice(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aRequiredCallAppliesOnTheUsersTurnOnly() {
        try (LocalLlm llm = LocalLlm.open("memory:tools?tools=true")) {
            InMemoryBackend backend = InMemoryBackend.last();
            GenerationOptions required = GenerationOptions.builder().maxTokens(2).tool(WEATHER)
                    .toolChoice(ToolChoice.REQUIRED).build();
            llm.chat(List.of(ChatMessage.user("weather?")), required);
            assertThat(backend.lastRequest.options().toolChoice()).as("the user's turn").contains(ToolChoice.REQUIRED);

            ToolCall call = new ToolCall("c1", "get_weather", "{\"city\":\"Oslo\"}");
            List<ChatMessage> afterResult = List.of(ChatMessage.user("weather?"),
                    ChatMessage.assistant("", List.of(call)), ChatMessage.toolResult(call, "{\"celsius\":3}"));
            llm.chat(afterResult, required);
            assertThat(backend.lastRequest.options().toolChoice()).as("after the tool result")
                    .contains(ToolChoice.AUTO);
            assertThat(backend.lastRequest.options().tools()).containsExactly(WEATHER);

            GenerationOptions named = required.toBuilder().toolChoice(ToolChoice.function("get_weather")).build();
            llm.chat(afterResult, named);
            assertThat(backend.lastRequest.options().toolChoice()).contains(ToolChoice.AUTO);

            try (ChatSession chat = llm.newChatSession("be brief", required)) {
                chat.send("weather?");
                assertThat(backend.lastRequest.options().toolChoice()).contains(ToolChoice.REQUIRED);
            }
        }
    }

    @Test
    void noneOffersNoToolsAndAForcedCallIsChecked() {
        try (LocalLlm llm = LocalLlm.open("memory:tools?tools=true")) {
            InMemoryBackend backend = InMemoryBackend.last();
            List<ChatMessage> ask = List.of(ChatMessage.user("weather?"));
            GenerationOptions base = GenerationOptions.builder().maxTokens(2).tool(WEATHER).build();
            llm.chat(ask, base.toBuilder().toolChoice(ToolChoice.NONE).build());
            assertThat(backend.lastRequest.options().tools()).as("tools of a NONE call").isEmpty();
            assertThat(backend.lastRequest.options().toolChoice()).contains(ToolChoice.NONE);

            int calls = backend.generateCalls.get();
            assertThatThrownBy(() -> llm.chat(ask, base.toBuilder().toolChoice(ToolChoice.function("now")).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'now'")
                    .hasMessageContaining("[get_weather]");
            assertThatThrownBy(() -> llm.chat(ask, GenerationOptions.builder().toolChoice(ToolChoice.REQUIRED)
                    .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs at least one tool");
            assertThat(backend.generateCalls.get()).as("refused before the backend").isEqualTo(calls);
        }
        try (LocalLlm llm = LocalLlm.open("memory:plain")) {
            GenerationOptions required = GenerationOptions.builder().maxTokens(2).tool(WEATHER)
                    .toolChoice(ToolChoice.REQUIRED).build();
            assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user("weather?")), required))
                    .isInstanceOf(UnsupportedCapabilityException.class);
        }
    }
}
