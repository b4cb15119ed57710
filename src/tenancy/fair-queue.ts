/**
 * A queue shared fairly between tenants: deficit round robin (Shreedhar and
 * Varghese, 1995) over one FIFO per tenant. Each item has a cost (1 for an
 * LLM call, its token count for an embedding window); every round, each
 * tenant with work may take items worth up to `quantum` more than it has
 * taken, so a tenant with a thousand queued items and one with a single item
 * alternate, and a tenant of cheap items gets more of them per round than a
 * tenant of dear ones. Within one tenant the order stays first-come,
 * first-served.
 *
 * Memory is the queued items plus one small record per tenant that has any:
 * a tenant's record goes away with its last item, so tenants that come and
 * go leave nothing behind.
 */

interface Entry<T> {
  readonly item: T;
  readonly cost: number;
}

interface Flow<T> {
  readonly tenant: string;
  readonly entries: Entry<T>[];
  /** Cost this tenant may still take in the current round. */
  deficit: number;
}

/** A tenant's share of a {@link FairQueue}. */
export interface TenantLoad {
  readonly tenant: string;
  /** Items it has queued. */
  readonly queued: number;
}

export class FairQueue<T> {
  private readonly flows = new Map<string, Flow<T>>();
  /** Tenants with queued items, in round-robin order; the first is being served. */
  private readonly active: Flow<T>[] = [];
  private count = 0;

  /**
   * @param quantum Cost a tenant may take per round. With costs of at most
   *   `quantum`, each turn serves at least one item.
   */
  constructor(private readonly quantum = 1) {
    if (!(quantum > 0) || !Number.isFinite(quantum)) throw new RangeError(`quantum must be a finite number > 0, got ${quantum}`);
  }

  /** Items queued, all tenants together. */
  get size(): number {
    return this.count;
  }

  /** Items `tenant` has queued. */
  sizeOf(tenant: string): number {
    return this.flows.get(tenant)?.entries.length ?? 0;
  }

  /** Queues `item` at the end of `tenant`'s line. `cost` must be a finite number > 0. */
  push(tenant: string, item: T, cost = 1): void {
    if (!(cost > 0) || !Number.isFinite(cost)) throw new RangeError(`cost must be a finite number > 0, got ${cost}`);
    let flow = this.flows.get(tenant);
    if (flow === undefined) {
      flow = { tenant, entries: [], deficit: 0 };
      this.flows.set(tenant, flow);
      this.active.push(flow);
      // A tenant that starts a round is credited as it becomes the one served.
      if (this.active.length === 1) flow.deficit = this.quantum;
    }
    flow.entries.push({ item, cost });
    this.count++;
  }

  /**
   * Takes the next item in fair order; undefined when empty, or when the
   * next item costs more than `maxCost` (it stays first in line).
   */
  shift(maxCost = Number.POSITIVE_INFINITY): T | undefined {
    while (this.active.length > 0) {
      const flow = this.active[0]!;
      const head = flow.entries[0]!;
      if (head.cost <= flow.deficit) {
        if (head.cost > maxCost) return undefined;
        flow.deficit -= head.cost;
        flow.entries.shift();
        this.count--;
        if (flow.entries.length === 0) this.retire(flow);
        return head.item;
      }
      // Its turn is over: to the back of the line, and the next tenant's turn begins.
      this.active.shift();
      this.active.push(flow);
      this.active[0]!.deficit += this.quantum;
    }
    return undefined;
  }

  /** Removes one queued `item` of `tenant` (a caller that gave up); false when it was not queued. */
  remove(tenant: string, item: T): boolean {
    const flow = this.flows.get(tenant);
    const at = flow?.entries.findIndex((entry) => entry.item === item) ?? -1;
    if (flow === undefined || at < 0) return false;
    flow.entries.splice(at, 1);
    this.count--;
    if (flow.entries.length === 0) this.retire(flow);
    return true;
  }

  /** The tenant with the most items queued (the first in round-robin order on a tie); undefined when empty. */
  largest(): TenantLoad | undefined {
    let best: Flow<T> | undefined;
    for (const flow of this.active) if (best === undefined || flow.entries.length > best.entries.length) best = flow;
    return best === undefined ? undefined : { tenant: best.tenant, queued: best.entries.length };
  }

  /** Removes and returns the newest item of `tenant`; undefined when it has none. */
  popNewest(tenant: string): T | undefined {
    const flow = this.flows.get(tenant);
    const entry = flow?.entries.pop();
    if (flow === undefined || entry === undefined) return undefined;
    this.count--;
    if (flow.entries.length === 0) this.retire(flow);
    return entry.item;
  }

  /** Drops an emptied tenant; if it was being served, the next tenant's turn begins. */
  private retire(flow: Flow<T>): void {
    this.flows.delete(flow.tenant);
    const at = this.active.indexOf(flow);
    this.active.splice(at, 1);
    if (at === 0 && this.active.length > 0) this.active[0]!.deficit += this.quantum;
  }
}
