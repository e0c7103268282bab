package io.github.locallm.grammar;

import io.github.locallm.template.PythonJson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Turns a JSON schema into a GBNF grammar whose every complete sentence is a JSON value valid against the
 * schema, the one grammar both in-process backends constrain decoding with (llama.cpp reads the GBNF text,
 * other backends mask logits with a {@link GrammarMatcher} over it).
 *
 * <p>The supported subset: {@code type} (a name or a list of names: object, array, string, number, integer,
 * boolean, null), {@code properties} with {@code required} (properties are written in the schema's order;
 * no other properties are produced), {@code items} with {@code minItems}/{@code maxItems}, {@code minLength}/
 * {@code maxLength} of strings, {@code enum}, {@code const}, {@code anyOf}/{@code oneOf}, and local
 * {@code $ref}s to {@code #/$defs/...} or {@code #/definitions/...}. Annotations ({@code description},
 * {@code title}, {@code default}, {@code examples}, {@code format}, {@code additionalProperties},
 * {@code $schema}, {@code $id}) are accepted and do not constrain. Any other keyword ({@code pattern},
 * {@code allOf}, {@code not}, {@code minimum}, ...) is refused with an {@link IllegalArgumentException},
 * rather than produce output the schema would reject. Strings hold printable characters and the JSON
 * escapes; numbers have at most 15 digits before and after the point.
 *
 * <p>Thread-safe: the methods are static and keep no state.
 */
public final class JsonSchemaGrammar {
    private static final Set<String> ANNOTATIONS = Set.of("description", "title", "default", "examples", "format",
            "additionalProperties", "$schema", "$id", "$comment", "$defs", "definitions", "type", "properties",
            "required", "items", "minItems", "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "oneOf",
            "$ref");

    /** Rules shared by every grammar: whitespace, strings, numbers and any JSON value. */
    static final String BASE_RULES = String.join("\n",
            "ws ::= [ \\t\\n]?",
            "char ::= [^\"\\\\\\x00-\\x1F\\x7F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])",
            "string ::= \"\\\"\" char* \"\\\"\"",
            "digit ::= [0-9]",
            "digits15 ::= digit digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit?",
            "integer ::= \"-\"? (\"0\" | [1-9] (digit digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit? digit?)?)",
            "number ::= integer (\".\" digits15)? ([eE] [-+]? digit digit? digit?)?",
            "boolean ::= \"true\" | \"false\"",
            "null ::= \"null\"",
            "value ::= object | array | string | number | boolean | null",
            "object ::= \"{\" ws (string \":\" ws value (\",\" ws string \":\" ws value)*)? \"}\"",
            "array ::= \"[\" ws (value (\",\" ws value)*)? \"]\"",
            "");

    private static final String CHAR_RULE =
            "char ::= [^\"\\\\\\x00-\\x1F\\x7F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])";
    private static final String ASCII_CHAR_RULE =
            "char ::= [ !#-\\[\\]-~] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])";

    private final Map<String, Object> root;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> refRules = new LinkedHashMap<>();
    private int counter;

    private JsonSchemaGrammar(Map<String, Object> root) {
        this.root = root;
    }

    /**
     * The same grammar with strings limited to printable ASCII and JSON escapes (other characters are written
     * as {@code \\uXXXX}, which parses to the same string). For engines that match grammars on bytes and accept
     * any byte sequence a lenient UTF-8 decoder reads as an allowed character (overlong forms, stray
     * continuation bytes): with ASCII the output is always valid UTF-8.
     *
     * @param gbnf a grammar from this class or {@link ToolCallGrammar}
     * @return the grammar with ASCII strings
     */
    public static String asciiStrings(String gbnf) {
        if (!gbnf.contains(CHAR_RULE)) {
            throw new IllegalArgumentException("not a grammar made by JsonSchemaGrammar");
        }
        return gbnf.replace(CHAR_RULE, ASCII_CHAR_RULE);
    }

    /**
     * A grammar for any JSON value (objects and arrays included).
     *
     * @return GBNF text with a {@code root} rule
     */
    public static String anyJson() {
        return "root ::= value\n" + BASE_RULES;
    }

    /**
     * A grammar for the values valid against a schema.
     *
     * @param schemaJson the JSON schema, as JSON text
     * @return GBNF text with a {@code root} rule
     * @throws IllegalArgumentException if the schema is not a JSON object or uses a keyword outside the subset
     */
    public static String fromSchema(String schemaJson) {
        JsonSchemaGrammar g = new JsonSchemaGrammar(parseSchema(schemaJson));
        String body;
        try {
            body = g.visit(g.root, "root-value");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the JSON schema cannot be used for constrained decoding: "
                    + e.getMessage(), e);
        }
        return "root ::= " + body + "\n" + g.rulesText();
    }

    /**
     * Adds the rules of a schema to a grammar under construction, for grammars (such as tool calls) that embed
     * schema values in other text.
     *
     * @param schemaJson the JSON schema
     * @param prefix a rule-name prefix unique within the grammar (letters, digits and dashes)
     * @param out receives the rules, name to body
     * @return the expression that matches a valid value
     */
    static String embed(String schemaJson, String prefix, Map<String, String> out) {
        JsonSchemaGrammar g = new JsonSchemaGrammar(parseSchema(schemaJson));
        String expr = g.visit(g.root, prefix);
        g.rules.forEach((k, v) -> out.put(k, v));
        return expr;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> parseSchema(String schemaJson) {
        Objects.requireNonNull(schemaJson, "schema");
        Object s;
        try {
            s = PythonJson.loads(schemaJson);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the JSON schema is not valid JSON: " + e.getMessage(), e);
        }
        if (!(s instanceof Map)) {
            throw new IllegalArgumentException("the JSON schema must be a JSON object");
        }
        return (Map<String, Object>) s;
    }

    private String rulesText() {
        StringBuilder sb = new StringBuilder();
        rules.forEach((k, v) -> sb.append(k).append(" ::= ").append(v).append('\n'));
        return sb + BASE_RULES;
    }

    private String newRule(String hint, String body) {
        String name = hint.replaceAll("[^A-Za-z0-9-]", "-") + "-" + (counter++);
        rules.put(name, body);
        return name;
    }

    /** A GBNF string literal for the given text. */
    static String literal(String text) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\x%02X", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String jsonLiteral(Object value) {
        return literal(PythonJson.dumpsCompact(value));
    }

    @SuppressWarnings("unchecked")
    private String visit(Object schemaObject, String hint) {
        if (Boolean.TRUE.equals(schemaObject)) {
            return "value";
        }
        if (!(schemaObject instanceof Map<?, ?> raw)) {
            throw new IllegalArgumentException("a JSON schema must be an object or true, not " + schemaObject);
        }
        Map<String, Object> s = (Map<String, Object>) raw;
        for (String k : s.keySet()) {
            if (!ANNOTATIONS.contains(k)) {
                throw new IllegalArgumentException("JSON schema keyword '" + k + "' is not supported by constrained"
                        + " decoding; supported: type, properties, required, items, minItems, maxItems, minLength,"
                        + " maxLength, enum, const, anyOf, oneOf, $ref (with annotations such as description)");
            }
        }
        if (s.containsKey("$ref")) {
            return ref(String.valueOf(s.get("$ref")));
        }
        if (s.containsKey("const")) {
            return jsonLiteral(s.get("const"));
        }
        if (s.containsKey("enum")) {
            if (!(s.get("enum") instanceof List<?> values) || values.isEmpty()) {
                throw new IllegalArgumentException("'enum' must be a non-empty list");
            }
            List<String> alts = new ArrayList<>();
            for (Object v : values) {
                alts.add(jsonLiteral(v));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        for (String key : List.of("anyOf", "oneOf")) {
            if (s.containsKey(key)) {
                if (!(s.get(key) instanceof List<?> options) || options.isEmpty()) {
                    throw new IllegalArgumentException("'" + key + "' must be a non-empty list");
                }
                List<String> alts = new ArrayList<>();
                int i = 0;
                for (Object o : options) {
                    alts.add(visit(o, hint + "-" + i++));
                }
                return "(" + String.join(" | ", alts) + ")";
            }
        }
        Object type = s.get("type");
        if (type == null) {
            if (s.containsKey("properties")) {
                type = "object";
            } else if (s.containsKey("items")) {
                type = "array";
            } else {
                return "value";
            }
        }
        if (type instanceof List<?> types) {
            List<String> alts = new ArrayList<>();
            for (Object t : types) {
                Map<String, Object> one = new LinkedHashMap<>(s);
                one.put("type", t);
                alts.add(visit(one, hint + "-" + t));
            }
            return "(" + String.join(" | ", alts) + ")";
        }
        return switch (String.valueOf(type)) {
            case "object" -> object(s, hint);
            case "array" -> array(s, hint);
            case "string" -> string(s, hint);
            case "number" -> "number";
            case "integer" -> "integer";
            case "boolean" -> "boolean";
            case "null" -> "null";
            default -> throw new IllegalArgumentException("unknown JSON schema type '" + type + "'");
        };
    }

    @SuppressWarnings("unchecked")
    private String ref(String ref) {
        String name;
        if (ref.startsWith("#/$defs/")) {
            name = ref.substring(8);
        } else if (ref.startsWith("#/definitions/")) {
            name = ref.substring(14);
        } else {
            throw new IllegalArgumentException("only local $refs (#/$defs/... or #/definitions/...) are supported: "
                    + ref);
        }
        String existing = refRules.get(ref);
        if (existing != null) {
            return existing;
        }
        Object defs = root.get(ref.startsWith("#/$defs/") ? "$defs" : "definitions");
        if (!(defs instanceof Map<?, ?> d) || !d.containsKey(name)) {
            throw new IllegalArgumentException("$ref " + ref + " points to nothing in the schema");
        }
        String rule = "ref-" + name.replaceAll("[^A-Za-z0-9-]", "-") + "-" + (counter++);
        refRules.put(ref, rule);
        rules.put(rule, "null");
        rules.put(rule, visit(((Map<String, Object>) d).get(name), rule));
        return rule;
    }

    @SuppressWarnings("unchecked")
    private String object(Map<String, Object> s, String hint) {
        Object props = s.get("properties");
        if (props == null) {
            return "object";
        }
        if (!(props instanceof Map<?, ?> p)) {
            throw new IllegalArgumentException("'properties' must be an object");
        }
        List<String> required = new ArrayList<>();
        if (s.get("required") instanceof List<?> r) {
            for (Object o : r) {
                if (!p.containsKey(o)) {
                    throw new IllegalArgumentException("required property '" + o + "' is not in 'properties'");
                }
                required.add(String.valueOf(o));
            }
        }
        List<String> req = new ArrayList<>();
        List<String> opt = new ArrayList<>();
        for (Map.Entry<?, ?> e : p.entrySet()) {
            String key = String.valueOf(e.getKey());
            String kv = literal("\"" + jsonKey(key) + "\"") + " \":\" ws "
                    + visit(e.getValue(), hint + "-" + key);
            (required.contains(key) ? req : opt).add(kv);
        }
        StringBuilder body = new StringBuilder("\"{\" ws ");
        if (!req.isEmpty()) {
            body.append(String.join(" \",\" ws ", req));
            for (String kv : opt) {
                body.append(" (\",\" ws ").append(kv).append(")?");
            }
        } else if (!opt.isEmpty()) {
            // Any subset of the optional properties, in order: o_i ::= kv_i ("," o_{i+1})? | o_{i+1}.
            String next = null;
            for (int i = opt.size() - 1; i >= 0; i--) {
                String r = next == null ? opt.get(i)
                        : opt.get(i) + " (\",\" ws " + next + ")? | " + next;
                next = newRule(hint + "-opt", r);
            }
            body.append(next).append("?");
        }
        body.append(" ws \"}\"");
        return newRule(hint, body.toString());
    }

    private static String jsonKey(String key) {
        String quoted = PythonJson.dumps(key);
        return quoted.substring(1, quoted.length() - 1);
    }

    private String array(Map<String, Object> s, String hint) {
        String item = s.containsKey("items") ? visit(s.get("items"), hint + "-item") : "value";
        int min = count(s, "minItems", 0);
        int max = count(s, "maxItems", -1);
        if (max >= 0 && max < min) {
            throw new IllegalArgumentException("maxItems < minItems");
        }
        return newRule(hint, "\"[\" ws " + repeat(item, "\",\" ws", min, max, hint) + " ws \"]\"");
    }

    private String string(Map<String, Object> s, String hint) {
        int min = count(s, "minLength", 0);
        int max = count(s, "maxLength", -1);
        if (min == 0 && max < 0) {
            return "string";
        }
        if (max >= 0 && max < min) {
            throw new IllegalArgumentException("maxLength < minLength");
        }
        return newRule(hint, "\"\\\"\" " + repeat("char", null, min, max, hint) + " \"\\\"\"");
    }

    /** {@code item} repeated min..max times (max -1: unbounded), separated by {@code sep} when given. */
    private String repeat(String item, String sep, int min, int max, String hint) {
        if (max > 1000 || min > 1000) {
            throw new IllegalArgumentException("repetition bounds above 1000 are not supported");
        }
        String sepItem = sep == null ? item : "(" + sep + " " + item + ")";
        StringBuilder sb = new StringBuilder();
        if (min > 0) {
            sb.append(item);
            for (int i = 1; i < min; i++) {
                sb.append(' ').append(sepItem);
            }
            if (max < 0) {
                sb.append(' ').append(sepItem).append('*');
            } else {
                sb.append(optionalChain(sepItem, max - min, hint));
            }
            return "(" + sb.toString().strip() + ")";
        }
        if (max == 0) {
            return "\"\"";
        }
        String rest = max < 0 ? " " + sepItem + "*" : optionalChain(sepItem, max - 1, hint);
        return "(" + item + rest + ")?";
    }

    /** Up to n more of {@code x}: {@code (x (x (...)?)?)?}, as a rule so the text stays small. */
    private String optionalChain(String x, int n, String hint) {
        if (n <= 0) {
            return "";
        }
        String rule = null;
        for (int i = 0; i < n; i++) {
            rule = newRule(hint + "-upto", rule == null ? x : x + " " + rule + "?");
        }
        return " " + rule + "?";
    }

    private static int count(Map<String, Object> s, String key, int dflt) {
        Object v = s.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Long l) || l < 0) {
            throw new IllegalArgumentException("'" + key + "' must be a non-negative integer: " + v);
        }
        return (int) Math.min(l, Integer.MAX_VALUE);
    }
}
