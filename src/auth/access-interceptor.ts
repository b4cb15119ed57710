import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SemanticCacheService } from "../gen/semcache/v1/semantic_cache_pb.js";
import { edgeRefusalKey } from "../server/http/edge-refusal.js";
import { bearerToken } from "./bearer.js";
import type { KeyRing } from "./key-ring.js";
import { authorizeMessage } from "./namespace-access.js";
import { principalKey, type Principal, type RateLimit } from "./principal.js";
import type { RequestLimiter } from "./rate-limiter.js";

/** Response header on RESOURCE_EXHAUSTED from the rate limit: milliseconds until the key has a token again. */
export const RETRY_AFTER_MS_HEADER = "retry-after-ms";

/** What the access interceptor checks against. */
export interface AccessInterceptorOptions {
  readonly keys: KeyRing;
  readonly limiter: RequestLimiter;
  /** The limit of keys that set none of their own. */
  readonly defaultRateLimit: RateLimit;
}

/**
 * The two UNAUTHENTICATED answers, made once: a keyless flood is refused by
 * the thousand, and a fresh error's stack trace each time would be most of
 * what a refusal costs. The messages never hint at which keys exist.
 */
const MISSING_KEY = new ConnectError("missing API key: send the header authorization: Bearer <key>", Code.Unauthenticated);
const UNKNOWN_KEY = new ConnectError("unknown API key", Code.Unauthenticated);

/** The caller's principal, or the UNAUTHENTICATED error to answer with. */
export function principalOrRefusal(keys: KeyRing, header: string | null | undefined): Principal | ConnectError {
  const token = bearerToken(header);
  if (token === undefined) return MISSING_KEY;
  return keys.authenticate(token) ?? UNKNOWN_KEY;
}

/** The caller's principal, or UNAUTHENTICATED. */
export function authenticate(keys: KeyRing, header: string | null | undefined): Principal {
  const principal = principalOrRefusal(keys, header);
  if (principal instanceof ConnectError) throw principal;
  return principal;
}

/**
 * Authenticates a call from its authorization header and takes a token from
 * its key's rate limit; returns the caller, or throws UNAUTHENTICATED, or
 * RESOURCE_EXHAUSTED with a retry-after-ms header. Needs only headers, so the
 * HTTP edge runs it before reading a body (see http-access.ts).
 */
export function admitCall(options: AccessInterceptorOptions, header: string | null | undefined): Principal {
  const principal = principalOrRefusal(options.keys, header);
  if (principal instanceof ConnectError) throw principal;
  const limit = principal.rateLimit ?? options.defaultRateLimit;
  const decision = options.limiter.take(principal.keyId, limit);
  if (!decision.allowed) {
    throw new ConnectError(
      `rate limit of ${limit.requestsPerSecond} requests/s (burst ${limit.burst}) exceeded for API key "${principal.keyId}"; retry in ${decision.retryAfterMs} ms`,
      Code.ResourceExhausted,
      { [RETRY_AFTER_MS_HEADER]: String(decision.retryAfterMs) },
    );
  }
  return principal;
}

/**
 * Guards SemanticCacheService on every protocol: the bearer key must be
 * known (UNAUTHENTICATED), within its request rate (RESOURCE_EXHAUSTED with
 * a retry-after-ms header), and allowed the method and namespace
 * (PERMISSION_DENIED); an empty namespace becomes the key's default. Health
 * and reflection stay open: load balancers probe them, and they reveal
 * nothing but the public API schema.
 *
 * The HTTP edge normally did the first two from the headers, before the body
 * was read (http-access.ts): then the call carries its principal, or the
 * edge's refusal, which is thrown here so the call is logged as refused. A
 * call that did not come through the edge is authenticated here.
 */
export function accessInterceptor(options: AccessInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName !== SemanticCacheService.typeName) return next(req);
    const refusal = req.contextValues.get(edgeRefusalKey);
    if (refusal !== undefined) throw refusal;
    let principal = req.contextValues.get(principalKey);
    if (principal === undefined) {
      principal = admitCall(options, req.header.get("authorization"));
      req.contextValues.set(principalKey, principal);
    }
    const caller = principal;
    const method = req.method.name;
    if (!req.stream) {
      authorizeMessage(caller, method, req.message);
      return next(req);
    }
    return next({ ...req, message: authorizeEach(req.message, (message) => authorizeMessage(caller, method, message)) });
  };
}

async function* authorizeEach<T>(messages: AsyncIterable<T>, check: (message: T) => void): AsyncIterable<T> {
  for await (const message of messages) {
    check(message);
    yield message;
  }
}
