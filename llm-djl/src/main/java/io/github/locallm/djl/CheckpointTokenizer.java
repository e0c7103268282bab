package io.github.locallm.djl;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The checkpoint's {@code tokenizer.json} through the Hugging Face tokenizers library, opened without
 * truncation, padding or automatic special tokens.
 *
 * <p>Thread-safe: the native tokenizer is immutable once loaded.
 */
final class CheckpointTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer tokenizer;
    private final List<String> specialTokens;

    private CheckpointTokenizer(HuggingFaceTokenizer tokenizer, List<String> specialTokens) {
        this.tokenizer = tokenizer;
        this.specialTokens = specialTokens;
    }

    /** Largest tokenizer.json read; the largest released ones are a few tens of megabytes. */
    static final long MAX_FILE_BYTES = 256L << 20;

    /**
     * Checks {@code tokenizer.json} in Java, then loads it into the native tokenizer library.
     *
     * @param file the file
     * @param model the model, for messages
     * @param vocabSize rows of the model's embedding; every token id must be below it
     * @return the tokenizer
     * @throws ModelLoadException when the file is unreadable or malformed
     */
    static CheckpointTokenizer open(Path file, String model, int vocabSize) {
        TokenizerFileCheck.check(file, model, vocabSize);
        // The library truncates to 512 tokens and pads unless told otherwise.
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false",
                "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        HuggingFaceTokenizer tokenizer;
        try (InputStream in = Files.newInputStream(file)) {
            tokenizer = HuggingFaceTokenizer.newInstance(in, options);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + " of djl model " + model + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ModelLoadException(file + " of djl model " + model + " is not a valid Hugging Face "
                    + "tokenizer file: " + e.getMessage() + "; save it again with a current tokenizers version", e);
        }
        // The library matches its special tokens in any text; their texts are what contents must not produce.
        List<String> specials = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            for (JsonNode t : JSON.readTree(in).path("added_tokens")) {
                if (t.path("special").asBoolean(false) && t.path("content").isTextual()) {
                    specials.add(t.path("content").asText());
                }
            }
        } catch (IOException e) {
            tokenizer.close();
            throw new ModelLoadException("cannot read " + file + " of djl model " + model + ": " + e.getMessage(), e);
        }
        return new CheckpointTokenizer(tokenizer, List.copyOf(specials));
    }

    /**
     * Tokenizes a prompt as {@code tokenizer(text)} does in transformers: when {@code tokenizer_config.json}
     * says {@code add_bos_token} / {@code add_eos_token} (Llama, Mistral, Gemma and Phi-3 tokenizers), those
     * decide; otherwise the post-processor of {@code tokenizer.json} adds what it adds (nothing for Qwen
     * and Phi-2).
     *
     * @param text the prompt
     * @param addBos the config's add_bos_token, or null when it does not say
     * @param addEos the config's add_eos_token, or null when it does not say
     * @param bos the begin token id, or -1
     * @param eos the end token id, or -1
     * @return the ids
     */
    int[] encodePrompt(String text, Boolean addBos, Boolean addEos, int bos, int eos) {
        if (addBos == null && addEos == null) {
            return encode(text, true);
        }
        int[] body = encode(text, false);
        boolean b = Boolean.TRUE.equals(addBos) && bos >= 0;
        boolean e = Boolean.TRUE.equals(addEos) && eos >= 0;
        int[] out = new int[body.length + (b ? 1 : 0) + (e ? 1 : 0)];
        if (b) {
            out[0] = bos;
        }
        System.arraycopy(body, 0, out, b ? 1 : 0, body.length);
        if (e) {
            out[out.length - 1] = eos;
        }
        return out;
    }

    /**
     * @param text text
     * @param addSpecialTokens whether the tokenizer's post-processor may add its special tokens (BOS)
     * @return the token ids
     */
    int[] encode(String text, boolean addSpecialTokens) {
        Encoding enc = tokenizer.encode(text, addSpecialTokens, false);
        long[] ids = enc.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /**
     * @param ids token ids
     * @param from first index
     * @param to end index, exclusive
     * @param skipSpecial whether special tokens are left out
     * @return the text
     */
    String decode(int[] ids, int from, int to, boolean skipSpecial) {
        long[] l = new long[to - from];
        for (int i = from; i < to; i++) {
            l[i - from] = ids[i];
        }
        return tokenizer.decode(l, skipSpecial);
    }

    /**
     * @param token the text of a single token, such as {@code "<|im_end|>"}
     * @return its id, or -1 when the text is not exactly one token
     */
    int tokenId(String token) {
        if (token == null || token.isEmpty()) {
            return -1;
        }
        int[] ids = encode(token, false);
        return ids.length == 1 ? ids[0] : -1;
    }

    /** @return the texts of the special tokens of {@code tokenizer.json}, which the tokenizer matches in any text */
    List<String> specialTokens() {
        return specialTokens;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * Turns generated tokens into text pieces that never split a character: the text of the tokens since
     * the last piece is decoded together with a little context before them, and held back while it ends
     * in an incomplete UTF-8 sequence (which decodes to U+FFFD).
     *
     * <p>Not thread-safe: one per generation.
     */
    final class StreamDecoder {
        private final boolean skipSpecial;
        private int[] ids = new int[64];
        private int size;
        private int prefixStart;
        private int readStart;

        /** A decoder that leaves special tokens out of the text. */
        StreamDecoder() {
            this(true);
        }

        /** @param skipSpecial whether special tokens are left out (kept when a chat format reads its markup) */
        StreamDecoder(boolean skipSpecial) {
            this.skipSpecial = skipSpecial;
        }

        /**
         * @param token the next generated token
         * @return the new text, possibly empty
         */
        String push(int token) {
            if (size == ids.length) {
                ids = java.util.Arrays.copyOf(ids, size * 2);
            }
            ids[size++] = token;
            String prefix = decode(ids, prefixStart, readStart, skipSpecial);
            String full = decode(ids, prefixStart, size, skipSpecial);
            if (full.length() > prefix.length() && !full.endsWith("\uFFFD")) {
                String piece = full.startsWith(prefix) ? full.substring(prefix.length())
                        : full.substring(Math.min(prefix.length(), full.length()));
                prefixStart = readStart;
                readStart = size;
                return piece;
            }
            return "";
        }

        /** @return text still held back at the end of generation */
        String flush() {
            String prefix = decode(ids, prefixStart, readStart, skipSpecial);
            String full = decode(ids, prefixStart, size, skipSpecial);
            readStart = size;
            prefixStart = size;
            return full.length() > prefix.length() ? full.substring(prefix.length()) : "";
        }
    }
}
