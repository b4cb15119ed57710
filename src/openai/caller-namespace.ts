/**
 * Who may ask, and in which namespace. With API keys on, the bearer token is
 * a semcache key checked exactly as for Ask (same roles, same namespace
 * grants; an unset namespace is the key's default), and it is never sent
 * upstream. Without keys, the `x-semcache-namespace` header or "default".
 */
import { create } from "@bufbuild/protobuf";
import { authenticate, authorizeMessage, type KeyRing } from "../auth/index.js";
import { DEFAULT_NAMESPACE } from "../cache/scope.js";
import { AskRequestSchema, ScopeSchema } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { Principal } from "../auth/index.js";

/** Whom a request is from; undefined principal when keys are off. */
export interface Caller {
  readonly principal: Principal | undefined;
  readonly namespace: string;
}

/**
 * The caller of a request with `authorization` header and requested
 * namespace (already validated). Throws unauthenticated / permission_denied
 * (as ConnectErrors of the auth layer; see as-semcache-error.ts).
 */
export function callerOf(keys: KeyRing | undefined, authorization: string | undefined, namespace: string | undefined): Caller {
  if (keys === undefined) return { principal: undefined, namespace: namespace ?? DEFAULT_NAMESPACE };
  const principal = authenticate(keys, authorization);
  // The same check an Ask gets, on an Ask-shaped message: one rule for both doors.
  const ask = create(AskRequestSchema, { scope: create(ScopeSchema, { namespace: namespace ?? "" }) });
  authorizeMessage(principal, "Ask", ask);
  return { principal, namespace: ask.scope?.namespace ?? DEFAULT_NAMESPACE };
}
