package io.github.locallm.server;

/**
 * A request the server refuses or cannot answer, with the HTTP status and the OpenAI error fields; each
 * API renders it in its own error shape.
 */
final class HttpError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;
    final String type;
    final String code;
    final String param;
    final int retryAfterSeconds;

    HttpError(int status, String type, String code, String param, String message, int retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    static HttpError badRequest(String message) {
        return new HttpError(400, "invalid_request_error", null, null, message, 0);
    }

    static HttpError badRequest(String param, String message) {
        return new HttpError(400, "invalid_request_error", null, param, message, 0);
    }

    static HttpError modelNotFound(String model, java.util.Collection<String> served) {
        return new HttpError(404, "invalid_request_error", "model_not_found", "model",
                "model '" + model + "' not found; this server serves " + served
                        + " (models are named in the server's configuration)", 0);
    }

    static HttpError unauthorized() {
        return new HttpError(401, "invalid_request_error", "invalid_api_key", null,
                "unauthorized: send the server's API key as 'Authorization: Bearer <key>'", 0);
    }

    static HttpError forbidden(String message) {
        return new HttpError(403, "invalid_request_error", "forbidden", null, message, 0);
    }

    static HttpError notFound(String message) {
        return new HttpError(404, "invalid_request_error", "not_found", null, message, 0);
    }

    static HttpError methodNotAllowed(String method, String path) {
        return new HttpError(405, "invalid_request_error", "method_not_allowed", null,
                method + " is not allowed on " + path, 0);
    }

    /** The client closed its connection before the answer: nothing is sent (status 499, as proxies log it). */
    static HttpError clientClosed(String message) {
        return new HttpError(499, "invalid_request_error", "client_closed_request", null, message, 0);
    }

    static HttpError tooLarge(String message) {
        return new HttpError(413, "invalid_request_error", "request_too_large", null, message, 0);
    }

    static HttpError unsupported(String param, String message) {
        return new HttpError(400, "invalid_request_error", "unsupported", param, message, 0);
    }

    static HttpError overloaded(String model, int retryAfterSeconds) {
        return new HttpError(503, "server_error", "server_overloaded", null, "model '" + model
                + "' is busy: every generation slot and queue place is taken; retry after " + retryAfterSeconds
                + " s", retryAfterSeconds);
    }

    static HttpError unavailable(String message) {
        return new HttpError(503, "server_error", "unavailable", null, message, 1);
    }

    static HttpError internal(String message) {
        return new HttpError(500, "server_error", null, null, message, 0);
    }
}
