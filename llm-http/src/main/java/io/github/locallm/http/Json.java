package io.github.locallm.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON setup of the HTTP backends: unknown fields are ignored (servers add fields), trailing tokens
 * after a value are an error (two objects glued on one line are not one answer), and the parser's own
 * bounds are tight enough for answers from an untrusted server (nesting depth, number length); strings are
 * bounded by the line and body caps before parsing.
 *
 * <p>The mapper is configured once and never changed; it is thread-safe.
 */
public final class Json {
    /** Deepest nesting accepted in an answer. */
    public static final int MAX_NESTING_DEPTH = 200;
    /** Longest number accepted in an answer, in chars. */
    public static final int MAX_NUMBER_LENGTH = 200;

    /** The shared mapper: read-only use (readTree, createObjectNode, writeValueAsBytes). */
    public static final ObjectMapper MAPPER = newMapper();

    private Json() {
    }

    /** @return a new mapper with the settings above, for callers that need their own */
    public static ObjectMapper newMapper() {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_NESTING_DEPTH)
                        .maxNumberLength(MAX_NUMBER_LENGTH)
                        .maxStringLength(Integer.MAX_VALUE)
                        .build())
                .build();
        return JsonMapper.builder(factory)
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true)
                .build();
    }
}
