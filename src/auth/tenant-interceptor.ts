/**
 * The innermost interceptor: a call that reaches it has been admitted (its
 * key known, within its rate, and, for unary calls, its namespace granted).
 * It marks the call as admitted, for the metrics, and runs the rest of the
 * call, response stream included, as its tenant (see ../tenancy/tenant-context.ts).
 */
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { principalKey } from "./principal.js";
import { DEFAULT_NAMESPACE } from "../cache/scope.js";
import { iterateAsCurrentTenant, NO_TENANT, runAsTenant } from "../tenancy/tenant-context.js";

/**
 * True once a call got past access control. A call refused before (no key,
 * an unknown key, over its rate, a namespace not granted) only claimed its
 * namespace, so nothing may be kept or labelled under that name.
 */
export const admittedKey = createContextKey<boolean>(false, { description: "semcache call admitted by access control" });

/** The namespace a request message is about: its scope's, or its own field's (Stats, ListEntries, Flush). */
function namespaceOf(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const { scope, namespace } = message as { scope?: { namespace?: unknown }; namespace?: unknown };
  const sent = scope !== undefined ? scope.namespace : namespace;
  if (typeof sent !== "string") return undefined;
  return sent === "" ? DEFAULT_NAMESPACE : sent;
}

/** Marks admitted calls and runs them as their tenant: the API key's id when keys are on, else the namespace. Goes last. */
export function tenantInterceptor(): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(admittedKey, true);
    // Read when asked, not now: access control may fill in an empty namespace, and a stream's message comes later.
    let message: unknown = req.stream ? undefined : req.message;
    let tenant: string | undefined;
    const resolve = (): string => {
      if (tenant !== undefined) return tenant;
      const found = req.contextValues.get(principalKey)?.keyId ?? namespaceOf(message);
      if (found === undefined) return NO_TENANT;
      tenant = found;
      return tenant;
    };
    return runAsTenant(resolve, async () => {
      const res = req.stream ? await next({ ...req, message: see(req.message, (m) => (message ??= m)) }) : await next(req);
      return res.stream ? { ...res, message: iterateAsCurrentTenant(res.message) } : res;
    });
  };
}

async function* see<T>(source: AsyncIterable<T>, look: (item: T) => void): AsyncIterable<T> {
  for await (const item of source) {
    look(item);
    yield item;
  }
}
