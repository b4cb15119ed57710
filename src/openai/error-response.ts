/**
 * Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`,
 * with the HTTP status an OpenAI SDK turns into the right error class and
 * retry decision: 400 BadRequestError, 401 AuthenticationError, 403
 * PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 429
 * RateLimitError (retried after `retry-after`), 5xx InternalServerError
 * (retried). `code` is semcache's error code (invalid_argument,
 * resource_exhausted, ...), `param` the field or header at fault.
 */
import type { ErrorCode, SemcacheError } from "../errors/index.js";
import { httpStatusOf } from "../server/api/errors.js";

/**
 * failed_precondition is the server's configuration here (no LLM, no model,
 * the upstream refusing the server's key): nothing the caller's request can
 * change, so a 503 with `x-should-retry: false` rather than the plain-HTTP
 * table's 400, which an SDK would report as the caller's bad request.
 */
const OVERRIDES: Partial<Record<ErrorCode, number>> = { failed_precondition: 503 };

/** Codes no retry can fix, though their status alone would make an SDK retry. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set(["failed_precondition", "unimplemented", "internal", "data_loss", "unknown"]);

/** OpenAI's `error` object. */
export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string;
  };
}

/** An error answer: status, headers and body. */
export interface OpenAiErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: OpenAiErrorBody;
}

/** The HTTP status of an error code on this endpoint: the server's plain-HTTP table, but for OVERRIDES. */
export function openAiStatusOf(code: ErrorCode): number {
  return OVERRIDES[code] ?? httpStatusOf(code);
}

function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** The OpenAI-shaped answer to an error. */
export function openAiErrorResponse(error: SemcacheError): OpenAiErrorResponse {
  const status = openAiStatusOf(error.code);
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) {
    headers["retry-after-ms"] = String(Math.ceil(error.retryAfterMs));
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  if (NOT_RETRYABLE.has(error.code)) headers["x-should-retry"] = "false";
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="semcache"';
  return { status, headers, body: { error: { message: error.message, type: typeOf(status), param: error.field ?? null, code: error.code } } };
}
