/**
 * Any error a request can meet, as a SemcacheError. The request path throws
 * SemcacheErrors; the access checks (shared with the RPCs' interceptor) and
 * the LLM slot pool still throw ConnectErrors, whose code and retry hint are
 * kept. Anything else is a bug: logged, and answered as INTERNAL with the
 * server's generic message.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { SemcacheError, type ErrorCode } from "../errors/index.js";
import { INTERNAL_ERROR_MESSAGE, RETRY_AFTER_MS_HEADER } from "../server/api/errors.js";

function codeName(code: Code): ErrorCode {
  return (Code[code] ?? "Unknown").replace(/[A-Z]/gu, (letter, at: number) => (at === 0 ? "" : "_") + letter.toLowerCase()) as ErrorCode;
}

/** `error` as a SemcacheError; see the module comment. */
export function asSemcacheError(error: unknown, log: (error: unknown) => void): SemcacheError {
  if (error instanceof SemcacheError) return error;
  if (error instanceof ConnectError) {
    const retryAfter = Number(error.metadata.get(RETRY_AFTER_MS_HEADER) ?? Number.NaN);
    return new SemcacheError(codeName(error.code), error.rawMessage, Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter, cause: error } : { cause: error });
  }
  log(error);
  return new SemcacheError("internal", INTERNAL_ERROR_MESSAGE, { cause: error });
}
