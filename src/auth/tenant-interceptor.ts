/**
 * The innermost interceptor: a call that reaches it has been admitted (its
 * key known, within its rate, and, for unary calls, its namespace granted).
 * It marks the call as admitted, for the metrics and the log line, and names
 * the tenant its work queues as (tenancy/tenant.ts): its key, when keys are on.
 */
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { tenantKey } from "../tenancy/tenant.js";
import { principalKey } from "./principal.js";

/**
 * True once a call got past access control. A call refused before (no key,
 * an unknown key, over its rate, a namespace not granted) only claimed its
 * namespace, so nothing may be kept or labelled under that name.
 */
export const admittedKey = createContextKey<boolean>(false, { description: "semcache call admitted by access control" });

/** Marks admitted calls and names their tenant. Goes last. */
export function tenantInterceptor(): Interceptor {
  return (next) => (req) => {
    req.contextValues.set(admittedKey, true);
    const keyId = req.contextValues.get(principalKey)?.keyId;
    if (keyId !== undefined) req.contextValues.set(tenantKey, keyId);
    return next(req);
  };
}
