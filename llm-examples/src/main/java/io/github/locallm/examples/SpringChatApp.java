package io.github.locallm.examples;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot application that answers through Spring AI's {@link ChatClient} on a model of this SDK, configured
 * by properties alone (the {@code llm-spring-ai} auto-configuration):
 *
 * <pre>
 * locallm.chat.model=llamacpp:/models/qwen2.5-0.5b-instruct-q8_0.gguf
 * locallm.chat.options.temperature=0
 * </pre>
 *
 * <p>Run with {@code mvn -B -q -DskipTests -Prun package -Dexec.mainClass=io.github.locallm.examples.SpringChatApp
 * -Dexec.args="--locallm.chat.model=llamacpp:/path/model.gguf"}; without {@code locallm.chat.model} it uses the
 * embedded demo model. The question is {@code --question=...} (default: the demo model's first question); the
 * answer is printed blocking, then streamed.
 */
@SpringBootApplication
public class SpringChatApp {

    /** The question asked when none is given. */
    static final String QUESTION = "Explique-moi Python en une phrase";

    /**
     * Starts the application, answers, and stops.
     *
     * @param args Spring Boot arguments ({@code --locallm.chat.model=SPEC}, {@code --question=TEXT})
     */
    public static void main(String[] args) {
        Logs.configure();
        int code = SpringApplication.exit(start(args));
        if (code != 0) {
            System.exit(code);
        }
    }

    static ConfigurableApplicationContext start(String... args) {
        SpringApplication app = new SpringApplication(SpringChatApp.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        app.setBannerMode(org.springframework.boot.Banner.Mode.OFF);
        app.setDefaultProperties(java.util.Map.of(
                "locallm.chat.model", "llamacpp:" + io.github.locallm.demo.DemoModel.extractGguf(
                        Environment.system().cacheDir().resolve(EmbeddedModel.FOLDER)),
                "locallm.chat.options.temperature", "0", "locallm.chat.options.repeat-penalty", "1",
                "locallm.chat.options.max-tokens", "256"));
        return app.run(args);
    }

    /**
     * @param model the auto-configured chat model
     * @return the client the application talks through
     */
    @Bean
    ChatClient chatClient(ChatModel model) {
        return ChatClient.create(model);
    }

    /**
     * @param chat the chat client
     * @return the runner that asks the question, blocking then streaming
     */
    @Bean
    ApplicationRunner ask(ChatClient chat) {
        return args -> {
            String question = args.containsOption("question") ? String.join(" ", args.getOptionValues("question"))
                    : QUESTION;
            System.out.println(chat.prompt(question).call().content());
            chat.prompt(question).stream().content().doOnNext(System.out::print).blockLast();
            System.out.println();
        };
    }
}
