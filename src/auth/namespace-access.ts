import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidInputError } from "../cache/errors.js";
import { resolveNamespace } from "../cache/scope.js";
import {
  AskRequestSchema,
  AskStreamRequestSchema,
  FeedbackRequestSchema,
  FlushRequestSchema,
  ListEntriesRequestSchema,
  LookupRequestSchema,
  ScopeSchema,
  StatsRequestSchema,
  StoreRequestSchema,
} from "../gen/semcache/v1/semantic_cache_pb.js";
import type { Principal } from "./principal.js";

/**
 * The namespace a request is for, checked against the key: an empty one is
 * filled in with the key's default namespace (written back into the message,
 * so the handler serves exactly what was checked), and one the key does not
 * grant is PERMISSION_DENIED. The error names only the namespace the caller
 * sent, never anything about what exists in it or in others.
 */
function checkNamespace(principal: Principal, sent: string, field: string): string {
  let namespace: string;
  try {
    namespace = resolveNamespace(sent === "" ? principal.defaultNamespace : sent, field);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new ConnectError(error.message, Code.InvalidArgument);
    throw error;
  }
  if (!principal.namespaces.allows(namespace)) {
    throw new ConnectError(`API key "${principal.keyId}" may not use namespace ${JSON.stringify(namespace)}`, Code.PermissionDenied);
  }
  return namespace;
}

function requireAdmin(principal: Principal, what: string): void {
  if (principal.role !== "admin") {
    throw new ConnectError(`${what} needs an admin key; API key "${principal.keyId}" is a ${principal.role} key`, Code.PermissionDenied);
  }
}

/**
 * Checks one request message of SemanticCacheService against the caller's
 * key, and fills in its namespace where the request left it empty. Throws a
 * ConnectError (PERMISSION_DENIED, or INVALID_ARGUMENT for a malformed
 * namespace) when the call is not allowed.
 *
 * - Lookup, Store, Ask, AskStream, Feedback: `scope.namespace`.
 * - ListEntries: `namespace`.
 * - Stats: `namespace`; unset means every namespace, which needs an admin key
 *   (a user key's Stats without a namespace is for its default namespace).
 * - Flush: admin keys only.
 * - Anything else (a method added later and not listed here): admin keys only.
 */
export function authorizeMessage(principal: Principal, method: string, message: unknown): void {
  if (principal.role === "metrics") {
    throw new ConnectError(`API key "${principal.keyId}" is a metrics key: it may only read /metrics`, Code.PermissionDenied);
  }
  if (
    isMessage(message, LookupRequestSchema) || isMessage(message, StoreRequestSchema) || isMessage(message, AskRequestSchema) || isMessage(message, AskStreamRequestSchema) ||
    isMessage(message, FeedbackRequestSchema)
  ) {
    message.scope ??= create(ScopeSchema);
    const scope = message.scope;
    scope.namespace = checkNamespace(principal, scope.namespace, "scope.namespace");
  } else if (isMessage(message, ListEntriesRequestSchema)) {
    message.namespace = checkNamespace(principal, message.namespace, "namespace");
  } else if (isMessage(message, StatsRequestSchema)) {
    if (message.namespace === undefined && principal.role === "admin") return;
    message.namespace = checkNamespace(principal, message.namespace ?? "", "namespace");
  } else if (isMessage(message, FlushRequestSchema)) {
    requireAdmin(principal, "Flush");
  } else {
    requireAdmin(principal, method);
  }
}
