/** Chat templates: a sandboxed renderer of the Jinja templates that model checkpoints ship. */
package io.github.locallm.template;
