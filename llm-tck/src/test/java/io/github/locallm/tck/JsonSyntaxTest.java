package io.github.locallm.tck;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.tck.JsonSyntax.Verdict;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The TCK's JSON syntax check tells complete values, cut-off values and invalid text apart. */
class JsonSyntaxTest {
    @ParameterizedTest
    @ValueSource(strings = {"{}", "[]", "0", "-1.5e+3", "\"a\\u00e9\\n\"", " {\"a\": [1, true, null, {\"b\": \"日本\"}]} \n",
        "false", "[[[]]]", "12"})
    void completeValues(String text) {
        assertThat(JsonSyntax.check(text).verdict()).as(text).isEqualTo(Verdict.COMPLETE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{\"a", "{\"a\":", "{\"a\": [1,", "tr", "-", "1.", "1e+", "\"\\u00", "[\"x\\"})
    void cutOffValues(String text) {
        assertThat(JsonSyntax.check(text).verdict()).as(text).isEqualTo(Verdict.PREFIX);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Once upon a time", "{a}", "{\"a\" 1}", "[1 2]", "01", "1.e3", "\"\\q\"", "{} {}",
        "\"tab\there\"", "tru e", "[1,]", "{\"a\":1,}", "+1"})
    void invalidText(String text) {
        assertThat(JsonSyntax.check(text).verdict()).as(text).isEqualTo(Verdict.INVALID);
    }
}
