/**
 * How upstream failures become SemcacheErrors. The codes describe the failure
 * from the point of view of semcache's caller: a bad key or a missing model
 * setting is the server operator's problem (FAILED_PRECONDITION), not the
 * caller's.
 *
 * | upstream                               | code                | retried |
 * |----------------------------------------|---------------------|---------|
 * | 400, 413, 422, other 4xx               | INVALID_ARGUMENT    | no      |
 * | 404, model named in the request        | INVALID_ARGUMENT    | no      |
 * | 404, the default model                 | FAILED_PRECONDITION | no      |
 * | 401, 403 (semcache's key rejected)     | FAILED_PRECONDITION | no      |
 * | 402 (semcache's account unpaid)        | FAILED_PRECONDITION | no      |
 * | 429                                    | RESOURCE_EXHAUSTED  | yes     |
 * | 408, 409, 5xx                          | UNAVAILABLE         | yes     |
 * | connection refused / reset / lost      | UNAVAILABLE         | yes     |
 * | error event inside a stream            | by its code, else UNAVAILABLE | before the first token |
 * | malformed response                     | INTERNAL            | no      |
 * | overall deadline (SEMCACHE_LLM_TIMEOUT_MS) | DEADLINE_EXCEEDED | -     |
 * | caller's AbortSignal                   | CANCELED (or the signal's reason, when it has a status) | - |
 *
 * 404 is split because an unknown model is fixable by whoever chose it: the
 * caller through scope.model, or the operator through SEMCACHE_LLM_MODEL.
 * Upstream's `x-should-retry` header overrides "retried" as it does in the
 * openai package.
 */
import { ConnectError } from "@connectrpc/connect";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { SemcacheError, type ErrorCode } from "../errors/index.js";
import { LLM_ENV } from "./config.js";
import { retryAfterMs } from "./retry.js";

/** A failed attempt: the error to report and whether another attempt may help. */
export interface UpstreamFailure {
  readonly error: SemcacheError;
  /** 429, 5xx and connection errors: worth another attempt. */
  readonly retryable: boolean;
  /** How long upstream asked us to wait (retry-after-ms / retry-after), if it said. */
  readonly retryAfterMs?: number;
}

/** What the mapping needs to know about the call that failed. */
export interface FailureContext {
  /** The model asked for. */
  readonly model: string;
  /** True when the caller named the model, false when it is the default. */
  readonly modelFromRequest: boolean;
}

const PREFIX = "LLM upstream";

/** The call cannot be made: neither a base URL nor an API key is configured. */
export function unconfiguredError(): SemcacheError {
  return new SemcacheError(
    "failed_precondition",
    `no LLM is configured: set ${LLM_ENV.baseUrl} (an OpenAI-compatible API such as http://localhost:11434/v1) ` +
      `and/or ${LLM_ENV.apiKey} (or ${LLM_ENV.openAiApiKey}), and ${LLM_ENV.model}`,
  );
}

/** The request names no model and the server has no default. */
export function noModelError(): SemcacheError {
  return new SemcacheError("failed_precondition", `no LLM model: set scope.model in the request or ${LLM_ENV.model} on the server`);
}

/**
 * The caller gave up. A reason that already has a status is passed on as is:
 * a SemcacheError, or a ConnectError from connect itself (a handler's own
 * deadline aborts its signal with DEADLINE_EXCEEDED, a shutdown with
 * UNAVAILABLE), which the API edge passes through unchanged.
 */
export function canceledError(reason: unknown): SemcacheError | ConnectError {
  if (reason instanceof SemcacheError || reason instanceof ConnectError) return reason;
  return new SemcacheError("canceled", "the LLM call was canceled", { cause: reason });
}

/** The overall deadline passed; the last failure, if any, says why it took so long. */
export function deadlineError(timeoutMs: number, attempts: number, last?: UpstreamFailure): SemcacheError {
  const lastPart = last === undefined ? "" : `; last attempt: ${last.error.message}`;
  return new SemcacheError(
    "deadline_exceeded",
    `the LLM call did not finish within ${timeoutMs} ms (${LLM_ENV.timeoutMs}) after ${attempts} attempt(s)${lastPart}`,
    { cause: last?.error },
  );
}

/** Upstream answered, but not with something usable. */
export function malformedResponseError(what: string, cause?: unknown): SemcacheError {
  return new SemcacheError("internal", `${PREFIX} sent a malformed response: ${what}`, { cause });
}

/** A stream ended without a finish reason: the connection was most likely cut. */
export function incompleteStreamError(): SemcacheError {
  return new SemcacheError("unavailable", `${PREFIX} ended the stream before the answer was finished`);
}

function fromStatus(status: number, message: string, headers: Headers | undefined, context: FailureContext, cause: unknown): UpstreamFailure {
  const make = (code: ErrorCode, text: string) => new SemcacheError(code, text, { cause });
  let failure: UpstreamFailure;
  if (status === 401 || status === 403) {
    failure = {
      error: make(
        "failed_precondition",
        `${PREFIX} rejected semcache's API key (check ${LLM_ENV.apiKey} / ${LLM_ENV.openAiApiKey}): ${message}`,
      ),
      retryable: false,
    };
  } else if (status === 402) {
    failure = { error: make("failed_precondition", `${PREFIX} refused semcache's account: ${message}`), retryable: false };
  } else if (status === 404) {
    failure = context.modelFromRequest
      ? { error: make("invalid_argument", `${PREFIX} (model ${JSON.stringify(context.model)}): ${message}`), retryable: false }
      : {
          error: make(
            "failed_precondition",
            `${PREFIX} (default model ${JSON.stringify(context.model)}; check ${LLM_ENV.model} and ${LLM_ENV.baseUrl}): ${message}`,
          ),
          retryable: false,
        };
  } else if (status === 429) {
    // Upstream's wait, passed on: the caller's own client backs off as long as semcache was told to.
    const error = new SemcacheError("resource_exhausted", `${PREFIX} is rate limiting semcache: ${message}`, { cause, retryAfterMs: retryAfterMs(headers) });
    failure = { error, retryable: true };
  } else if (status === 408 || status === 409 || status >= 500) {
    failure = { error: make("unavailable", `${PREFIX}: ${message}`), retryable: true };
  } else if (status >= 400) {
    failure = { error: make("invalid_argument", `${PREFIX}: ${message}`), retryable: false };
  } else {
    failure = { error: make("unknown", `${PREFIX} answered with unexpected status: ${message}`), retryable: false };
  }
  const shouldRetry = headers?.get("x-should-retry");
  if (shouldRetry === "true" || shouldRetry === "false") failure = { ...failure, retryable: shouldRetry === "true" };
  const wait = retryAfterMs(headers);
  return wait === undefined ? failure : { ...failure, retryAfterMs: wait };
}

// undici nests the useful text ("connect ECONNREFUSED 127.0.0.1:8000",
// "other side closed") a cause or two below "fetch failed".
function innermostMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.filter((part, i) => part !== "" && parts.indexOf(part) === i).join(": ");
}

function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; depth < 5 && current instanceof Error; depth++, current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (code.startsWith("E") || code.startsWith("UND_ERR"))) return true;
    // undici's body-stream failure when the socket closes mid-response.
    if (current instanceof TypeError && (current.message === "terminated" || current.message === "fetch failed")) return true;
  }
  return false;
}

/**
 * Maps one failed attempt to a SemcacheError, keeping upstream's message, and
 * says whether to retry. Cancellation and the deadline are decided by the
 * caller before this is asked, since only it knows which of them fired.
 */
export function classifyUpstreamError(error: unknown, context: FailureContext): UpstreamFailure {
  // Ours, thrown inside an attempt (a malformed or cut-off response): final as it is.
  if (error instanceof SemcacheError) return { error, retryable: false };
  if (error instanceof APIUserAbortError) return { error: new SemcacheError("canceled", "the LLM call was canceled", { cause: error }), retryable: false };
  if (error instanceof APIConnectionTimeoutError) {
    return { error: new SemcacheError("deadline_exceeded", `${PREFIX} timed out`, { cause: error }), retryable: false };
  }
  if (error instanceof APIConnectionError) {
    return {
      error: new SemcacheError("unavailable", `cannot reach the ${PREFIX}: ${innermostMessage(error.cause ?? error)}`, { cause: error }),
      retryable: true,
    };
  }
  if (error instanceof APIError) {
    if (typeof error.status === "number") return fromStatus(error.status, error.message, error.headers, context, error);
    // An error event inside a stream: vLLM and others put an HTTP status in `code`.
    const code = Number(error.code);
    if (Number.isInteger(code) && code >= 400 && code <= 599) return fromStatus(code, error.message, undefined, context, error);
    return { error: new SemcacheError("unavailable", `${PREFIX}: ${error.message}`, { cause: error }), retryable: true };
  }
  if (error instanceof SyntaxError) return { error: malformedResponseError(error.message, error), retryable: false };
  if (isConnectionError(error)) {
    return {
      error: new SemcacheError("unavailable", `lost the connection to the ${PREFIX}: ${innermostMessage(error)}`, { cause: error }),
      retryable: true,
    };
  }
  return {
    error: new SemcacheError("internal", `${PREFIX} call failed: ${innermostMessage(error) || String(error)}`, { cause: error }),
    retryable: false,
  };
}
