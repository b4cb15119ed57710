/**
 * The pooled prior: what a namespace's observations say about how answers
 * hold up as the similarity drops, used as the starting point (the prior) of
 * every entry in it. A new entry borrows its namespace's curve instead of
 * starting from nothing, and a namespace with no evidence at all starts from
 * {@link CAUTIOUS_PRIOR}, under which nothing semantic is served on the prior
 * alone: new entries start cautious, not reckless.
 *
 * Why per namespace and not per scope key: scope keys split by model, params
 * and, for conversations, by the conversation itself, so most would never
 * gather evidence; how similarity relates to correctness is a property of the
 * embedding model and the kind of traffic, which a namespace holds. Each
 * entry's own observations then carry what is particular to it.
 *
 * Kept in memory, bounded: at most `maxPools` namespaces (least recently
 * used dropped first) and `maxEntriesPerPool` entries per namespace, each
 * with its observations (the store keeps at most 64 per entry). It is fed
 * from two sides: observations as they are recorded (explorations,
 * feedback), and the observations every candidate entry carries from the
 * store, so a restarted server relearns its pools from the entries it
 * meets. Losing a pool only makes the namespace cautious again.
 */
import { MAX_OBSERVATIONS_PER_ENTRY, type Observation } from "../store/cache-store.js";
import { fitPosterior, type Gaussian2, type LabelledPoint } from "./logistic.js";

/**
 * The prior of a namespace without evidence: P(right) is even at similarity
 * 0.90 and about 0.88 at 1.0, with wide uncertainty (σ 1.5 on the log-odds
 * at 0.90, σ 15 on the slope), so its upper bound on P(wrong) stays far
 * above any sensible budget until observations come in.
 */
export const CAUTIOUS_PRIOR: Gaussian2 = {
  mean: [0, 20],
  cov: [
    [1.5 ** 2, 0],
    [0, 15 ** 2],
  ],
};

/** Bounds of {@link PooledPriors}. */
export interface PooledPriorLimits {
  /** Namespaces kept; default 256. */
  readonly maxPools?: number;
  /** Entries kept per namespace; default 512. */
  readonly maxEntriesPerPool?: number;
}

interface Pool {
  /** Entry id → its observations, oldest first; Map order is least recently touched first. */
  readonly entries: Map<string, readonly Observation[]>;
  /** The fitted prior, until the pool changes. */
  fitted: Gaussian2 | undefined;
}

/** The pooled priors of every namespace seen lately. */
export class PooledPriors {
  private readonly pools = new Map<string, Pool>();
  private readonly maxPools: number;
  private readonly maxEntriesPerPool: number;

  constructor(
    limits: PooledPriorLimits = {},
    private readonly base: Gaussian2 = CAUTIOUS_PRIOR,
  ) {
    this.maxPools = limits.maxPools ?? 256;
    this.maxEntriesPerPool = limits.maxEntriesPerPool ?? 512;
  }

  /**
   * Takes in an entry's observations as the store holds them, merged with
   * any the pool already has for it (one just recorded may not have reached
   * the copy a concurrent search read).
   */
  absorb(pool: string, entryId: string, observations: readonly Observation[]): void {
    const p = this.pool(pool);
    const known = p.entries.get(entryId);
    if (known === undefined) {
      if (observations.length > 0) this.set(p, entryId, observations.slice(-MAX_OBSERVATIONS_PER_ENTRY));
      return;
    }
    const merged = mergeObservations(known, observations);
    if (merged.length === known.length) touch(p.entries, entryId, known);
    else this.set(p, entryId, merged);
  }

  /** Adds one new observation of an entry. */
  add(pool: string, entryId: string, observation: Observation): void {
    const p = this.pool(pool);
    const known = p.entries.get(entryId) ?? [];
    this.set(p, entryId, [...known, observation].slice(-MAX_OBSERVATIONS_PER_ENTRY));
  }

  /** The namespace's pooled posterior (the cautious prior when it has no evidence). */
  prior(pool: string): Gaussian2 {
    const p = this.pools.get(pool);
    if (p === undefined) return this.base;
    if (p.fitted === undefined) {
      const points: LabelledPoint[] = [];
      for (const observations of p.entries.values()) points.push(...observations);
      p.fitted = fitPosterior(points, this.base);
    }
    return p.fitted;
  }

  /** Number of observations a namespace's pool holds. */
  size(pool: string): number {
    let n = 0;
    for (const observations of this.pools.get(pool)?.entries.values() ?? []) n += observations.length;
    return n;
  }

  /** Drops one namespace's pool (its entries were flushed), or every pool. */
  forget(pool?: string): void {
    if (pool === undefined) this.pools.clear();
    else this.pools.delete(pool);
  }

  private pool(name: string): Pool {
    let p = this.pools.get(name);
    if (p === undefined) {
      p = { entries: new Map(), fitted: undefined };
      this.pools.set(name, p);
      if (this.pools.size > this.maxPools) this.pools.delete(this.pools.keys().next().value!);
    } else {
      touch(this.pools, name, p);
    }
    return p;
  }

  private set(p: Pool, entryId: string, observations: readonly Observation[]): void {
    touch(p.entries, entryId, observations);
    if (p.entries.size > this.maxEntriesPerPool) p.entries.delete(p.entries.keys().next().value!);
    p.fitted = undefined;
  }
}

/** Moves a key to the most recently used end of a Map. */
function touch<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
}

/** The union of two observation lists (same time, outcome and similarity to 4 places: one observation, whatever precision a store keeps), oldest first, bounded. */
function mergeObservations(a: readonly Observation[], b: readonly Observation[]): readonly Observation[] {
  const byKey = new Map<string, Observation>();
  for (const o of [...a, ...b]) byKey.set(`${o.atMs}|${o.similarity.toFixed(4)}|${o.correct}`, o);
  return [...byKey.values()].sort((x, y) => x.atMs - y.atMs).slice(-MAX_OBSERVATIONS_PER_ENTRY);
}
