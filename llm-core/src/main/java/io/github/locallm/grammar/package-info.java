/**
 * Constrained decoding shared by the in-process backends: JSON schemas and tool calls turned into GBNF
 * grammars ({@link io.github.locallm.grammar.JsonSchemaGrammar}, {@link io.github.locallm.grammar.ToolCallGrammar}),
 * and a Java matcher of those grammars ({@link io.github.locallm.grammar.GrammarMatcher},
 * {@link io.github.locallm.grammar.TokenMask}) for backends that mask logits themselves.
 */
package io.github.locallm.grammar;
