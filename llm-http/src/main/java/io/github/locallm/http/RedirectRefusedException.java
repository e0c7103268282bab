package io.github.locallm.http;

import io.github.locallm.LlmException;

/**
 * A server answered with a redirect that the client does not follow: to another origin (scheme, host or
 * port), or one that would change the request. Nothing of the request (neither the body nor a header)
 * was sent to the redirect's target.
 */
public class RedirectRefusedException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** Where the redirect pointed, as sent. */
    private final String location;

    /**
     * Creates the exception.
     *
     * @param location where the redirect pointed, as sent
     * @param message what was refused and what to do instead
     */
    public RedirectRefusedException(String location, String message) {
        super(message);
        this.location = location;
    }

    /** @return where the redirect pointed, as the server sent it */
    public String location() {
        return location;
    }
}
