import type { SemanticCache } from "../../cache/semantic-cache.js";
import { StoreUnavailableError, type CacheStore } from "../../store/cache-store.js";

/** Whatever answers a health ping: a store, or the cache in front of it. */
export type Pingable = Pick<CacheStore, "ping">;

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
export async function probeStore(store: Pingable, timeoutMs: number): Promise<boolean> {
  await withTimeout(store.ping(), timeoutMs);
  return true;
}

// What the last ping of each store found, for the synchronous /healthz.
const lastPing = new WeakMap<Pingable, { failed: boolean; atMs: number; pending: boolean }>();

/**
 * False once `store`'s ping has failed for good (a StoreUnavailableError
 * marked permanent: the embedded store's data directory is gone), for
 * checks that must answer at once (GET /healthz). A passing outage (Redis
 * away) does not count: the server still answers Ask from the LLM, and the
 * gRPC health service reports it. Starts a new ping when the last is older
 * than `maxAgeMs`, so the answer is at most that stale.
 */
export function storeAnswering(store: Pingable, maxAgeMs = 1_000, timeoutMs = 1_000): boolean {
  const now = Date.now();
  const last = lastPing.get(store) ?? { failed: false, atMs: 0, pending: false };
  lastPing.set(store, last);
  if (!last.pending && !last.failed && now - last.atMs >= maxAgeMs) {
    last.pending = true;
    probeStore(store, timeoutMs).then(
      () => Object.assign(last, { atMs: Date.now(), pending: false }),
      (error: unknown) =>
        Object.assign(last, { failed: error instanceof StoreUnavailableError && error.permanent, atMs: Date.now(), pending: false }),
    );
  }
  return !last.failed;
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
      return loaded !== undefined && (await probeStore(loaded, timeoutMs));
    },
  };
}
