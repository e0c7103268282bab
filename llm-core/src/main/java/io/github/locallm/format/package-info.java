/**
 * Chat formats of model families for in-process backends: how tools, tool calls, tool results and reasoning
 * are rendered through a model's chat template, and how they are parsed back out of generated text while it
 * streams. See {@link io.github.locallm.format.ChatFormat}.
 */
package io.github.locallm.format;
