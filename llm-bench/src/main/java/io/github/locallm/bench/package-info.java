/**
 * The benchmark harness: every backend measured against its raw baseline, side by side in one run.
 *
 * <p>{@link io.github.locallm.bench.BenchMain} orchestrates; each measurement runs in a child JVM
 * ({@link io.github.locallm.bench.ChildMain}) so that peak resident memory and allocation counts belong to
 * one backend only. Nothing here is part of the normal test run.
 */
package io.github.locallm.bench;
