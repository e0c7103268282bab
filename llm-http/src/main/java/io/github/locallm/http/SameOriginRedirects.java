package io.github.locallm.http;

import java.io.IOException;
import java.util.Locale;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Follows a redirect only within the origin of the request (same scheme, host and port), and only when the
 * request stays as it was: 307 and 308 keep the method and body, 301, 302 and 303 are followed for GET and
 * HEAD only (as servers use them for a trailing slash). Anything else ends the call before a byte goes to
 * the target, so neither a prompt nor a credential header reaches another origin.
 *
 * <p>Runs as an application interceptor of a client whose own redirect following is off. Thread-safe.
 */
final class SameOriginRedirects implements Interceptor {
    static final int MAX_REDIRECTS = 5;

    /** The redirect was refused; carries what {@link RedirectRefusedException} reports. */
    static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;
        final String location;

        Refused(String location, String why) {
            super(why);
            this.location = location;
        }
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Request request = chain.request();
        for (int followed = 0; ; followed++) {
            Response response = chain.proceed(request);
            if (!response.isRedirect()) {
                return response;
            }
            String location = response.header("Location");
            int code = response.code();
            response.close();
            if (location == null) {
                throw new Refused("", "a " + code + " redirect without a Location header");
            }
            HttpUrl target = request.url().resolve(location);
            if (target == null) {
                throw new Refused(location, "a " + code + " redirect to a location that is not an http(s) URL");
            }
            if (!sameOrigin(request.url(), target)) {
                throw new Refused(location, "a " + code + " redirect to another origin (" + origin(target)
                        + " instead of " + origin(request.url()) + ")");
            }
            String method = request.method().toUpperCase(Locale.ROOT);
            boolean keepsRequest = code == 307 || code == 308 || method.equals("GET") || method.equals("HEAD");
            if (!keepsRequest) {
                throw new Refused(location, "a " + code + " redirect, which would turn " + method
                        + " into GET and drop the request body");
            }
            if (followed >= MAX_REDIRECTS) {
                throw new Refused(location, "more than " + MAX_REDIRECTS + " redirects");
            }
            request = request.newBuilder().url(target).build();
        }
    }

    static boolean sameOrigin(HttpUrl a, HttpUrl b) {
        return a.scheme().equals(b.scheme()) && a.host().equalsIgnoreCase(b.host()) && a.port() == b.port();
    }

    static String origin(HttpUrl u) {
        return u.scheme() + "://" + (u.host().contains(":") ? "[" + u.host() + "]" : u.host()) + ":" + u.port();
    }
}
