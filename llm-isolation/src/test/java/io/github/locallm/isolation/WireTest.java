package io.github.locallm.isolation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ThinkLevel;
import io.github.locallm.ToolChoice;
import io.github.locallm.ToolSpec;
import io.github.locallm.spi.GenerationRequest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Requests cross the engine connection whole: every option set on one side is set on the other. */
class WireTest {

    private static GenerationRequest roundTrip(GenerationRequest r) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Wire.request(new DataOutputStream(buf), r);
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(buf.toByteArray()));
        GenerationRequest back = Wire.request(in);
        assertThat(in.read()).as("the whole frame is read").isEqualTo(-1);
        return back;
    }

    @Test
    void everyOptionCrosses() throws IOException {
        ToolSpec weather = new ToolSpec("get_weather", "Weather of a city", "{\"type\":\"object\"}");
        GenerationOptions all = GenerationOptions.builder().maxTokens(7).temperature(0.5).topP(0.9).topK(40)
                .minP(0.05).repeatPenalty(1.1).seed(42).stop("END", "STOP")
                .responseFormat(ResponseFormat.jsonSchema("{\"type\":\"object\"}")).think(ThinkLevel.HIGH)
                .logprobs(true).topLogprobs(3).tool(weather).toolChoice(ToolChoice.function("get_weather"))
                .suffix("}\n").backendOption("llamacpp", "mirostat", "2").build();
        GenerationRequest chat = GenerationRequest.chat(List.of(ChatMessage.user("hi")), all);
        assertThat(roundTrip(chat).options()).isEqualTo(all);
        assertThat(roundTrip(chat).messages()).isEqualTo(chat.messages());

        for (ToolChoice choice : List.of(ToolChoice.AUTO, ToolChoice.NONE, ToolChoice.REQUIRED)) {
            GenerationOptions o = GenerationOptions.builder().tool(weather).toolChoice(choice).build();
            assertThat(roundTrip(GenerationRequest.completion("x", o)).options().toolChoice()).hasValue(choice);
        }
        GenerationOptions none = GenerationOptions.defaults();
        assertThat(roundTrip(GenerationRequest.completion("x", none)).options()).isEqualTo(none);
    }
}
