/**
 * Any error a request can meet, as a SemcacheError. Layers not yet moved to
 * the one error model throw ConnectErrors or their own classes; those are
 * translated through the server's single mapping (toConnectError), keeping
 * the field and retry hint where they carry one.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { RETRY_AFTER_MS_HEADER } from "../auth/index.js";
import { InvalidInputError } from "../cache/errors.js";
import { SemcacheError, type ErrorCode } from "../errors/index.js";
import { toConnectError } from "../server/api/errors.js";

function codeName(code: Code): ErrorCode {
  return (Code[code] ?? "Unknown").replace(/[A-Z]/gu, (letter, at: number) => (at === 0 ? "" : "_") + letter.toLowerCase()) as ErrorCode;
}

/** `error` as a SemcacheError; unexpected errors are logged and become a generic INTERNAL. */
export function asSemcacheError(error: unknown, log: (error: unknown) => void): SemcacheError {
  if (error instanceof SemcacheError) return error;
  if (error instanceof InvalidInputError) return new SemcacheError("invalid_argument", error.message, { field: error.field });
  const connect = error instanceof ConnectError ? error : toConnectError(error, log);
  const retryAfter = Number(connect.metadata.get(RETRY_AFTER_MS_HEADER) ?? Number.NaN);
  return new SemcacheError(codeName(connect.code), connect.rawMessage, Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter, cause: error } : { cause: error });
}
