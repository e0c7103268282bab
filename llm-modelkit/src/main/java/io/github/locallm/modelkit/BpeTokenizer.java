package io.github.locallm.modelkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte-level BPE tokenizer in the GPT-2 style: 256 byte tokens, ordered merges, then the special tokens
 * {@code <|endoftext|>}, {@code <|im_start|>} and {@code <|im_end|>}.
 *
 * <p>Token texts use GPT-2's byte-to-unicode mapping, so the vocabulary and merges can be written as they
 * are to a GGUF file ({@code tokenizer.ggml.model = gpt2}, {@code tokenizer.ggml.pre = gpt-2}) and to a
 * Hugging Face {@code tokenizer.json} (ByteLevel pre-tokenizer with the GPT-2 regex); llama.cpp, Hugging
 * Face tokenizers and this class then split text identically. Token {@code i < 256} is the byte {@code i}.
 * Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * BpeTokenizer tok = BpeTokenizer.train("some text to learn merges from", 50);
 * int[] ids = tok.encode("some text");
 * String back = tok.decode(ids);
 * }</pre>
 */
public final class BpeTokenizer {

    /** End of text; also the beginning-of-sequence token of the tiny models. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** Opens a ChatML turn. */
    public static final String IM_START = "<|im_start|>";
    /** Closes a ChatML turn; the end-of-sequence token of the tiny models. */
    public static final String IM_END = "<|im_end|>";

    /** The GPT-2 pre-tokenization regex (what llama.cpp's {@code gpt-2} pre-tokenizer implements). */
    public static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final Pattern PRE_TOKENIZER = Pattern.compile(GPT2_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE.put(c, b);
        }
    }

    private final List<String> tokens;
    private final List<String[]> merges;
    private final Map<String, Integer> ids;
    private final Map<String, Integer> mergeRanks;
    private final List<String> specials;

    private BpeTokenizer(List<String> tokens, List<String[]> merges) {
        this.tokens = List.copyOf(tokens);
        List<String[]> m = new ArrayList<>();
        for (String[] pair : merges) {
            m.add(new String[] {pair[0], pair[1]});
        }
        this.merges = Collections.unmodifiableList(m);
        Map<String, Integer> idMap = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            if (idMap.putIfAbsent(tokens.get(i), i) != null) {
                throw new IllegalArgumentException("duplicate token text: " + tokens.get(i));
            }
        }
        this.ids = idMap;
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < m.size(); i++) {
            ranks.putIfAbsent(m.get(i)[0] + " " + m.get(i)[1], i);
        }
        this.mergeRanks = ranks;
        this.specials = List.of(END_OF_TEXT, IM_START, IM_END);
        for (int b = 0; b < 256; b++) {
            if (!tokens.get(b).equals(String.valueOf(BYTE_TO_CHAR[b]))) {
                throw new IllegalArgumentException("token " + b + " must be the byte token for " + b);
            }
        }
        for (String s : specials) {
            if (!idMap.containsKey(s)) {
                throw new IllegalArgumentException("missing special token " + s);
            }
        }
    }

    /**
     * Builds a tokenizer from a vocabulary and merges, for example read back from a file.
     *
     * @param tokens all token texts in id order: 256 byte tokens first, the three special tokens included
     * @param merges merge pairs in rank order
     * @return the tokenizer
     */
    public static BpeTokenizer of(List<String> tokens, List<String[]> merges) {
        return new BpeTokenizer(tokens, merges);
    }

    /**
     * Learns {@code numMerges} merges from a corpus, deterministically (ties go to the smallest pair in
     * string order).
     *
     * @param corpus    training text
     * @param numMerges how many merges to learn at most (fewer if the corpus runs out of pairs)
     * @return a tokenizer with {@code 256 + new tokens + 3} entries
     */
    public static BpeTokenizer train(String corpus, int numMerges) {
        Objects.requireNonNull(corpus, "corpus");
        if (numMerges < 0) {
            throw new IllegalArgumentException("numMerges must be >= 0: " + numMerges);
        }
        Map<String, Integer> wordCounts = new TreeMap<>();
        for (String piece : preTokenize(corpus)) {
            wordCounts.merge(toByteChars(piece), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            List<String> symbols = new ArrayList<>();
            for (char c : e.getKey().toCharArray()) {
                symbols.add(String.valueOf(c));
            }
            words.add(symbols);
            counts.add(e.getValue());
        }
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(BYTE_TO_CHAR[b]));
        }
        java.util.Set<String> known = new java.util.HashSet<>(tokens);
        List<String[]> merges = new ArrayList<>();
        for (int step = 0; step < numMerges; step++) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(s.get(i) + " " + s.get(i + 1), counts.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestCount = c;
                }
            }
            if (best == null || bestCount < 2) {
                break;
            }
            int sp = best.indexOf(' ');
            String left = best.substring(0, sp);
            String right = best.substring(sp + 1);
            String joined = left + right;
            merges.add(new String[] {left, right});
            if (known.add(joined)) {
                tokens.add(joined);
            }
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, joined);
                        s.remove(i + 1);
                    }
                }
            }
        }
        tokens.add(END_OF_TEXT);
        tokens.add(IM_START);
        tokens.add(IM_END);
        return new BpeTokenizer(tokens, merges);
    }

    /** Splits text the way the GPT-2 pre-tokenizer does. */
    static List<String> preTokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = PRE_TOKENIZER.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    private static String toByteChars(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            sb.append(BYTE_TO_CHAR[b & 0xFF]);
        }
        return sb.toString();
    }

    /** Returns the token text (in byte-to-unicode form) that stands for the given byte. */
    public static String byteToken(int b) {
        return String.valueOf(BYTE_TO_CHAR[b & 0xFF]);
    }

    /**
     * Encodes ordinary text; special-token text inside it is encoded as plain bytes, never as a control
     * token.
     *
     * @param text text to encode
     * @return token ids
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        List<Integer> out = new ArrayList<>();
        encodeInto(text, out);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Encodes text in which the literal special-token texts stand for the special tokens (as in a rendered
     * chat template).
     *
     * @param text text with special tokens
     * @return token ids
     */
    public int[] encodeWithSpecials(String text) {
        Objects.requireNonNull(text, "text");
        List<Integer> out = new ArrayList<>();
        int pos = 0;
        while (pos < text.length()) {
            int next = -1;
            String found = null;
            for (String s : specials) {
                int at = text.indexOf(s, pos);
                if (at >= 0 && (next < 0 || at < next)) {
                    next = at;
                    found = s;
                }
            }
            if (found == null) {
                encodeInto(text.substring(pos), out);
                break;
            }
            encodeInto(text.substring(pos, next), out);
            out.add(ids.get(found));
            pos = next + found.length();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeInto(String text, List<Integer> out) {
        for (String piece : preTokenize(text)) {
            String chars = toByteChars(piece);
            List<String> symbols = new ArrayList<>(chars.length());
            for (char c : chars.toCharArray()) {
                symbols.add(String.valueOf(c));
            }
            while (symbols.size() > 1) {
                int bestRank = Integer.MAX_VALUE;
                int bestAt = -1;
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                    if (rank != null && rank < bestRank) {
                        bestRank = rank;
                        bestAt = i;
                    }
                }
                if (bestAt < 0) {
                    break;
                }
                symbols.set(bestAt, symbols.get(bestAt) + symbols.get(bestAt + 1));
                symbols.remove(bestAt + 1);
            }
            for (String s : symbols) {
                Integer id = ids.get(s);
                if (id != null) {
                    out.add(id);
                } else {
                    for (char c : s.toCharArray()) {
                        out.add(CHAR_TO_BYTE.get(c));
                    }
                }
            }
        }
    }

    /**
     * Decodes token ids to text; special tokens become their literal text and invalid UTF-8 becomes U+FFFD.
     *
     * @param tokenIds ids to decode
     * @return the text
     */
    public String decode(int[] tokenIds) {
        Objects.requireNonNull(tokenIds, "tokenIds");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : tokenIds) {
            if (id < 0 || id >= tokens.size()) {
                throw new IllegalArgumentException("token id out of range [0, " + tokens.size() + "): " + id);
            }
            String t = tokens.get(id);
            if (specials.contains(t)) {
                bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (char c : t.toCharArray()) {
                bytes.write(CHAR_TO_BYTE.get(c));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Returns the token texts in id order (byte tokens in byte-to-unicode form). */
    public List<String> tokens() {
        return tokens;
    }

    /** Returns the merges in rank order, each a two-element array {@code {left, right}} (copies). */
    public List<String[]> merges() {
        List<String[]> copy = new ArrayList<>(merges.size());
        for (String[] m : merges) {
            copy.add(m.clone());
        }
        return copy;
    }

    /** Returns the special tokens and their ids, in id order. */
    public Map<String, Integer> specialTokens() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String s : specials) {
            out.put(s, ids.get(s));
        }
        return Collections.unmodifiableMap(out);
    }

    /** Returns the id of a token text, or -1. */
    public int tokenId(String tokenText) {
        return ids.getOrDefault(tokenText, -1);
    }

    /** Returns the vocabulary size. */
    public int size() {
        return tokens.size();
    }

    /** Returns whether the id is one of the special (control) tokens. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < tokens.size() && specials.contains(tokens.get(id));
    }
}
