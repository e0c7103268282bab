package io.github.locallm;

import java.util.Objects;
import java.util.Optional;

/**
 * The shape the output must take: free text, any JSON value, or JSON matching a schema.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ResponseFormat {
    /** What kind of output is asked for. */
    public enum Kind {
        /** Free text. */
        TEXT,
        /** Any JSON value. */
        JSON,
        /** JSON matching a schema. */
        JSON_SCHEMA
    }

    /** Free text. */
    public static final ResponseFormat TEXT = new ResponseFormat(Kind.TEXT, null);
    /** Any JSON value. */
    public static final ResponseFormat JSON = new ResponseFormat(Kind.JSON, null);

    private final Kind kind;
    private final String schema;

    private ResponseFormat(Kind kind, String schema) {
        this.kind = kind;
        this.schema = schema;
    }

    /**
     * Output constrained to a JSON schema.
     *
     * @param schema the schema, a JSON object in text form
     * @return the format
     */
    public static ResponseFormat jsonSchema(String schema) {
        Objects.requireNonNull(schema, "schema");
        String s = schema.strip();
        if (!s.startsWith("{") || !s.endsWith("}")) {
            throw new IllegalArgumentException("JSON schema must be a JSON object: " + schema);
        }
        return new ResponseFormat(Kind.JSON_SCHEMA, s);
    }

    /** @return the kind */
    public Kind kind() {
        return kind;
    }

    /** @return the schema for {@link Kind#JSON_SCHEMA}, empty otherwise */
    public Optional<String> schema() {
        return Optional.ofNullable(schema);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResponseFormat r && r.kind == kind && Objects.equals(r.schema, schema);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, schema);
    }

    @Override
    public String toString() {
        return schema == null ? kind.name() : kind + "(" + schema + ")";
    }
}
