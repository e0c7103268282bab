package io.github.locallm.openai;

import io.github.locallm.spi.OpenRequest;

/** Keeps secrets out of messages: the {@code api_key} of a spec's query and credentials in URLs. */
final class Redaction {
    private Redaction() {
    }

    /**
     * @param request an open request
     * @return its spec as the user wrote it, with the value of an {@code api_key} query parameter hidden
     */
    static String spec(OpenRequest request) {
        return spec(request.spec().toString());
    }

    static String spec(String spec) {
        return spec.replaceAll("(?i)((?:^|[?&])(?:api_key|header\\.authorization)=)[^&]*", "$1***");
    }

    /**
     * @param url a URL as text
     * @return the URL with any user information hidden
     */
    static String url(String url) {
        return url.replaceAll("(?i)^(https?://)[^/@]*@", "$1***@");
    }
}
