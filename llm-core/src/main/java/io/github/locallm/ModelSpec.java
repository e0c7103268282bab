package io.github.locallm;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A parsed model spec: {@code scheme:location[?key=value&...]}.
 *
 * <p>The spec is split on its first colon, so Ollama tags ({@code ollama:qwen2.5:7b}) and Windows paths
 * ({@code llamacpp:C:\models\m.gguf}) survive. The query starts at the last {@code ?} whose remainder is a
 * list of {@code key=value} pairs; values are URL-decoded.
 *
 * <pre>{@code
 * ModelSpec s = ModelSpec.parse("llamacpp:/models/mistral.gguf?ctx=8192&threads=8");
 * s.scheme();      // "llamacpp"
 * s.location();    // "/models/mistral.gguf"
 * s.parameters();  // {ctx=8192, threads=8}
 * }</pre>
 *
 * @param scheme the lower-cased part before the first colon
 * @param location the part after the first colon, without the query
 * @param parameters the query parameters in order
 * @param original the spec as given
 */
public record ModelSpec(String scheme, String location, Map<String, String> parameters, String original) {

    /**
     * Validates and copies the values.
     *
     * @param scheme the lower-cased part before the first colon
     * @param location the part after the first colon, without the query
     * @param parameters the query parameters in order
     * @param original the spec as given
     */
    public ModelSpec {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(location, "location");
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        Objects.requireNonNull(original, "original");
    }

    /**
     * Parses a spec.
     *
     * @param spec such as {@code "ollama:llama3.2"}
     * @return the parsed spec
     * @throws IllegalArgumentException when the spec has no scheme or no location
     */
    public static ModelSpec parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int colon = spec.indexOf(':');
        if (colon <= 0) {
            boolean path = spec.contains("/") || spec.contains("\\") || spec.toLowerCase(Locale.ROOT).endsWith(".gguf");
            throw new IllegalArgumentException("model spec must look like 'scheme:model', for example "
                    + "'ollama:llama3.2' or 'llamacpp:/models/m.gguf': \"" + spec + "\""
                    + (path ? ". For a file or directory, call LocalLlm.open(Path.of(\"" + spec + "\")), which picks "
                    + "the backend from the path, or prefix it with 'llamacpp:' (a .gguf file) or 'djl:' (a checkpoint "
                    + "directory)." : ""));
        }
        String scheme = spec.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        if (!scheme.matches("[a-z][a-z0-9+.-]*")) {
            throw new IllegalArgumentException("invalid scheme '" + scheme + "' in model spec \"" + spec + "\"");
        }
        String rest = spec.substring(colon + 1);
        Map<String, String> params = new LinkedHashMap<>();
        int q = rest.lastIndexOf('?');
        if (q >= 0) {
            String query = rest.substring(q + 1);
            rest = rest.substring(0, q);
            if (!query.isEmpty()) {
                for (String pair : query.split("&", -1)) {
                    if (pair.isEmpty()) {
                        continue;
                    }
                    int eq = pair.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("query parameter must be key=value: '" + pair
                                + "' in model spec \"" + spec + "\"");
                    }
                    String key = decode(pair.substring(0, eq));
                    if (params.put(key, decode(pair.substring(eq + 1))) != null) {
                        throw new IllegalArgumentException("duplicate query parameter '" + key
                                + "' in model spec \"" + spec + "\"");
                    }
                }
            }
        }
        if (rest.isBlank()) {
            throw new IllegalArgumentException("model spec names no model after '" + scheme + ":': \"" + spec + "\"");
        }
        return new ModelSpec(scheme, rest, params, spec);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return original;
    }
}
