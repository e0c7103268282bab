/**
 * Core's machinery, not part of the API: provider discovery, the single push primitive every generation
 * form is built on, and the close sequence. Not exported by the module; may change at any time.
 */
package io.github.locallm.internal;
