/**
 * The similarity threshold: what values a caller may ask for, and when a
 * similarity meets one. Every place that compares a similarity with a
 * threshold (the cache's semantic layer, Ask's near-duplicate calls in
 * flight, the evaluation) uses `meetsThreshold`, so they agree to the last bit;
 * a store searching with `similarityFloor` as its floor makes the same cut.
 */
import { InvalidInputError } from "./errors.js";

// float32 on the wire turns 0.9 into 0.899999976; a hair of slack keeps a
// threshold of exactly 1 reachable for identical embeddings.
const SIMILARITY_EPSILON = 1e-6;

/** Whether a match of `similarity` is close enough for `threshold`. */
export function meetsThreshold(similarity: number, threshold: number): boolean {
  return similarity >= similarityFloor(threshold);
}

/** The least similarity that meets `threshold`; a store given it as CacheStore.search's floor compares the same way. */
export function similarityFloor(threshold: number): number {
  return threshold - SIMILARITY_EPSILON;
}

/** Checks a requested similarity threshold: a number in (0, 1]. `field` names it in the error. */
export function checkThreshold(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    throw new InvalidInputError(field, `must be a number in (0, 1] (got ${value})`);
  }
}
