import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CacheEntrySchema, ScopeSchema, type CacheEntry, type Scope } from "../../gen/semcache/v1/semantic_cache_pb.js";
import type { ScopeInput } from "../../cache/scope.js";
import type { EntryScope, StoredEntry } from "../../store/cache-store.js";

/** A request's scope in the core's terms (an unset scope is the default scope). */
export function scopeFromProto(scope: Scope | undefined): ScopeInput {
  return scope === undefined ? {} : { namespace: scope.namespace, model: scope.model, params: scope.params };
}

/** An entry's scope on the wire. */
export function scopeToProto(scope: EntryScope): Scope {
  return create(ScopeSchema, { namespace: scope.namespace, model: scope.model, params: { ...scope.params } });
}

/** An expiry on the wire: unset when the entry never expires. */
export function expiryToProto(expiresAtMs: number): Timestamp | undefined {
  return expiresAtMs === 0 ? undefined : timestampFromMs(expiresAtMs);
}

/**
 * A stored entry on the wire. `learnedBoundary` is the cache's
 * (SemanticCache.learnedBoundary); 0 when not given.
 */
export function entryToProto(entry: StoredEntry, learnedBoundary = 0): CacheEntry {
  return create(CacheEntrySchema, {
    id: entry.id,
    prompt: entry.prompt,
    response: entry.response,
    scope: scopeToProto(entry.scope),
    createdAt: timestampFromMs(entry.createdAtMs),
    expiresAt: expiryToProto(entry.expiresAtMs),
    hits: BigInt(entry.hits),
    metadata: { ...entry.metadata },
    observations: entry.observations.length,
    learnedBoundary,
  });
}
