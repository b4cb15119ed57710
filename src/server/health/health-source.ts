import type { SemanticCache } from "../../cache/semantic-cache.js";
import type { CacheStore } from "../../store/cache-store.js";

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

// What the last ping of each store (or cache in front of one) found: shared by every view of the
// store's health (/healthz, gRPC health, /metrics), so they never disagree
// for longer than one probe takes.
const lastPing = new WeakMap<Pingable, { ok: boolean; atMs: number; pending: boolean }>();

function record(store: Pingable): { ok: boolean; atMs: number; pending: boolean } {
  let last = lastPing.get(store);
  if (last === undefined) {
    last = { ok: true, atMs: 0, pending: false };
    lastPing.set(store, last);
  }
  return last;
}

/**
 * Probes a store with its `ping()` (Redis reachable and its index present;
 * the embedded store's data directory still there), within `timeoutMs`,
 * and records the outcome for {@link storeAnswering}. Rejects when the
 * store does not answer.
 */
export async function probeStore(store: Pingable, timeoutMs: number): Promise<boolean> {
  const last = record(store);
  try {
    await withTimeout(store.ping(), timeoutMs);
    Object.assign(last, { ok: true, atMs: Date.now() });
    return true;
  } catch (error) {
    Object.assign(last, { ok: false, atMs: Date.now() });
    throw error;
  }
}

/**
 * Whether `store` answered its last ping, for checks that must answer at
 * once (GET /healthz, the semcache_store_up gauge). False while Redis is
 * unreachable or its index cannot be restored, and for good once the
 * embedded store's data directory is gone: the gRPC health service says
 * NOT_SERVING at the same time. Starts a new ping when the last is older
 * than `maxAgeMs`, so the answer is at most that stale; true until the
 * first ping has answered.
 */
export function storeAnswering(store: Pingable, maxAgeMs = 1_000, timeoutMs = 1_000): boolean {
  const last = record(store);
  if (!last.pending && Date.now() - last.atMs >= maxAgeMs) {
    last.pending = true;
    probeStore(store, timeoutMs)
      .catch(() => undefined)
      .finally(() => {
        last.pending = false;
      });
  }
  return last.ok;
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
