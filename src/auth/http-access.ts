import type { ServerResponse } from "node:http";
import { ConnectError } from "@connectrpc/connect";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import { authenticate } from "./access-interceptor.js";
import type { KeyRing } from "./key-ring.js";
import type { Role } from "./principal.js";

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
