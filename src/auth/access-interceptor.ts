import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SemanticCacheService } from "../gen/semcache/v1/semantic_cache_pb.js";
import { bearerToken } from "./bearer.js";
import type { KeyRing } from "./key-ring.js";
import { authorizeMessage } from "./namespace-access.js";
import { principalKey, type Principal, type RateLimit } from "./principal.js";
import type { RateLimiter } from "./rate-limiter.js";

/** Response header on RESOURCE_EXHAUSTED from the rate limit: milliseconds until the key has a token again. */
export const RETRY_AFTER_MS_HEADER = "retry-after-ms";

/** What the access interceptor checks against. */
export interface AccessInterceptorOptions {
  readonly keys: KeyRing;
  readonly limiter: RateLimiter;
  /** The limit of keys that set none of their own. */
  readonly defaultRateLimit: RateLimit;
}

/** The caller's principal, or UNAUTHENTICATED. The messages never hint at which keys exist. */
export function authenticate(keys: KeyRing, header: string | null | undefined): Principal {
  const token = bearerToken(header);
  if (token === undefined) {
    throw new ConnectError("missing API key: send the header authorization: Bearer <key>", Code.Unauthenticated);
  }
  const principal = keys.authenticate(token);
  if (principal === undefined) throw new ConnectError("unknown API key", Code.Unauthenticated);
  return principal;
}

/** Takes one request from the key's rate limit, or throws RESOURCE_EXHAUSTED with a retry-after-ms header. */
export function takeRequest(options: Pick<AccessInterceptorOptions, "limiter" | "defaultRateLimit">, principal: Principal): void {
  const limit = principal.rateLimit ?? options.defaultRateLimit;
  const decision = options.limiter.take(principal.keyId, limit);
  if (!decision.allowed) {
    throw new ConnectError(
      `rate limit of ${limit.requestsPerSecond} requests/s (burst ${limit.burst}) exceeded for API key "${principal.keyId}"; retry in ${decision.retryAfterMs} ms`,
      Code.ResourceExhausted,
      { [RETRY_AFTER_MS_HEADER]: String(decision.retryAfterMs) },
    );
  }
}

/**
 * Guards SemanticCacheService on every protocol: the bearer key must be
 * known (UNAUTHENTICATED), within its request rate (RESOURCE_EXHAUSTED with
 * a retry-after-ms header), and allowed the method and namespace
 * (PERMISSION_DENIED); an empty namespace becomes the key's default. Health
 * and reflection stay open: load balancers probe them, and they reveal
 * nothing but the public API schema.
 */
export function accessInterceptor(options: AccessInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName !== SemanticCacheService.typeName) return next(req);
    const principal = authenticate(options.keys, req.header.get("authorization"));
    req.contextValues.set(principalKey, principal);
    takeRequest(options, principal);
    const method = req.method.name;
    if (!req.stream) {
      authorizeMessage(principal, method, req.message);
      return next(req);
    }
    return next({ ...req, message: authorizeEach(req.message, (message) => authorizeMessage(principal, method, message)) });
  };
}

async function* authorizeEach<T>(messages: AsyncIterable<T>, check: (message: T) => void): AsyncIterable<T> {
  for await (const message of messages) {
    check(message);
    yield message;
  }
}
