package io.github.locallm.template;

import java.util.Map;

/**
 * A parsed chat template. Skeleton: the renderer lands with the template work (issue 5).
 */
public final class ChatTemplate {
    private ChatTemplate() {
    }

    /**
     * @param source Jinja template text
     * @return the parsed template
     */
    public static ChatTemplate parse(String source) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /**
     * @param context template variables
     * @return the rendered text
     */
    public String render(Map<String, Object> context) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
