import { createHash } from "node:crypto";
import type { EntryScope, NewEntry } from "../../../src/store/cache-store.js";

/** Dimension of every test vector (that of all-MiniLM-L6-v2). */
export const DIM = 384;

/**
 * The unit vector cos(angle)·e[a] + sin(angle)·e[b]: its cosine similarity to
 * e[a] is exactly cos(angle), so tests know the similarity order in advance.
 */
export function rotated(angle: number, a = 0, b = 1): Float32Array {
  const v = new Float32Array(DIM);
  v[a] = Math.cos(angle);
  v[b] = Math.sin(angle);
  return v;
}

/** A deterministic pseudo-random unit vector of `dim` components (mulberry32 seeded by `seed`). */
export function randomUnit(seed: number, dim = DIM): Float32Array {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    const x = next() - 0.5;
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) / norm;
  return v;
}

function hex(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/** A scope with a hex scope key derived from its parts, like the real ones. */
export function scopeOf(namespace: string, model = "gpt-test", params: Record<string, string> = {}): EntryScope {
  return { namespace, model, params, scopeKey: hex(namespace, model, JSON.stringify(params)).slice(0, 32) };
}

/** An entry whose id derives from scope key and prompt, like the real ones. */
export function entryOf(
  scope: EntryScope,
  prompt: string,
  vector: Float32Array,
  extra: Partial<Omit<NewEntry, "id" | "scope" | "prompt" | "vector">> = {},
): NewEntry {
  return {
    id: hex(scope.scopeKey, prompt),
    scope,
    prompt,
    response: extra.response ?? `answer to ${prompt}`,
    createdAtMs: extra.createdAtMs ?? Date.now(),
    expiresAtMs: extra.expiresAtMs ?? 0,
    metadata: extra.metadata ?? {},
    vector,
  };
}

/**
 * A unit vector at cosine ≈ `cosine` from the unit vector `base`: `base` plus
 * deterministic Gaussian-like noise (seeded), renormalised. Clusters of such
 * vectors are what makes an approximate index miss a true best.
 */
export function perturbed(base: Float32Array, cosine: number, seed: number): Float32Array {
  const noise = randomUnit(seed);
  // randomUnit is uniform on the sphere: each component has variance 1/DIM,
  // so scaling it by tan(acos(cosine)) puts the sum at that angle from base.
  const scale = Math.tan(Math.acos(cosine));
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    const x = (base[i] as number) + scale * (noise[i] as number);
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIM; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** Cosine similarity of two unit vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] as number) * (b[i] as number);
  return dot;
}
