/**
 * Process isolation for in-process engines ({@code isolate=process}): the model runs in a child JVM and
 * a native crash there becomes an {@link io.github.locallm.EngineCrashedException} here.
 */
package io.github.locallm.isolation;
