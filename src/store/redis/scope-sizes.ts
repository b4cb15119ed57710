/**
 * Recent entry counts of scopes, so the Redis store can choose exact search
 * for small scopes without counting before every search. A count is only a
 * hint for that choice: a stale one costs a little speed (exact search on a
 * scope that has grown) or uses the widened HNSW search on one that has
 * shrunk, never a wrong answer beyond HNSW's own.
 */
export class ScopeSizes {
  // Map order is insertion order: the first key is the oldest, evicted first.
  private readonly sizes = new Map<string, { size: number; atMs: number }>();

  constructor(
    /** How long a count is trusted. */
    private readonly maxAgeMs = 30_000,
    /** Most scopes remembered. */
    private readonly maxScopes = 10_000,
  ) {}

  /** The remembered size of a scope, if fresh. */
  get(scopeKey: string, nowMs: number): number | undefined {
    const known = this.sizes.get(scopeKey);
    if (known === undefined || nowMs - known.atMs > this.maxAgeMs) return undefined;
    return known.size;
  }

  /** Remembers a freshly counted size. */
  set(scopeKey: string, size: number, nowMs: number): void {
    this.sizes.delete(scopeKey);
    this.sizes.set(scopeKey, { size, atMs: nowMs });
    if (this.sizes.size > this.maxScopes) {
      const oldest = this.sizes.keys().next().value;
      if (oldest !== undefined) this.sizes.delete(oldest);
    }
  }

  /** Counts a put into a remembered scope (a replace overcounts by one: harmless for a hint). */
  added(scopeKey: string): void {
    const known = this.sizes.get(scopeKey);
    if (known !== undefined) known.size += 1;
  }

  /** Forgets every size (after a flush). */
  clear(): void {
    this.sizes.clear();
  }
}
