/**
 * What similarity thresholds a caller may ask for. When a similarity meets
 * one is decided in one place for every layer, stores included:
 * `meetsThreshold` in ../store/similarity.ts.
 */
import { InvalidInputError } from "./errors.js";

/** Checks a requested similarity threshold: a number in (0, 1]. `field` names it in the error. */
export function checkThreshold(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    throw new InvalidInputError(field, `must be a number in (0, 1] (got ${value})`);
  }
}
