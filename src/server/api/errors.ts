/**
 * The one place where semcache's errors become wire errors. Everything below
 * the edge throws a SemcacheError (src/errors); here its code becomes a
 * Connect/gRPC status (`toConnectError`, applied to every RPC by
 * `errorMappingInterceptor`) or an HTTP status (`httpStatusOf`, for plain
 * HTTP endpoints). Both tables are total over ErrorCode, so a new code does
 * not compile until it has a status in each.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SemcacheError, type ErrorCode } from "../../errors/index.js";

/**
 * Response header with the milliseconds to wait before retrying, sent with
 * an error whose SemcacheError has `retryAfterMs` (the rate limit's). The
 * same header, spelled the same way, as the access interceptor sets.
 */
export const RETRY_AFTER_MS_HEADER = "retry-after-ms";

/** The message of an error no caller should read (it may hold internals); the server log has the details. */
export const INTERNAL_ERROR_MESSAGE = "internal error (see the server log)";

const CONNECT_CODES: Readonly<Record<ErrorCode, Code>> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

// gRPC's own HTTP mapping (google.rpc.Code), which OpenAI-style clients read as they expect:
// 429 to back off, 5xx to retry, 4xx to fix the request.
const HTTP_STATUSES: Readonly<Record<ErrorCode, number>> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** The HTTP status of an error code, for endpoints that answer in plain HTTP. */
export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUSES[code];
}

/**
 * The ConnectError a caller receives for `error`. A SemcacheError keeps its
 * message and gets its status (and a retry-after-ms header when it says how
 * long to wait); a ConnectError passes unchanged (connect's own aborts and
 * deadlines); anything else is a bug: logged through `log`, and answered as
 * INTERNAL with a generic message, since its text may hold details no
 * caller should see.
 */
export function toConnectError(error: unknown, log: (error: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof SemcacheError) {
    const headers = error.retryAfterMs === undefined ? undefined : { [RETRY_AFTER_MS_HEADER]: String(error.retryAfterMs) };
    return new ConnectError(error.message, CONNECT_CODES[error.code], headers, undefined, error);
  }
  log(error);
  return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal);
}

/**
 * Applies {@link toConnectError} to whatever the calls inside it throw,
 * unary or streaming, so handlers (and interceptors inside it) throw
 * SemcacheErrors and never map errors themselves.
 */
export function errorMappingInterceptor(log: (error: unknown) => void): Interceptor {
  return (next) => async (req) => {
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      throw toConnectError(error, log);
    }
    if (!res.stream) return res;
    return { ...res, message: mapStreamErrors(res.message, log) };
  };
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, log: (error: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw toConnectError(error, log);
  }
}
