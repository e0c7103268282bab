package io.github.locallm.format;

import io.github.locallm.format.OutputParser.BodyParser;
import io.github.locallm.format.OutputParser.Call;
import io.github.locallm.format.OutputParser.Kind;
import io.github.locallm.format.OutputParser.Region;
import io.github.locallm.format.OutputParser.Syntax;
import io.github.locallm.template.PythonJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The output syntax of each family: which regions its generated text has and how tool calls are read. */
final class Formats {
    private Formats() {
    }

    static String compactJson(Object value) {
        return PythonJson.dumpsCompact(value);
    }

    static Region thinking(String open, String close) {
        return new Region(open, List.of(close), Kind.THINKING, null, null, null);
    }

    static Region tool(String open, List<String> closes, BodyParser body) {
        return new Region(open, closes, Kind.TOOL, body, null, null);
    }

    static Region marker(String open) {
        return new Region(open, List.of(), Kind.MARKER, null, null, null);
    }

    // ---- body parsers ----

    /** Arguments as an object: an object stays, a string holding an object is parsed. */
    static Object arguments(Object a) {
        if (a == null) {
            return Map.of();
        }
        if (a instanceof String s) {
            Object parsed = PythonJson.loads(s.isBlank() ? "{}" : s);
            if (!(parsed instanceof Map)) {
                throw new IllegalArgumentException("arguments are not a JSON object");
            }
            return parsed;
        }
        if (!(a instanceof Map)) {
            throw new IllegalArgumentException("arguments are not a JSON object");
        }
        return a;
    }

    /** One call written as {@code {"name": ..., "arguments"|"parameters": {...}}} (an {@code "id"} is kept). */
    static Call objectCall(Object o) {
        if (!(o instanceof Map<?, ?> m) || !(m.get("name") instanceof String name) || name.isBlank()) {
            throw new IllegalArgumentException("not a tool call object");
        }
        Object args = m.containsKey("arguments") ? m.get("arguments") : m.get("parameters");
        Object id = m.get("id");
        return new Call(id instanceof String s ? s : "", name, arguments(args));
    }

    /** A JSON object or an array of objects, each one call. */
    static List<Call> jsonCalls(String body) {
        Object o = PythonJson.loads(body.strip());
        List<Call> out = new ArrayList<>();
        if (o instanceof List<?> l) {
            for (Object item : l) {
                out.add(objectCall(item));
            }
        } else {
            out.add(objectCall(o));
        }
        return out;
    }

    /** Llama 3.x: one object, or several separated by semicolons. */
    static List<Call> llamaCalls(String body) {
        String b = body.strip();
        try {
            return jsonCalls(b);
        } catch (RuntimeException e) {
            List<Call> out = new ArrayList<>();
            for (String part : b.split(";")) {
                if (!part.isBlank()) {
                    out.addAll(jsonCalls(part));
                }
            }
            return out;
        }
    }

    /** The generic format: {"tool_call": {...}}, {"tool_calls": [...]}, or plain call objects. */
    static List<Call> genericCalls(String body) {
        Object o = PythonJson.loads(body.strip());
        if (o instanceof Map<?, ?> m && m.containsKey("tool_call")) {
            return List.of(objectCall(m.get("tool_call")));
        }
        if (o instanceof Map<?, ?> m && m.get("tool_calls") instanceof List<?> l) {
            List<Call> out = new ArrayList<>();
            for (Object item : l) {
                out.add(objectCall(item));
            }
            return out;
        }
        return jsonCalls(body);
    }

    /** Mistral: a JSON array of call objects, or {@code name[CALL_ID]id[ARGS]{...}} repeated. */
    static List<Call> mistralCalls(String body) {
        String b = body.strip();
        if (b.startsWith("[") || b.startsWith("{")) {
            return jsonCalls(b);
        }
        List<Call> out = new ArrayList<>();
        for (String part : b.split(Pattern.quote("[TOOL_CALLS]"))) {
            if (part.isBlank()) {
                continue;
            }
            int args = part.indexOf("[ARGS]");
            if (args < 0) {
                throw new IllegalArgumentException("no [ARGS] in a Mistral tool call");
            }
            String head = part.substring(0, args);
            String id = "";
            int callId = head.indexOf("[CALL_ID]");
            if (callId >= 0) {
                id = head.substring(callId + "[CALL_ID]".length()).strip();
                head = head.substring(0, callId);
            }
            out.add(new Call(id, head.strip(), arguments(PythonJson.loads(part.substring(args + 6).strip()))));
        }
        return out;
    }

    private static final Pattern DEEPSEEK_CALL = Pattern.compile(
            "<｜tool▁call▁begin｜>(.*?)<｜tool▁call▁end｜>", Pattern.DOTALL);

    /** DeepSeek R1 / V3: {@code <｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>}. */
    static List<Call> deepseekCalls(String body) {
        List<Call> out = new ArrayList<>();
        Matcher m = DEEPSEEK_CALL.matcher(body.endsWith("<｜tool▁call▁end｜>") ? body : body + "<｜tool▁call▁end｜>");
        while (m.find()) {
            String call = m.group(1);
            int sep = call.indexOf("<｜tool▁sep｜>");
            if (sep < 0) {
                throw new IllegalArgumentException("no tool separator in a DeepSeek tool call");
            }
            String rest = call.substring(sep + "<｜tool▁sep｜>".length());
            String name;
            String json;
            if (call.substring(0, sep).strip().equals("function")) {
                int nl = rest.indexOf('\n');
                name = (nl < 0 ? rest : rest.substring(0, nl)).strip();
                json = nl < 0 ? "{}" : rest.substring(nl + 1).strip();
                if (json.startsWith("```json")) {
                    json = json.substring(7);
                } else if (json.startsWith("```")) {
                    json = json.substring(3);
                }
                if (json.endsWith("```")) {
                    json = json.substring(0, json.length() - 3);
                }
            } else {
                name = call.substring(0, sep).strip();
                json = rest;
            }
            out.add(new Call("", name, arguments(PythonJson.loads(json.strip()))));
        }
        return out;
    }

    /** functionary v3.1: the body of {@code <function=name>{...}</function>} is {@code name>{...}}. */
    static List<Call> functionaryV31Calls(String body) {
        int gt = body.indexOf('>');
        if (gt <= 0) {
            throw new IllegalArgumentException("no function name");
        }
        return List.of(new Call("", body.substring(0, gt).strip(), arguments(PythonJson.loads(body.substring(gt + 1)
                .strip()))));
    }

    /** Command R7B: {@code [{"tool_call_id": "0", "tool_name": ..., "parameters": {...}}]}. */
    static List<Call> commandRCalls(String body) {
        Object o = PythonJson.loads(body.strip());
        List<Call> out = new ArrayList<>();
        for (Object item : o instanceof List<?> l ? l : List.of(o)) {
            if (!(item instanceof Map<?, ?> m) || !(m.get("tool_name") instanceof String name)) {
                throw new IllegalArgumentException("not a Command R tool call");
            }
            out.add(new Call("", name, arguments(m.get("parameters"))));
        }
        return out;
    }

    private static final Pattern HARMONY_RECIPIENT = Pattern.compile("to=functions\\.([^\\s<]+)");

    // ---- syntaxes ----

    static final List<String> HARMONY_ENDS = List.of("<|end|>", "<|return|>", "<|call|>", "<|start|>");

    static Region harmonyHeader(String open) {
        return new Region(open, List.of("<|message|>"), Kind.HEADER, null, header -> {
            Matcher m = HARMONY_RECIPIENT.matcher(header);
            if (m.find()) {
                String name = m.group(1);
                return tool("<|message|>", HARMONY_ENDS, (h, body) -> List.of(new Call("", name,
                        arguments(PythonJson.loads(body.strip())))));
            }
            if (header.contains("analysis")) {
                return new Region("", HARMONY_ENDS, Kind.THINKING, null, null, null);
            }
            return new Region("", HARMONY_ENDS, Kind.TEXT, null, null, null);
        }, null);
    }

    static Region functionaryRecipient() {
        return new Region(">>>", List.of("\n"), Kind.HEADER, null, header -> header.equals("all") ? null
                : tool("", List.of(">>>"), (h, body) -> List.of(new Call("", h,
                arguments(PythonJson.loads(body.strip()))))), null);
    }

    /** The markup strings of a family: region openers and closers, and the separators inside call bodies. */
    static List<String> markup(String family) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        Syntax syntax = syntax(family);
        List<Region> regions = new ArrayList<>(syntax.regions());
        if (syntax.leadingJson() != null) {
            regions.add(syntax.leadingJson());
        }
        for (Region r : regions) {
            out.add(r.open());
            out.addAll(r.closes());
        }
        switch (family) {
            case ChatFormat.DEEPSEEK_R1 -> out.addAll(List.of("<｜tool▁call▁begin｜>", "<｜tool▁sep｜>",
                    "<｜tool▁call▁end｜>"));
            case ChatFormat.MISTRAL -> out.addAll(List.of("[ARGS]", "[CALL_ID]"));
            case ChatFormat.GPT_OSS -> {
                out.addAll(HARMONY_ENDS);
                out.add("<|constrain|>");
            }
            default -> {
            }
        }
        out.removeIf(String::isBlank);
        return List.copyOf(out);
    }

    static Syntax syntax(String family) {
        Region think = thinking("<think>", "</think>");
        Region hermesCall = tool("<tool_call>", List.of("</tool_call>"), (h, b) -> jsonCalls(b));
        return switch (family) {
            case ChatFormat.HERMES, ChatFormat.QWEN3 -> new Syntax(List.of(hermesCall, think), null);
            case ChatFormat.LLAMA3 -> new Syntax(List.of(tool("<|python_tag|>", List.of("<|eom_id|>", "<|eot_id|>"),
                    (h, b) -> llamaCalls(b))), tool("", List.of(), (h, b) -> llamaCalls(b)));
            case ChatFormat.MISTRAL -> new Syntax(List.of(tool("[TOOL_CALLS]", List.of("</s>"),
                    (h, b) -> mistralCalls(b)), thinking("[THINK]", "[/THINK]")), null);
            case ChatFormat.DEEPSEEK_R1 -> new Syntax(List.of(tool("<｜tool▁calls▁begin｜>",
                    List.of("<｜tool▁calls▁end｜>"), (h, b) -> deepseekCalls(b)), think), null);
            case ChatFormat.FUNCTIONARY_V3_1 -> new Syntax(List.of(tool("<function=", List.of("</function>"),
                    (h, b) -> functionaryV31Calls(b)), tool("<|python_tag|>", List.of("<|eom_id|>", "<|eot_id|>"),
                    (h, b) -> List.of(new Call("", "python", Map.of("code", b.strip()))))), null);
            case ChatFormat.FUNCTIONARY_V3_2 -> new Syntax(List.of(functionaryRecipient()), null);
            case ChatFormat.COMMAND_R7B -> new Syntax(List.of(thinking("<|START_THINKING|>", "<|END_THINKING|>"),
                    tool("<|START_ACTION|>", List.of("<|END_ACTION|>"), (h, b) -> commandRCalls(b)),
                    marker("<|START_RESPONSE|>"), marker("<|END_RESPONSE|>")), null);
            case ChatFormat.GPT_OSS -> new Syntax(List.of(harmonyHeader("<|start|>"), harmonyHeader("<|channel|>")),
                    null);
            default -> new Syntax(List.of(hermesCall, think), tool("", List.of(), (h, b) -> genericCalls(b)));
        };
    }
}
