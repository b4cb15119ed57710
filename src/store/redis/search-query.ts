/**
 * FT.SEARCH argument lists. Every query is DIALECT 2 (needed for KNN with
 * PARAMS and supported from RediSearch 2.4), and every scope value goes
 * through TAG escaping.
 */
import { READ_FIELDS, FIELD } from "./entry-codec.js";
import { tagClause } from "./tag-escape.js";

/** The name the KNN clause gives each result's distance. */
export const DISTANCE_FIELD = "dist";
/** The PARAMS name of the query vector. */
export const VECTOR_PARAM = "v";

/** What a nearest-neighbour query needs. */
export interface KnnQuery {
  readonly index: string;
  readonly namespace: string;
  readonly scopeKey: string;
  /** The query vector as a FLOAT32 blob. */
  readonly vector: Buffer;
  /** Neighbours to return, nearest first (LIMIT). */
  readonly k: number;
  /**
   * Nearest neighbours the KNN step computes (KNN K; at least `k`, default
   * `k`): asking the HNSW graph for more widens its search beam, which is
   * what finds a true best a narrow beam walks past.
   */
  readonly candidates?: number;
  /**
   * Compute the distance to every entry of the scope (HYBRID_POLICY
   * ADHOC_BF, RediSearch 2.6+) instead of walking the graph: exact, and
   * cheap for a small scope.
   */
  readonly exact?: boolean;
  /** The HNSW search beam for this query (EF_RUNTIME); default: the index's own. */
  readonly efRuntime?: number;
}

/**
 * How many neighbours to ask for when `k` are wanted: a few more, because
 * entries past their expiry (not yet removed by Redis) are dropped after the
 * search, and the KNN clause cannot skip them itself.
 */
export function overfetch(k: number): number {
  return k + Math.min(16, Math.max(2, k));
}

function returnClause(extra: readonly string[] = []): string[] {
  const fields = [...READ_FIELDS, ...extra];
  return ["RETURN", String(fields.length), ...fields];
}

/**
 * The scope's pre-filtered KNN search, nearest first:
 * `FT.SEARCH idx "(@ns:{..} @scope:{..})=>[KNN k @vec $v AS dist]" PARAMS 2 v <blob> SORTBY dist ...`.
 * The filter runs before the KNN step, so only the scope's vectors compete.
 */
export function buildKnnSearchArgs(query: KnnQuery): (string | Buffer)[] {
  if (!Number.isSafeInteger(query.k) || query.k < 1) throw new RangeError(`k must be at least 1 (got ${query.k})`);
  const candidates = query.candidates ?? query.k;
  if (!Number.isSafeInteger(candidates) || candidates < query.k) {
    throw new RangeError(`candidates must be a whole number of at least k (got ${candidates})`);
  }
  const policy = query.exact === true ? " HYBRID_POLICY ADHOC_BF" : "";
  if (query.efRuntime !== undefined && (!Number.isSafeInteger(query.efRuntime) || query.efRuntime < 1)) {
    throw new RangeError(`efRuntime must be a whole number of at least 1 (got ${query.efRuntime})`);
  }
  const ef = query.efRuntime === undefined ? "" : ` EF_RUNTIME ${query.efRuntime}`;
  const knn = `(${scopeFilter(query.namespace, query.scopeKey)})=>[KNN ${candidates} @${FIELD.vector} $${VECTOR_PARAM}${policy}${ef} AS ${DISTANCE_FIELD}]`;
  return [
    "FT.SEARCH", query.index, knn,
    "PARAMS", "2", VECTOR_PARAM, query.vector,
    "SORTBY", DISTANCE_FIELD, "ASC",
    ...returnClause([DISTANCE_FIELD]),
    "LIMIT", "0", String(query.k),
    "DIALECT", "2",
  ];
}

function scopeFilter(namespace: string, scopeKey: string): string {
  return `${tagClause(FIELD.namespace, namespace)} ${tagClause(FIELD.scopeKey, scopeKey)}`;
}

/** Counts one scope's entries without fetching any (the reply's total). */
export function buildScopeCountArgs(index: string, namespace: string, scopeKey: string): string[] {
  return ["FT.SEARCH", index, scopeFilter(namespace, scopeKey), "LIMIT", "0", "0", "DIALECT", "2"];
}

/** A namespace's entries, newest first. */
export function buildRecentArgs(index: string, namespace: string, limit: number): string[] {
  return [
    "FT.SEARCH", index, tagClause(FIELD.namespace, namespace),
    "SORTBY", FIELD.created, "DESC",
    ...returnClause(),
    "LIMIT", "0", String(limit),
    "DIALECT", "2",
  ];
}

/** Counts a namespace's entries without fetching any (the reply's total). */
export function buildNamespaceCountArgs(index: string, namespace: string): string[] {
  return ["FT.SEARCH", index, tagClause(FIELD.namespace, namespace), "LIMIT", "0", "0", "DIALECT", "2"];
}
