import type { SemanticCache } from "../../cache/semantic-cache.js";
import type { CacheStore } from "../../store/cache-store.js";

/** What the health service asks to decide whether semcache can serve. */
export interface HealthSource {
  /** Whether the model is loaded and the store open. */
  ready(): boolean;
  /**
   * Whether the store answers right now (a lost Redis connection, say).
   * Called only while ready; resolves false or rejects when it does not.
   */
  probe?(): Promise<boolean>;
}

/** Resolves with `work`, or rejects after `ms`. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes a store with its `ping()` (Redis reachable; the embedded store's
 * data directory still there), within `timeoutMs`.
 */
export async function probeStore(store: CacheStore, timeoutMs: number): Promise<boolean> {
  await withTimeout(store.ping(), timeoutMs);
  return true;
}

/**
 * The health source of a server: ready once `cache()` stops throwing (the
 * model is loaded and the store open), and live while its store answers.
 */
export function cacheHealthSource(cache: () => SemanticCache, options: { probeTimeoutMs?: number } = {}): HealthSource {
  const timeoutMs = options.probeTimeoutMs ?? 1_000;
  const current = (): SemanticCache | undefined => {
    try {
      return cache();
    } catch {
      return undefined;
    }
  };
  return {
    ready: () => current() !== undefined,
    probe: async () => {
      const loaded = current();
      return loaded !== undefined && (await probeStore(loaded.backend, timeoutMs));
    },
  };
}
