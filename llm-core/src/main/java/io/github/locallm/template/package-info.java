/**
 * Chat templates: a sandboxed renderer of the Jinja2 templates that model checkpoints ship.
 *
 * <p>{@link io.github.locallm.template.ChatTemplate} parses the {@code chat_template} of a
 * Hugging Face {@code tokenizer_config.json} (or a GGUF file's {@code tokenizer.chat_template})
 * and renders conversations to the exact prompt text {@code transformers} produces. The renderer
 * is a small interpreter written for this purpose (no template engine dependency): it follows
 * Jinja2's lexer, grammar and runtime semantics and Python's rules for values, and it runs
 * every template in a sandbox bounded by {@link io.github.locallm.template.TemplateLimits}.
 *
 * <p>{@link io.github.locallm.template.PythonJson} reads and writes JSON the way templates see it (Python's
 * values, {@code json.dumps} text), for code that builds or reads prompt text beside them.
 *
 * <pre>{@code
 * ChatTemplate template = ChatTemplate.parse(chatTemplateText);
 * String prompt = template.render(messages, RenderOptions.builder().addGenerationPrompt(true).build());
 * }</pre>
 */
package io.github.locallm.template;
