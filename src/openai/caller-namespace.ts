/**
 * Who may ask, and in which namespace. With API keys on, the bearer token is
 * a semcache key checked exactly as for Ask (same roles, same namespace
 * grants; an unset namespace is the key's default), and it is never sent
 * upstream. Without keys, the `x-semcache-namespace` header or "default".
 * Checked from the headers, before the body is read.
 */
import { create } from "@bufbuild/protobuf";
import { authorizeMessage, principalKey } from "../auth/index.js";
import { DEFAULT_NAMESPACE } from "../cache/scope.js";
import { AskRequestSchema, ScopeSchema, SemanticCacheService } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { Admit, RpcTarget } from "../server/http/edge-options.js";
import type { AnyRequest } from "../server/http/request-handler.js";
import type { Principal } from "../auth/index.js";

/** Whom a request is from; undefined principal when keys are off. */
export interface Caller {
  readonly principal: Principal | undefined;
  readonly namespace: string;
}

/** The server's access control, as far as the endpoint needs it: the edge's header-only admission of calls. */
export interface CallerAccess {
  readonly admit: Admit;
}

// The endpoint's calls are Asks to the access checks: same authentication, rate limit, roles and grants.
const AS_ASK: RpcTarget = { service: SemanticCacheService.typeName, method: "Ask" };

/**
 * The caller of a request, from its headers alone and the requested
 * namespace (already validated): authenticated and counted against its
 * key's rate limit by the same admission as an Ask's, then authorised for
 * the namespace as an Ask is. Throws unauthenticated / resource_exhausted /
 * permission_denied (ConnectErrors of the auth layer; see as-semcache-error.ts).
 */
export function callerOf(access: CallerAccess | undefined, req: AnyRequest, namespace: string | undefined): Caller {
  if (access === undefined) return { principal: undefined, namespace: namespace ?? DEFAULT_NAMESPACE };
  const admission = access.admit(req, AS_ASK);
  if (admission.refusal !== undefined) throw admission.refusal;
  const principal = admission.contextValues?.get(principalKey);
  if (principal === undefined) throw new Error("the access check admitted an Ask without its principal");
  const ask = create(AskRequestSchema, { scope: create(ScopeSchema, { namespace: namespace ?? "" }) });
  authorizeMessage(principal, "Ask", ask);
  return { principal, namespace: ask.scope?.namespace ?? DEFAULT_NAMESPACE };
}
