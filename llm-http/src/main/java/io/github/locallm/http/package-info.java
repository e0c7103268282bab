/**
 * What the HTTP backends share, independent of any protocol: an {@link io.github.locallm.http.HttpTransport}
 * per backend configuration (an OkHttp client derived for it, never a process-wide mutable one), calls as
 * {@link io.github.locallm.http.HttpExchange}s that read NDJSON or SSE lines and whole bodies within
 * {@link io.github.locallm.http.HttpLimits} (line and body caps counted after decompression, connect,
 * first-byte, idle and whole-request deadlines, a minimum transfer rate against drip-feeding servers), a
 * redirect policy that never leaves the origin, strict UTF-8, the {@link io.github.locallm.http.Json} mapper,
 * and typed failures: {@link io.github.locallm.http.LimitExceededException} naming the
 * {@link io.github.locallm.http.Limit} and its setting, {@link io.github.locallm.http.RedirectRefusedException},
 * {@link io.github.locallm.http.MalformedResponseException}.
 *
 * <p>Protocols (Ollama's NDJSON, OpenAI-compatible SSE) live in their backend modules and use these parts;
 * a bound is written once, here.
 */
package io.github.locallm.http;
