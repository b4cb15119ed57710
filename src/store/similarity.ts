/**
 * When a similarity meets a threshold. One comparison for every place that
 * makes one: a store's search floor, the cache's semantic layer, verified
 * answers, Ask's near-duplicate calls in flight and the evaluation, so they
 * agree to the last bit. It lives here, below all of them, because the
 * stores apply it too (CacheStore.search's `floor`).
 */

// float32 on the wire turns 0.9 into 0.899999976; a hair of slack keeps a
// threshold of exactly 1 reachable for identical embeddings.
const SIMILARITY_EPSILON = 1e-6;

/** The least similarity that meets `threshold`: what a caller passes as CacheStore.search's floor. */
export function similarityFloor(threshold: number): number {
  return threshold - SIMILARITY_EPSILON;
}

/** Whether a match of `similarity` is close enough for `threshold`. */
export function meetsThreshold(similarity: number, threshold: number): boolean {
  return similarity >= similarityFloor(threshold);
}
