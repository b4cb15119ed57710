import type { ServerResponse } from "node:http";
import { ConnectError, createContextValues } from "@connectrpc/connect";
import { SemanticCacheService } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { Admit } from "../server/http/edge-options.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import { admitCall, authenticate, type AccessInterceptorOptions } from "./access-interceptor.js";
import type { KeyRing } from "./key-ring.js";
import { principalKey, type Role } from "./principal.js";

/**
 * Admits SemanticCacheService calls at the HTTP edge, from the headers alone:
 * a missing or unknown key (UNAUTHENTICATED) or a key over its rate
 * (RESOURCE_EXHAUSTED) is refused before a byte of the body is read, so a
 * caller without a key cannot make the server buffer or parse anything.
 * An admitted call carries its principal (principalKey), which the access
 * interceptor then checks against the method and namespace. Health,
 * reflection and plain routes are let through (the routes check their own).
 */
export function admitKeyedCalls(options: AccessInterceptorOptions): Admit {
  return (req, rpc) => {
    if (rpc?.service !== SemanticCacheService.typeName) return {};
    try {
      // A repeated header reaches here as a list; joined, it is no bearer token, as connect's Headers would see it.
      const header: unknown = req.headers.authorization;
      const principal = admitCall(options, Array.isArray(header) ? header.join(", ") : (header as string | undefined));
      return { contextValues: createContextValues().set(principalKey, principal) };
    } catch (error) {
      return { refusal: ConnectError.from(error) };
    }
  };
}

/**
 * Checks the bearer key of a plain HTTP request (such as GET /metrics)
 * against `roles`. Answers 401 (with `www-authenticate: Bearer`) for a
 * missing or unknown key and 403 for a key of another role, and returns
 * true when it did; false lets the request through.
 */
export function rejectHttp(keys: KeyRing, roles: readonly Role[], req: AnyRequest, res: AnyResponse): boolean {
  const header = req.headers.authorization;
  let status: number;
  let message: string;
  try {
    const principal = authenticate(keys, header);
    if (roles.includes(principal.role)) return false;
    status = 403;
    message = `API key "${principal.keyId}" is a ${principal.role} key; this needs ${roles.join(" or ")}`;
  } catch (error) {
    status = 401;
    message = ConnectError.from(error).rawMessage;
  }
  const body = JSON.stringify({ code: status === 401 ? "unauthenticated" : "permission_denied", message });
  (res as ServerResponse).writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(status === 401 ? { "www-authenticate": 'Bearer realm="semcache"' } : {}),
  });
  res.end(body);
  return true;
}
