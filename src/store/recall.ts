/**
 * How both stores make a semantic match the true best entry of its scope:
 * small scopes are searched exactly, larger ones through HNSW with a widened
 * candidate set that is then ranked by exact cosine.
 */

/**
 * Largest scope searched exactly (brute-force cosine over its vectors). Up
 * to here exact search is both right and cheap: SIMD brute force over 2,000
 * × 384 floats takes a fraction of a millisecond, well under the embedding
 * that precedes every search, and in the embedded store a flat array costs
 * only the vectors where HNSW adds its graph. Above it, exact search grows
 * linearly (about 10 ms per query at 100k), so HNSW takes over.
 */
export const DEFAULT_EXACT_SCOPE_LIMIT = 2000;

/**
 * How many candidates to ask an HNSW graph for when `k` are wanted: four
 * times `k`, and at least twice the search beam (ef). usearch and RediSearch
 * both search with a beam of max(ef, candidates asked), so asking for 2·ef
 * doubles it. Measured with bench/recall.ts (clusters of close 384-d
 * vectors, M 16, ef 64): recall@1 0.97 when asking for k, 1.00 at 10k with
 * this (README, Performance). Both indexes hold float32 vectors, so the
 * distances they return are exact cosines: sorting the candidates by them
 * is the exact re-ranking, with no vector read back.
 */
export function hnswCandidates(k: number, efSearch: number): number {
  return Math.max(k, 4 * k, 2 * efSearch);
}

/**
 * The neighbours worth reading, given best first: those at least `floor`
 * similar, or the nearest alone when none is, so a caller that misses still
 * learns how close the scope came. With no floor, all of them. Both stores
 * apply it (see {@link CacheStore.search}); the embedded store before it
 * reads any row, so a miss reads one row instead of k.
 */
export function fromFloor<T extends { readonly similarity: number }>(nearestFirst: readonly T[], floor: number | undefined): T[] {
  if (floor === undefined) return [...nearestFirst];
  const kept = nearestFirst.filter((n) => n.similarity >= floor);
  return kept.length > 0 ? kept : nearestFirst.slice(0, 1);
}
