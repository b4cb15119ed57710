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

/** The API keys in force and the rate limits they are counted against (the server's AccessControl). */
export interface CallerAccess {
  readonly keys: KeyRing;
  /** Takes one request from the key's rate limit, or throws RESOURCE_EXHAUSTED. */
  takeRequest(principal: Principal): void;
}

/**
 * The caller of a request with `authorization` header and requested
 * namespace (already validated): authenticated, counted against its key's
 * rate limit, and authorised, in that order, as the RPCs' access check does.
 * Throws unauthenticated / resource_exhausted / permission_denied (as
 * ConnectErrors of the auth layer; see as-semcache-error.ts).
 */
export function callerOf(access: CallerAccess | undefined, authorization: string | undefined, namespace: string | undefined): Caller {
  if (access === undefined) return { principal: undefined, namespace: namespace ?? DEFAULT_NAMESPACE };
  const principal = authenticate(access.keys, authorization);
  access.takeRequest(principal);
  // The same check an Ask gets, on an Ask-shaped message: one rule for both doors.
  const ask = create(AskRequestSchema, { scope: create(ScopeSchema, { namespace: namespace ?? "" }) });
  authorizeMessage(principal, "Ask", ask);
  return { principal, namespace: ask.scope?.namespace ?? DEFAULT_NAMESPACE };
}
