package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a {@code tokenizer.json} in Java before the native tokenizer library sees it: the JSON structure of
 * every component the library reads, the component types it knows, token ids that are non-negative and
 * below the model's vocabulary, merges whose parts and results are tokens, special tokens of the
 * post-processor that exist. A file that passes is one the library parses without reaching its failure
 * paths, which in native code may not come back as an error.
 *
 * <p>Stateless.
 */
final class TokenizerFileCheck {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> MODELS = Set.of("BPE", "WordPiece", "WordLevel", "Unigram");
    private static final Set<String> NORMALIZERS = Set.of("BertNormalizer", "Strip", "StripAccents", "NFC", "NFD",
            "NFKC", "NFKD", "Sequence", "Lowercase", "Nmt", "Precompiled", "Replace", "Prepend", "ByteLevel");
    private static final Set<String> PRE_TOKENIZERS = Set.of("BertPreTokenizer", "ByteLevel", "Delimiter",
            "Metaspace", "Whitespace", "Sequence", "Split", "Punctuation", "WhitespaceSplit", "Digits",
            "UnicodeScripts", "CharDelimiterSplit", "FixedLength");
    private static final Set<String> PROCESSORS = Set.of("RobertaProcessing", "BertProcessing", "ByteLevel",
            "TemplateProcessing", "Sequence");
    private static final Set<String> DECODERS = Set.of("BPEDecoder", "ByteLevel", "WordPiece", "Metaspace", "CTC",
            "Sequence", "Replace", "Fuse", "Strip", "ByteFallback");

    private final Path file;
    private final String model;

    private TokenizerFileCheck(Path file, String model) {
        this.file = file;
        this.model = model;
    }

    /**
     * @param file the tokenizer.json
     * @param model the model, for messages
     * @param vocabSize rows of the model's embedding
     * @throws ModelLoadException naming what is wrong
     */
    static void check(Path file, String model, int vocabSize) {
        new TokenizerFileCheck(file, model).run(vocabSize);
    }

    private void run(int vocabSize) {
        JsonNode root;
        try {
            long size = Files.size(file);
            if (size > CheckpointTokenizer.MAX_FILE_BYTES) {
                throw bad("it is " + size + " bytes, more than the " + CheckpointTokenizer.MAX_FILE_BYTES
                        + " a tokenizer file can be");
            }
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(file + " of djl model " + model + " is not a valid Hugging Face tokenizer "
                    + "file: it cannot be read as JSON (" + e.getMessage() + "); save it again or download it again",
                    e);
        }
        if (root == null || !root.isObject()) {
            throw bad("it is not a JSON object");
        }
        JsonNode m = root.path("model");
        if (!m.isObject()) {
            throw bad("it has no \"model\" object");
        }
        Set<String> tokens = new HashSet<>();
        int maxId = model(m, tokens);
        JsonNode added = root.path("added_tokens");
        if (!added.isMissingNode() && !added.isNull()) {
            if (!added.isArray()) {
                throw bad("added_tokens is not an array");
            }
            for (JsonNode a : added) {
                int id = id(a.path("id"), "added_tokens id");
                if (!a.path("content").isTextual()) {
                    throw bad("added token " + id + " has no text content");
                }
                tokens.add(a.path("content").asText());
                maxId = Math.max(maxId, id);
            }
        }
        if (maxId >= vocabSize) {
            throw bad("it has token id " + maxId + ", but the model's embedding has only " + vocabSize
                    + " rows; tokenizer.json and the weights belong to different models");
        }
        component(root.path("normalizer"), "normalizer", NORMALIZERS, "normalizers");
        component(root.path("pre_tokenizer"), "pre_tokenizer", PRE_TOKENIZERS, "pretokenizers");
        component(root.path("post_processor"), "post_processor", PROCESSORS, "processors");
        component(root.path("decoder"), "decoder", DECODERS, "decoders");
        for (String key : List.of("truncation", "padding")) {
            JsonNode n = root.path(key);
            if (!n.isMissingNode() && !n.isNull() && !n.isObject()) {
                throw bad(key + " is neither null nor an object");
            }
        }
    }

    /** Checks the model section; returns the largest id and collects the token texts. */
    private int model(JsonNode m, Set<String> tokens) {
        String type = m.path("type").asText("");
        if (type.isEmpty()) {
            type = m.has("merges") ? "BPE" : m.path("vocab").isArray() ? "Unigram" : "";
        }
        if (!MODELS.contains(type)) {
            throw bad("its model type '" + m.path("type").asText("(none)") + "' is not one of " + MODELS);
        }
        JsonNode vocab = m.path("vocab");
        int maxId = -1;
        if (type.equals("Unigram")) {
            if (!vocab.isArray() || vocab.size() == 0) {
                throw bad("the Unigram vocab is not a non-empty array");
            }
            for (JsonNode piece : vocab) {
                if (!piece.isArray() || piece.size() != 2 || !piece.get(0).isTextual() || !piece.get(1).isNumber()) {
                    throw bad("a Unigram vocab entry is not [text, score]: " + abbreviate(piece));
                }
                tokens.add(piece.get(0).asText());
            }
            maxId = vocab.size() - 1;
            JsonNode unk = m.path("unk_id");
            if (!unk.isMissingNode() && !unk.isNull() && id(unk, "unk_id") > maxId) {
                throw bad("unk_id " + unk + " is outside the vocab of " + vocab.size());
            }
            return maxId;
        }
        if (!vocab.isObject() || vocab.size() == 0) {
            throw bad("the " + type + " vocab is not a non-empty object of token to id");
        }
        Set<Integer> ids = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = id(e.getValue(), "the id of token " + abbreviate(e.getKey()));
            if (!ids.add(id)) {
                throw bad("token id " + id + " is given to more than one token");
            }
            tokens.add(e.getKey());
            maxId = Math.max(maxId, id);
        }
        JsonNode unk = m.path("unk_token");
        if (unk.isTextual() && !vocab.has(unk.asText()) && !type.equals("BPE")) {
            throw bad("its unk_token " + abbreviate(unk.asText()) + " is not in the vocab");
        }
        if (type.equals("BPE")) {
            JsonNode dropout = m.path("dropout");
            if (!dropout.isMissingNode() && !dropout.isNull()
                    && (!dropout.isNumber() || !(dropout.asDouble() > 0 && dropout.asDouble() <= 1))) {
                throw bad("the BPE dropout must be null or in (0, 1]: " + dropout);
            }
            JsonNode merges = m.path("merges");
            if (!merges.isArray()) {
                throw bad("the BPE model has no merges array");
            }
            String prefix = m.path("continuing_subword_prefix").asText("");
            for (JsonNode merge : merges) {
                String a;
                String b;
                if (merge.isTextual()) {
                    String[] parts = merge.asText().split(" ", -1);
                    if (parts.length != 2) {
                        throw bad("the merge " + abbreviate(merge.asText()) + " is not two tokens separated by a "
                                + "space");
                    }
                    a = parts[0];
                    b = parts[1];
                } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual()
                        && merge.get(1).isTextual()) {
                    a = merge.get(0).asText();
                    b = merge.get(1).asText();
                } else {
                    throw bad("a merge is neither \"a b\" nor [\"a\", \"b\"]: " + abbreviate(merge));
                }
                String joined = a + (b.startsWith(prefix) ? b.substring(prefix.length()) : b);
                if (!vocab.has(a) || !vocab.has(b) || !vocab.has(joined)) {
                    throw bad("the merge of " + abbreviate(a) + " and " + abbreviate(b)
                            + " uses or makes a token that is not in the vocab");
                }
            }
        }
        return maxId;
    }

    /** Checks a pipeline component: null, or an object of a known type (sequences checked member by member). */
    private void component(JsonNode n, String what, Set<String> known, String sequenceKey) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        if (!n.isObject() || !n.path("type").isTextual()) {
            throw bad(what + " is neither null nor an object with a type");
        }
        String type = n.get("type").asText();
        if (!known.contains(type)) {
            throw bad(what + " type '" + abbreviate(type) + "' is not one of " + known);
        }
        if (type.equals("Sequence")) {
            JsonNode members = n.path(sequenceKey);
            if (!members.isArray()) {
                throw bad(what + " Sequence has no " + sequenceKey + " array");
            }
            for (JsonNode member : members) {
                if (member.isNull()) {
                    throw bad(what + " Sequence has a null member");
                }
                component(member, what, known, sequenceKey);
            }
        }
        if (n.has("pattern")) {
            JsonNode p = n.get("pattern");
            if (!p.isObject() || !(p.path("Regex").isTextual() || p.path("String").isTextual())) {
                throw bad(what + " " + type + " has a pattern that is neither {\"Regex\": ...} nor {\"String\": ...}");
            }
        }
        if (type.equals("TemplateProcessing")) {
            template(n);
        }
    }

    private void template(JsonNode n) {
        JsonNode specials = n.path("special_tokens");
        if (!specials.isObject()) {
            throw bad("post_processor TemplateProcessing has no special_tokens object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = specials.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode ids = e.getValue().path("ids");
            JsonNode toks = e.getValue().path("tokens");
            if (!ids.isArray() || !toks.isArray() || ids.size() != toks.size()) {
                throw bad("post_processor special token " + abbreviate(e.getKey())
                        + " needs ids and tokens arrays of equal length");
            }
            for (JsonNode id : ids) {
                id(id, "post_processor special token id");
            }
        }
        for (String key : List.of("single", "pair")) {
            JsonNode pieces = n.path(key);
            if (pieces.isMissingNode() || pieces.isNull()) {
                continue;
            }
            if (!pieces.isArray()) {
                throw bad("post_processor TemplateProcessing " + key + " is not an array");
            }
            for (JsonNode piece : pieces) {
                JsonNode special = piece.path("SpecialToken");
                if (special.isObject()) {
                    String id = special.path("id").asText("");
                    if (!specials.has(id)) {
                        throw bad("post_processor template uses the special token " + abbreviate(id)
                                + ", which its special_tokens do not define");
                    }
                } else if (!piece.path("Sequence").isObject()) {
                    throw bad("post_processor template piece is neither SpecialToken nor Sequence: "
                            + abbreviate(piece));
                }
            }
        }
    }

    private int id(JsonNode n, String what) {
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
            throw bad(what + " is not a non-negative integer below 2^31: " + abbreviate(n));
        }
        return n.asInt();
    }

    private static String abbreviate(Object o) {
        String s = String.valueOf(o);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    private ModelLoadException bad(String what) {
        return new ModelLoadException(file + " of djl model " + model + " is not a valid Hugging Face tokenizer file: "
                + what + ". Save it again with a current tokenizers version or download the checkpoint again");
    }
}
