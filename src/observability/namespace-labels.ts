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
 */

/** The label of every namespace without a slot of its own. */
export const OTHER_NAMESPACES = "other";
/** Labels of things that are not one namespace: never bounded, never given a slot. */
export const ALL_NAMESPACES = "*";
export const NO_NAMESPACE = "";

/** The default number of namespaces with a label of their own. */
export const DEFAULT_NAMESPACE_LABEL_LIMIT = 20;

export class NamespaceLabels {
  private readonly labels = new Map<string, string>();
  /** The namespaces holding a slot, in the order they got it. */
  private readonly slots: string[] = [];

  constructor(readonly limit: number = DEFAULT_NAMESPACE_LABEL_LIMIT) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`namespace label limit must be an integer >= 0, got ${limit}`);
  }

  /**
   * Gives labels to the namespaces that have none yet, busiest first (ties:
   * by name, so the outcome does not depend on arrival order within a scrape).
   */
  assign(traffic: ReadonlyMap<string, number>): void {
    const fresh = [...traffic].filter(([namespace]) => !this.labels.has(namespace) && !isSpecial(namespace));
    fresh.sort(([a, ta], [b, tb]) => tb - ta || (a < b ? -1 : a > b ? 1 : 0));
    for (const [namespace] of fresh) {
      // A namespace literally called "other" shares the overflow label rather than posing as it.
      if (this.slots.length < this.limit && namespace !== OTHER_NAMESPACES) {
        this.labels.set(namespace, namespace);
        this.slots.push(namespace);
      } else {
        this.labels.set(namespace, OTHER_NAMESPACES);
      }
    }
  }

  /** The label of a namespace; one not assigned yet counts as "other" (assign first). */
  label(namespace: string): string {
    if (isSpecial(namespace)) return namespace;
    return this.labels.get(namespace) ?? OTHER_NAMESPACES;
  }

  /** The namespaces with a label of their own, in the order they got it. */
  labelled(): string[] {
    return [...this.slots];
  }
}

function isSpecial(namespace: string): boolean {
  return namespace === ALL_NAMESPACES || namespace === NO_NAMESPACE;
}
