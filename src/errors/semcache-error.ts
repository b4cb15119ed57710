import type { ErrorCode } from "./error-code.js";

/** Optional facts a {@link SemcacheError} carries besides its code and message. */
export interface SemcacheErrorOptions {
  /** The request field at fault, in the API's snake_case ("scope.namespace"), when one is. */
  readonly field?: string;
  /** How long the caller should wait before retrying, when the server knows (rate limits). */
  readonly retryAfterMs?: number;
  /** The underlying error, kept for the log; never shown to callers. */
  readonly cause?: unknown;
}

/**
 * The one error type of a request's path through semcache: the cache core,
 * the stores, the embedder, the LLM layer, access control and Ask all throw
 * it (or a subclass), and each wire edge maps it to its protocol in one place.
 * Its message is meant for the caller: it must never hold secrets, and it
 * names what to change. Anything else that reaches an edge is a bug, answered
 * as INTERNAL with a generic message and logged.
 */
export class SemcacheError extends Error {
  override readonly name: string = "SemcacheError";
  /** What went wrong, as a status a caller can act on. */
  readonly code: ErrorCode;
  /** The request field at fault, if any. */
  readonly field: string | undefined;
  /** Milliseconds to wait before retrying, if known. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: SemcacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Whether `error` is a {@link SemcacheError} with one of `codes`. */
export function hasCode(error: unknown, ...codes: readonly ErrorCode[]): error is SemcacheError {
  return error instanceof SemcacheError && codes.includes(error.code);
}
