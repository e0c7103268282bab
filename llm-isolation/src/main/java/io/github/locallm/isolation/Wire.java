package io.github.locallm.isolation;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationCancelledException;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ThinkLevel;
import io.github.locallm.Timings;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolChoice;
import io.github.locallm.ToolSpec;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The binary protocol between a caller and its engine process: frames of {@code type, call id, payload}
 * over one loopback socket. Strings are length-prefixed UTF-8; every length read is bounded so a broken
 * peer cannot make the reader allocate without limit.
 */
final class Wire {
    // caller to engine
    static final byte HELLO = 1;
    static final byte OPEN = 2;
    static final byte GENERATE = 3;
    static final byte CANCEL = 4;
    static final byte TOKENIZE = 5;
    static final byte DETOKENIZE = 6;
    static final byte COUNT = 7;
    static final byte EMBED = 8;
    static final byte CLOSE = 9;
    // engine to caller
    static final byte OPENED = 20;
    static final byte TOKEN = 21;
    static final byte THINKING = 22;
    static final byte LOGPROBS = 23;
    static final byte RESULT = 24;
    static final byte VALUE = 25;
    static final byte ERROR = 26;

    /** Longest string or list accepted from the peer. */
    static final int MAX_LENGTH = 256 * 1024 * 1024;

    private Wire() {
    }

    static void string(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static String string(DataInputStream in) throws IOException {
        int n = length(in);
        byte[] b = new byte[n];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static int length(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_LENGTH) {
            throw new IOException("engine protocol: bad length " + n);
        }
        return n;
    }

    static void nullableString(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            string(out, s);
        }
    }

    static String nullableString(DataInputStream in) throws IOException {
        return in.readBoolean() ? string(in) : null;
    }

    static void strings(DataOutputStream out, List<String> list) throws IOException {
        out.writeInt(list.size());
        for (String s : list) {
            string(out, s);
        }
    }

    static List<String> strings(DataInputStream in) throws IOException {
        int n = length(in);
        List<String> out = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            out.add(string(in));
        }
        return out;
    }

    static void map(DataOutputStream out, Map<String, String> map) throws IOException {
        out.writeInt(map.size());
        for (Map.Entry<String, String> e : map.entrySet()) {
            string(out, e.getKey());
            string(out, e.getValue());
        }
    }

    static Map<String, String> map(DataInputStream in) throws IOException {
        int n = length(in);
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(string(in), string(in));
        }
        return m;
    }

    static void ints(DataOutputStream out, int[] a) throws IOException {
        out.writeInt(a.length);
        for (int v : a) {
            out.writeInt(v);
        }
    }

    static int[] ints(DataInputStream in) throws IOException {
        int[] a = new int[length(in)];
        for (int i = 0; i < a.length; i++) {
            a[i] = in.readInt();
        }
        return a;
    }

    static void vectors(DataOutputStream out, List<float[]> vs) throws IOException {
        out.writeInt(vs.size());
        for (float[] v : vs) {
            out.writeInt(v.length);
            for (float f : v) {
                out.writeFloat(f);
            }
        }
    }

    static List<float[]> vectors(DataInputStream in) throws IOException {
        int n = length(in);
        List<float[]> out = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            float[] v = new float[length(in)];
            for (int j = 0; j < v.length; j++) {
                v[j] = in.readFloat();
            }
            out.add(v);
        }
        return out;
    }

    // ---- model values ----

    static void info(DataOutputStream out, ModelInfo info) throws IOException {
        string(out, info.backend());
        string(out, info.model());
        out.writeInt(info.contextLength());
        List<String> caps = new ArrayList<>();
        for (Capability c : info.capabilities()) {
            caps.add(c.name());
        }
        strings(out, caps);
        map(out, info.details());
    }

    static ModelInfo info(DataInputStream in) throws IOException {
        String backend = string(in);
        String model = string(in);
        int ctx = in.readInt();
        Set<Capability> caps = EnumSet.noneOf(Capability.class);
        for (String c : strings(in)) {
            try {
                caps.add(Capability.valueOf(c));
            } catch (IllegalArgumentException e) {
                // a capability this side does not know cannot be used from here
            }
        }
        return new ModelInfo(backend, model, ctx, caps, map(in));
    }

    static void messages(DataOutputStream out, List<ChatMessage> messages) throws IOException {
        out.writeInt(messages.size());
        for (ChatMessage m : messages) {
            out.writeByte(m.role().ordinal());
            string(out, m.content());
            toolCalls(out, m.toolCalls());
            strings(out, m.images());
            string(out, m.name());
            string(out, m.toolCallId());
        }
    }

    static List<ChatMessage> messages(DataInputStream in) throws IOException {
        int n = length(in);
        List<ChatMessage> out = new ArrayList<>(Math.min(n, 1024));
        ChatMessage.Role[] roles = ChatMessage.Role.values();
        for (int i = 0; i < n; i++) {
            int r = in.readUnsignedByte();
            if (r >= roles.length) {
                throw new IOException("engine protocol: bad role " + r);
            }
            out.add(new ChatMessage(roles[r], string(in), toolCalls(in), strings(in), string(in), string(in)));
        }
        return out;
    }

    static void toolCalls(DataOutputStream out, List<ToolCall> calls) throws IOException {
        out.writeInt(calls.size());
        for (ToolCall c : calls) {
            string(out, c.id());
            string(out, c.name());
            string(out, c.argumentsJson());
        }
    }

    static List<ToolCall> toolCalls(DataInputStream in) throws IOException {
        int n = length(in);
        List<ToolCall> out = new ArrayList<>(Math.min(n, 64));
        for (int i = 0; i < n; i++) {
            out.add(new ToolCall(string(in), string(in), string(in)));
        }
        return out;
    }

    static void request(DataOutputStream out, GenerationRequest r) throws IOException {
        out.writeBoolean(r.isChat());
        if (r.isChat()) {
            messages(out, r.messages());
        } else {
            string(out, r.prompt());
        }
        options(out, r.options());
    }

    static GenerationRequest request(DataInputStream in) throws IOException {
        boolean chat = in.readBoolean();
        if (chat) {
            List<ChatMessage> m = messages(in);
            return GenerationRequest.chat(m, options(in));
        }
        String prompt = string(in);
        return GenerationRequest.completion(prompt, options(in));
    }

    /** Every field of the options; a field added to {@link GenerationOptions} must be added here too. */
    static void options(DataOutputStream out, GenerationOptions o) throws IOException {
        optInt(out, o.maxTokens().isPresent(), o.maxTokens().orElse(0));
        optDouble(out, o.temperature().isPresent(), o.temperature().orElse(0));
        optDouble(out, o.topP().isPresent(), o.topP().orElse(0));
        optInt(out, o.topK().isPresent(), o.topK().orElse(0));
        optDouble(out, o.minP().isPresent(), o.minP().orElse(0));
        optDouble(out, o.repeatPenalty().isPresent(), o.repeatPenalty().orElse(0));
        out.writeBoolean(o.seed().isPresent());
        out.writeLong(o.seed().orElse(0));
        strings(out, o.stop());
        ResponseFormat f = o.responseFormat().orElse(null);
        out.writeByte(f == null ? -1 : f.kind().ordinal());
        if (f != null) {
            nullableString(out, f.schema().orElse(null));
        }
        out.writeByte(o.think().map(b -> b ? 1 : 0).orElse(-1));
        out.writeByte(o.thinkLevel().map(Enum::ordinal).orElse(-1));
        out.writeByte(o.logprobs().map(b -> b ? 1 : 0).orElse(-1));
        optInt(out, o.topLogprobs().isPresent(), o.topLogprobs().orElse(0));
        out.writeInt(o.tools().size());
        for (ToolSpec t : o.tools()) {
            string(out, t.name());
            string(out, t.description());
            string(out, t.parametersSchema());
        }
        ToolChoice choice = o.toolChoice().orElse(null);
        out.writeByte(choice == null ? -1 : choice.mode().ordinal());
        if (choice != null) {
            nullableString(out, choice.function().orElse(null));
        }
        nullableString(out, o.suffix().orElse(null));
        map(out, o.backendOptions());
    }

    static GenerationOptions options(DataInputStream in) throws IOException {
        GenerationOptions.Builder b = GenerationOptions.builder();
        if (in.readBoolean()) {
            b.maxTokens(in.readInt());
        } else {
            in.readInt();
        }
        Double t = optDouble(in);
        if (t != null) {
            b.temperature(t);
        }
        Double topP = optDouble(in);
        if (topP != null) {
            b.topP(topP);
        }
        if (in.readBoolean()) {
            b.topK(in.readInt());
        } else {
            in.readInt();
        }
        Double minP = optDouble(in);
        if (minP != null) {
            b.minP(minP);
        }
        Double rp = optDouble(in);
        if (rp != null) {
            b.repeatPenalty(rp);
        }
        boolean hasSeed = in.readBoolean();
        long seed = in.readLong();
        if (hasSeed) {
            b.seed(seed);
        }
        List<String> stop = strings(in);
        if (!stop.isEmpty()) {
            b.stop(stop);
        }
        int kind = in.readByte();
        if (kind >= 0) {
            String schema = nullableString(in);
            ResponseFormat.Kind k = ResponseFormat.Kind.values()[kind];
            b.responseFormat(k == ResponseFormat.Kind.JSON_SCHEMA ? ResponseFormat.jsonSchema(schema)
                    : k == ResponseFormat.Kind.JSON ? ResponseFormat.JSON : ResponseFormat.TEXT);
        }
        int think = in.readByte();
        int level = in.readByte();
        if (level >= 0) {
            b.think(ThinkLevel.values()[level]);
        } else if (think >= 0) {
            b.think(think == 1);
        }
        int logprobs = in.readByte();
        if (logprobs >= 0) {
            b.logprobs(logprobs == 1);
        }
        if (in.readBoolean()) {
            b.topLogprobs(in.readInt());
        } else {
            in.readInt();
        }
        int tools = length(in);
        for (int i = 0; i < tools; i++) {
            b.tool(new ToolSpec(string(in), string(in), string(in)));
        }
        int mode = in.readByte();
        if (mode >= ToolChoice.Mode.values().length) {
            throw new IOException("engine protocol: bad tool choice " + mode);
        }
        if (mode >= 0) {
            String function = nullableString(in);
            ToolChoice.Mode m = ToolChoice.Mode.values()[mode];
            b.toolChoice(function != null ? ToolChoice.function(function)
                    : m == ToolChoice.Mode.AUTO ? ToolChoice.AUTO : m == ToolChoice.Mode.NONE ? ToolChoice.NONE
                    : ToolChoice.REQUIRED);
        }
        String suffix = nullableString(in);
        if (suffix != null) {
            b.suffix(suffix);
        }
        for (Map.Entry<String, String> e : map(in).entrySet()) {
            int dot = e.getKey().indexOf('.');
            b.backendOption(e.getKey().substring(0, dot), e.getKey().substring(dot + 1), e.getValue());
        }
        return b.build();
    }

    private static void optInt(DataOutputStream out, boolean present, int v) throws IOException {
        out.writeBoolean(present);
        out.writeInt(v);
    }

    private static void optDouble(DataOutputStream out, boolean present, double v) throws IOException {
        out.writeBoolean(present);
        out.writeDouble(v);
    }

    private static Double optDouble(DataInputStream in) throws IOException {
        boolean present = in.readBoolean();
        double v = in.readDouble();
        return present ? v : null;
    }

    static void result(DataOutputStream out, BackendResult r) throws IOException {
        out.writeByte(r.finishReason().ordinal());
        out.writeInt(r.promptTokens());
        out.writeInt(r.completionTokens());
        toolCalls(out, r.toolCalls());
        Timings t = r.timings();
        out.writeBoolean(t != null);
        if (t != null) {
            out.writeLong(t.timeToFirstToken().toNanos());
            out.writeLong(t.total().toNanos());
            out.writeDouble(t.tokensPerSecond());
        }
        string(out, r.rawFinishReason());
    }

    static BackendResult result(DataInputStream in) throws IOException {
        int reason = in.readUnsignedByte();
        FinishReason[] reasons = FinishReason.values();
        if (reason >= reasons.length) {
            throw new IOException("engine protocol: bad finish reason " + reason);
        }
        int prompt = in.readInt();
        int completion = in.readInt();
        List<ToolCall> calls = toolCalls(in);
        Timings t = null;
        if (in.readBoolean()) {
            t = new Timings(Duration.ofNanos(in.readLong()), Duration.ofNanos(in.readLong()), in.readDouble());
        }
        return new BackendResult(reasons[reason], prompt, completion, calls, t, string(in));
    }

    static void logprobs(DataOutputStream out, List<TokenLogprob> entries) throws IOException {
        out.writeInt(entries.size());
        for (TokenLogprob e : entries) {
            string(out, e.token());
            out.writeDouble(e.logprob());
            out.writeInt(e.bytes().size());
            for (int b : e.bytes()) {
                out.writeByte(b);
            }
            logprobs(out, e.topLogprobs());
        }
    }

    static List<TokenLogprob> logprobs(DataInputStream in) throws IOException {
        int n = length(in);
        List<TokenLogprob> out = new ArrayList<>(Math.min(n, 64));
        for (int i = 0; i < n; i++) {
            String token = string(in);
            double lp = in.readDouble();
            int nb = length(in);
            List<Integer> bytes = new ArrayList<>(Math.min(nb, 64));
            for (int j = 0; j < nb; j++) {
                bytes.add(in.readUnsignedByte());
            }
            out.add(new TokenLogprob(token, lp, bytes, logprobs(in)));
        }
        return out;
    }

    // ---- errors ----

    static void error(DataOutputStream out, Throwable t) throws IOException {
        string(out, t.getClass().getName());
        string(out, String.valueOf(t.getMessage()));
    }

    /** Rebuilds the engine process's exception as the same type where it is one of the API's. */
    static RuntimeException error(DataInputStream in) throws IOException {
        String type = string(in);
        String message = string(in);
        switch (type) {
            case "java.lang.IllegalArgumentException":
                return new IllegalArgumentException(message);
            case "java.lang.IllegalStateException":
                return new IllegalStateException(message);
            case "java.lang.NullPointerException":
                return new NullPointerException(message);
            case "io.github.locallm.UnsupportedCapabilityException":
                return new UnsupportedCapabilityException(message);
            case "io.github.locallm.ContextOverflowException":
                return new ContextOverflowException(message);
            case "io.github.locallm.ModelNotFoundException":
                return new ModelNotFoundException(message);
            case "io.github.locallm.ModelLoadException":
                return new ModelLoadException(message);
            case "io.github.locallm.BackendUnavailableException":
                return new BackendUnavailableException(message);
            case "io.github.locallm.GenerationCancelledException":
                return new GenerationCancelledException(message);
            default:
                return new LlmException(message + " (" + type + " in the engine process)");
        }
    }
}
