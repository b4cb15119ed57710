import { Code, ConnectError, type Client, type Interceptor } from "@connectrpc/connect";
import type { SemanticCacheService } from "./gen/semcache/v1/semantic_cache_pb.js";

/** The typed semcache client: one method per RPC (lookup, store, ask, askStream, stats, flush). */
export type SemcacheClient = Client<typeof SemanticCacheService>;

/** Options every transport takes. */
export interface CommonClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** Deadline of each call in milliseconds, unless the call sets `timeoutMs`; default none. */
  readonly defaultTimeoutMs?: number;
  /** Interceptors of your own, run after the one that adds `apiKey`. */
  readonly interceptors?: Interceptor[];
  /** The server's API key (when it has SEMCACHE_API_KEYS_FILE): sent as `authorization: Bearer <key>` on every call. */
  readonly apiKey?: string;
}

/** An interceptor that sends `authorization: Bearer <apiKey>` with every call. */
export function bearerAuth(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

/** The transport options for `interceptors` and `apiKey`: the key's interceptor first, then the caller's. */
export function transportInterceptors(options: CommonClientOptions): { interceptors?: Interceptor[] } {
  const interceptors = [...(options.apiKey === undefined ? [] : [bearerAuth(options.apiKey)]), ...(options.interceptors ?? [])];
  return interceptors.length === 0 ? {} : { interceptors };
}

/**
 * The status code of a failed call (`Code.Unknown` for anything that is not
 * a ConnectError).
 *
 * semcache answers `InvalidArgument` for a bad request (empty prompt, bad
 * scope, threshold out of range), `Unauthenticated` for a missing or unknown
 * API key, `PermissionDenied` for a namespace or method the key does not
 * grant, `ResourceExhausted` for a key over its rate limit or an LLM queue
 * that is full, `Unavailable` while it loads its model or
 * when its store is down (retry with backoff), `FailedPrecondition` for an
 * Ask that missed the cache on a server without an LLM, and `Internal` for
 * bugs.
 */
export function codeOf(error: unknown): Code {
  return error instanceof ConnectError ? error.code : ConnectError.from(error).code;
}

/**
 * Whether retrying the failed call later may succeed: the server is
 * unavailable (still loading, store down), overloaded or too slow, or the
 * request never reached it (over fetch, a network failure surfaces as
 * `Code.Unknown` caused by the TypeError fetch rejected with).
 */
export function isRetryable(error: unknown): boolean {
  const connectError = error instanceof ConnectError ? error : ConnectError.from(error);
  switch (connectError.code) {
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
      return true;
    case Code.Unknown:
      return connectError.cause instanceof TypeError;
    default:
      return false;
  }
}

export { Code, ConnectError };
export type { CallOptions, Interceptor, Transport } from "@connectrpc/connect";
export * from "./gen/semcache/v1/semantic_cache_pb.js";
