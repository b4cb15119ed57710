/**
 * Bounds the cardinality of the `namespace` label: the busiest namespaces get
 * a label of their own, up to a limit, and every other one is counted under
 * {@link OTHER_NAMESPACES}.
 *
 * A namespace's label never changes once given: the counters behind a label
 * then only ever grow, as Prometheus counters must (moving a namespace from
 * "other" to its own label would make "other" go down, which `rate()` reads as
 * a reset). Labels are handed out at scrape time, busiest first among the
 * namespaces not labelled yet; so the first scrape after start labels the top
 * N by traffic, and later scrapes fill free slots the same way.
 *
 * Memory is bounded whatever names callers send: only labelled namespaces are
 * remembered (every other one is "other" by definition, since a namespace is
 * left without a slot only when none is free, and slots are never given
 * back), and figures of namespaces still waiting for a scrape are kept under
 * their own name only for a bounded number of them ({@link keyFor}).
 */

/** The label of every namespace without a slot of its own. */
export const OTHER_NAMESPACES = "other";
/** Labels of things that are not one namespace: never bounded, never given a slot. */
export const ALL_NAMESPACES = "*";
export const NO_NAMESPACE = "";

/** The default number of namespaces with a label of their own. */
export const DEFAULT_NAMESPACE_LABEL_LIMIT = 20;

/** Fewest namespaces whose figures may wait under their own name for a scrape to label them. */
const MIN_PENDING = 64;

export class NamespaceLabels {
  /** The namespaces holding a slot, in the order they got it. */
  private readonly slots: string[] = [];
  private readonly holders = new Set<string>();
  /** Namespaces seen since the last scrape that may still get a slot. */
  private readonly pending = new Set<string>();
  private readonly maxPending: number;

  constructor(readonly limit: number = DEFAULT_NAMESPACE_LABEL_LIMIT) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`namespace label limit must be an integer >= 0, got ${limit}`);
    this.maxPending = Math.max(MIN_PENDING, 4 * limit);
  }

  /**
   * The name to keep a namespace's raw figures under until the next scrape:
   * its label once that is settled; its own name while it may still get a
   * slot, for a bounded number of such namespaces; "other" beyond that (a
   * flood of new names between two scrapes only grows "other").
   */
  keyFor(namespace: string): string {
    if (isSpecial(namespace) || this.holders.has(namespace) || this.pending.has(namespace)) return namespace;
    if (this.slots.length >= this.limit || namespace === OTHER_NAMESPACES || this.pending.size >= this.maxPending) return OTHER_NAMESPACES;
    this.pending.add(namespace);
    return namespace;
  }

  /**
   * Gives labels to the namespaces that have none yet, busiest first (ties:
   * by name, so the outcome does not depend on arrival order within a scrape).
   */
  assign(traffic: ReadonlyMap<string, number>): void {
    this.pending.clear();
    if (this.slots.length >= this.limit) return;
    // A namespace literally called "other" shares the overflow label rather than posing as it.
    const fresh = [...traffic].filter(([namespace]) => !this.holders.has(namespace) && !isSpecial(namespace) && namespace !== OTHER_NAMESPACES);
    fresh.sort(([a, ta], [b, tb]) => tb - ta || (a < b ? -1 : a > b ? 1 : 0));
    for (const [namespace] of fresh.slice(0, this.limit - this.slots.length)) {
      this.holders.add(namespace);
      this.slots.push(namespace);
    }
  }

  /** The label of a namespace; one not assigned yet counts as "other" (assign first). */
  label(namespace: string): string {
    if (isSpecial(namespace) || this.holders.has(namespace)) return namespace;
    return OTHER_NAMESPACES;
  }

  /** The namespaces with a label of their own, in the order they got it. */
  labelled(): string[] {
    return [...this.slots];
  }
}

function isSpecial(namespace: string): boolean {
  return namespace === ALL_NAMESPACES || namespace === NO_NAMESPACE;
}
