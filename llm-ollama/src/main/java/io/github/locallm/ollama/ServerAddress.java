package io.github.locallm.ollama;

import java.util.Locale;
import okhttp3.HttpUrl;

/**
 * Where an Ollama server is, and which model a spec names, following the rules of Ollama's own
 * {@code OLLAMA_HOST} variable.
 */
final class ServerAddress {
    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 11434;
    static final HttpUrl DEFAULT_URL = HttpUrl.get("http://" + DEFAULT_HOST + ":" + DEFAULT_PORT + "/");

    private ServerAddress() {
    }

    /**
     * Reads an {@code OLLAMA_HOST}-style value: {@code host}, {@code host:port}, {@code :port},
     * {@code http://host:port}, {@code https://host}, optionally with a path prefix. Without a scheme the
     * port defaults to 11434; with {@code http://} to 80 and with {@code https://} to 443, as Ollama does.
     * Bind-all addresses ({@code 0.0.0.0}, {@code ::}) become loopback.
     *
     * @param value the value; blank means the default server
     * @param what where the value came from, for messages
     * @return the base URL, ending with a slash
     */
    static HttpUrl parseHost(String value, String what) {
        String s = value == null ? "" : value.strip();
        if (s.isEmpty()) {
            return DEFAULT_URL;
        }
        String scheme = "http";
        int defaultPort = DEFAULT_PORT;
        String rest = s;
        int sep = s.indexOf("://");
        if (sep >= 0) {
            scheme = s.substring(0, sep).toLowerCase(Locale.ROOT);
            rest = s.substring(sep + 3);
            if (scheme.equals("http")) {
                defaultPort = 80;
            } else if (scheme.equals("https")) {
                defaultPort = 443;
            } else {
                throw new IllegalArgumentException(what + " must use http or https: '" + value + "'");
            }
        }
        String path = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            path = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
        }
        String host;
        int port = defaultPort;
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException(what + " has an unclosed IPv6 bracket: '" + value + "'");
            }
            host = rest.substring(1, close);
            String after = rest.substring(close + 1);
            if (after.startsWith(":")) {
                port = parsePort(after.substring(1), value, what);
            } else if (!after.isEmpty()) {
                throw new IllegalArgumentException(what + " is not host[:port]: '" + value + "'");
            }
        } else {
            int colon = rest.lastIndexOf(':');
            if (colon >= 0 && rest.indexOf(':') == colon) {
                host = rest.substring(0, colon);
                port = parsePort(rest.substring(colon + 1), value, what);
            } else {
                // no port, or a bare IPv6 address
                host = rest;
            }
        }
        if (host.isEmpty()) {
            host = DEFAULT_HOST;
        } else if (host.equals("0.0.0.0")) {
            host = DEFAULT_HOST;
        } else if (host.equals("::")) {
            host = "::1";
        }
        HttpUrl.Builder b;
        try {
            b = new HttpUrl.Builder().scheme(scheme).host(host).port(port);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " has an invalid host '" + host + "': '" + value + "'", e);
        }
        for (String segment : path.split("/")) {
            if (!segment.isEmpty()) {
                b.addPathSegment(segment);
            }
        }
        b.addPathSegment("");
        return b.build();
    }

    private static int parsePort(String s, String value, String what) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + " has an invalid port '" + s + "': '" + value
                + "'; expected a number in [1, 65535]");
    }

    /**
     * The server and model a spec location names.
     *
     * @param baseUrl the server, or {@code null} when the location names only a model
     * @param model the model name
     */
    record Target(HttpUrl baseUrl, String model) {
    }

    /**
     * Splits a spec location: {@code MODEL}, {@code //host:port/MODEL}, {@code http://host:port/MODEL} or
     * {@code https://host/MODEL}. The whole path after the host is the model, so namespaced names
     * ({@code hf.co/user/repo:Q4_K_M}) survive; a path prefix of a proxy goes in the {@code host} setting.
     *
     * @param location the spec location
     * @param spec the whole spec, for messages
     * @return the target
     */
    static Target parseLocation(String location, String spec) {
        String loc = location.strip();
        String lower = loc.toLowerCase(Locale.ROOT);
        String hostPart;
        String scheme;
        if (lower.startsWith("//")) {
            scheme = null;
            hostPart = loc.substring(2);
        } else if (lower.startsWith("http://") || lower.startsWith("https://")) {
            int sep = loc.indexOf("://");
            scheme = lower.substring(0, sep);
            hostPart = loc.substring(sep + 3);
        } else {
            return new Target(null, requireModel(loc, spec));
        }
        int slash = hostPart.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("Ollama spec names a server but no model: \"" + spec
                    + "\"; write it as ollama://host:port/MODEL");
        }
        String model = requireModel(hostPart.substring(slash + 1), spec);
        String authority = hostPart.substring(0, slash);
        HttpUrl base = parseHost(scheme == null ? authority : scheme + "://" + authority,
                "the server in \"" + spec + "\"");
        return new Target(base, model);
    }

    private static String requireModel(String model, String spec) {
        String m = model.strip();
        while (m.endsWith("/")) {
            m = m.substring(0, m.length() - 1);
        }
        if (m.isEmpty()) {
            throw new IllegalArgumentException("Ollama spec names no model: \"" + spec
                    + "\"; for example ollama:llama3.2 or ollama://host:11434/llama3.2");
        }
        if (m.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("Ollama model name must not contain spaces: '" + shorten(m) + "' in \""
                    + shorten(spec) + "\"");
        }
        checkModelName(m, "Ollama model name");
        return m;
    }

    /** Longest model name accepted (namespace, name and tag), in chars. */
    static final int MAX_MODEL_NAME = 350;

    /**
     * Checks a model name: at most {@value #MAX_MODEL_NAME} chars of letters, digits and {@code . _ - : / @ +}
     * (namespaces, tags, digests and registry hosts such as {@code hf.co/user/repo:Q4_K_M}).
     *
     * @param name the name
     * @param what what the name is, for messages
     * @return the name
     */
    static String checkModelName(String name, String what) {
        if (name.isEmpty() || name.length() > MAX_MODEL_NAME) {
            throw new IllegalArgumentException(what + " must be 1 to " + MAX_MODEL_NAME + " chars: " + name.length());
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || ".-_:/@+".indexOf(c) >= 0;
            if (!ok) {
                throw new IllegalArgumentException(what + " may hold letters, digits and . _ - : / @ + only: '"
                        + shorten(name).replaceAll("\\p{Cntrl}", "?") + "' has '"
                        + (Character.isISOControl(c) ? String.format("U+%04X", (int) c) : String.valueOf(c)) + "'");
            }
        }
        return name;
    }

    static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    /** @return the same URL with https instead of http, keeping an explicit port */
    static HttpUrl withTls(HttpUrl url) {
        if (url.isHttps()) {
            return url;
        }
        int port = url.port();
        return url.newBuilder().scheme("https").port(port == 80 ? 443 : port).build();
    }

    /** @return the URL as people write it, without the trailing slash */
    static String display(HttpUrl base) {
        String s = base.toString();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }
}
