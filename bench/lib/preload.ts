/**
 * Fills a store with N entries before the server starts, through the
 * store's batch `put` (not the API: embedding 100k prompts with the real
 * model would take longer than the whole benchmark).
 *
 * Vectors: the first B entries are B distinct prompts embedded by the
 * fixture model itself. Entry i >= B copies base prompt i mod B with a
 * letters-only suffix ("... (variant qx)") and a perturbed vector: the base
 * vector plus Gaussian noise, renormalised, at a cosine drawn uniformly in
 * [0.75, 0.97] from its base. So the store holds clusters of near
 * neighbours around real embeddings, as a cache of many similar questions
 * would, and every lookup really searches an index of N vectors.
 */
import { normalizePrompt } from "../../src/cache/normalize.js";
import { entryId, resolveScope } from "../../src/cache/scope.js";
import type { CacheStore, IndexParams, NewEntry } from "../../src/store/cache-store.js";
import { openEmbeddedStore } from "../../src/store/embedded/index.js";
import { openRedisStore } from "../../src/store/redis/index.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import { gaussian, letters, rng, spreadPrompts } from "./prompts.js";

/** The scope every benchmark entry and lookup uses. */
export const BENCH_SCOPE = { namespace: "bench" } as const;

export interface PreloadTarget {
  readonly dataDir?: string;
  readonly redisUrl?: string;
  readonly redisKeyPrefix?: string;
  readonly modelId: string;
  readonly dimension: number;
  readonly index: IndexParams;
}

export function openTarget(target: PreloadTarget): Promise<CacheStore> {
  if (target.redisUrl !== undefined) {
    return openRedisStore({
      url: target.redisUrl,
      keyPrefix: target.redisKeyPrefix ?? "semcache-bench:",
      modelId: target.modelId,
      dimension: target.dimension,
      index: target.index,
      commandTimeoutMs: 30_000,
    });
  }
  return openEmbeddedStore({
    dataDir: target.dataDir!,
    modelId: target.modelId,
    dimension: target.dimension,
    index: target.index,
    purgeIntervalMs: 0,
    // Snapshots saved at close, so the server loads the graph instead of rebuilding it.
    snapshots: true,
  });
}

/** A vector at cosine ~`cosine` from the unit vector `base`. */
function perturb(base: Float32Array, cosine: number, random: () => number): Float32Array {
  const d = base.length;
  const sigma = Math.sqrt((1 / (cosine * cosine) - 1) / d);
  const out = new Float32Array(d);
  let norm = 0;
  for (let k = 0; k < d; k++) {
    const v = base[k]! + sigma * gaussian(random);
    out[k] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  for (let k = 0; k < d; k++) out[k] = out[k]! / norm;
  return out;
}

/** The prompt of entry i. */
export function entryPrompt(basePrompts: readonly string[], i: number): string {
  const base = basePrompts[i % basePrompts.length]!;
  return i < basePrompts.length ? base : `${base} (variant ${letters(Math.floor(i / basePrompts.length))})`;
}

/** Writes entries 0..n-1; resolves with the milliseconds it took. */
export async function preload(
  target: PreloadTarget,
  basePrompts: readonly string[],
  baseVectors: readonly Float32Array[],
  n: number,
  seed = 42,
): Promise<{ millis: number; putMillis: number; closeMillis: number }> {
  const started = performance.now();
  const store = await openTarget(target);
  const scope = resolveScope(BENCH_SCOPE);
  const random = rng(seed);
  const now = Date.now();
  const BATCH = 2000;
  try {
    for (let from = 0; from < n; from += BATCH) {
      const batch: NewEntry[] = [];
      for (let i = from; i < Math.min(n, from + BATCH); i++) {
        const prompt = entryPrompt(basePrompts, i);
        const baseVector = baseVectors[i % baseVectors.length]!;
        const vector = i < basePrompts.length ? baseVector : perturb(baseVector, 0.75 + 0.22 * random(), random);
        batch.push({
          id: entryId(scope.scopeKey, normalizePrompt(prompt)),
          scope,
          prompt,
          response: `answer ${i}`,
          createdAtMs: now,
          expiresAtMs: 0,
          metadata: {},
          vector,
        });
      }
      await store.put(batch);
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  const putMillis = performance.now() - started;
  await store.close();
  return { millis: performance.now() - started, putMillis, closeMillis: performance.now() - started - putMillis };
}

/** Deletes everything a Redis run wrote under its key prefix. */
export async function cleanRedis(target: PreloadTarget): Promise<void> {
  if (target.redisUrl === undefined) return;
  const store = await openTarget(target);
  try {
    await store.flushAll();
  } finally {
    await store.close();
  }
}

/** The first `n` prompts of spreadPrompts and their vectors, embedded by the model in this process (before any server runs). */
export async function embedBasePrompts(
  modelDir: string,
  n: number,
  threads: number,
): Promise<{ basePrompts: string[]; baseVectors: Float32Array[]; modelId: string; dimension: number }> {
  const embedder = await loadOnnxEmbedder({ modelDir, threads });
  try {
    const basePrompts = spreadPrompts(n);
    const baseVectors: Float32Array[] = [];
    for (let from = 0; from < basePrompts.length; from += 256) {
      baseVectors.push(...(await Promise.all(basePrompts.slice(from, from + 256).map((p) => embedder.embed(p)))));
    }
    return { basePrompts, baseVectors, modelId: embedder.modelId, dimension: embedder.dimension };
  } finally {
    await embedder.close();
  }
}
