/**
 * The ledger of acknowledged writes: every Store the server acknowledged and
 * every Ask answer it stored, per namespace. Hit operations draw their
 * prompts from it (so an "exact hit" asks for something the server has
 * confirmed), and after the load every entry in it must still be found.
 */

/** Where an acknowledged entry came from. */
export type Origin = "store" | "ask";

/** One acknowledged entry. */
export interface LedgerEntry {
  /** Index into NAMESPACES. */
  readonly namespace: number;
  readonly prompt: string;
  /** A rewording of the prompt that should be a semantic hit of it. */
  readonly rewording: string;
  readonly origin: Origin;
  /** The entry id the server gave when it acknowledged the write. */
  readonly id: string;
  /**
   * Responses an exact lookup of it may return: the last acknowledged one,
   * plus the answers of any failed Store of it since (a failed call may or may
   * not have been written).
   */
  readonly accepted: readonly string[];
}

interface MutableEntry {
  readonly namespace: number;
  readonly prompt: string;
  readonly rewording: string;
  readonly origin: Origin;
  id: string;
  accepted: string[];
  /** A Store of this prompt is in flight: no second one may start, so the final answer is well defined. */
  busy: boolean;
}

/** What a replacing Store holds until it finishes (see `Ledger.claimForReplace`). */
export interface ReplaceClaim {
  readonly namespace: number;
  readonly prompt: string;
  readonly rewording: string;
}

/** The acknowledged writes of a run. */
export class Ledger {
  private readonly lists: MutableEntry[][];
  private readonly byKey = new Map<string, MutableEntry>();
  /** Acknowledged writes whose id differed from the id already known for that prompt (must stay 0). */
  idChanges = 0;

  constructor(namespaces: number) {
    this.lists = Array.from({ length: namespaces }, () => []);
  }

  private static key(namespace: number, prompt: string): string {
    return `${namespace}\u0000${prompt}`;
  }

  /** Records an acknowledged write (a Store, or an Ask answered by the LLM). */
  acknowledge(origin: Origin, namespace: number, prompt: string, rewording: string, id: string, response: string): void {
    const key = Ledger.key(namespace, prompt);
    const known = this.byKey.get(key);
    if (known === undefined) {
      const entry: MutableEntry = { namespace, prompt, rewording, origin, id, accepted: [response], busy: false };
      this.byKey.set(key, entry);
      this.lists[namespace]!.push(entry);
      return;
    }
    // Ids derive from scope and normalised prompt: a replacement keeps its id.
    if (known.id !== id) this.idChanges++;
    known.id = id;
    known.accepted = [response];
  }

  /** An acknowledged entry of the namespace, at random; `origin` narrows the draw when that origin has any. */
  pick(namespace: number, random: () => number, origin?: Origin): LedgerEntry | undefined {
    const list = this.lists[namespace]!;
    if (list.length === 0) return undefined;
    if (origin !== undefined) {
      // Rejection sampling: both origins are common once the run is under way.
      for (let attempt = 0; attempt < 16; attempt++) {
        const entry = list[Math.floor(random() * list.length)]!;
        if (entry.origin === origin) return entry;
      }
    }
    return list[Math.floor(random() * list.length)]!;
  }

  /** Claims a stored (origin "store") entry no other Store is writing, for a replacing Store; undefined when none was found. */
  claimForReplace(namespace: number, random: () => number): ReplaceClaim | undefined {
    const list = this.lists[namespace]!;
    for (let attempt = 0; attempt < 32 && list.length > 0; attempt++) {
      const entry = list[Math.floor(random() * list.length)]!;
      if (entry.origin === "store" && !entry.busy) {
        entry.busy = true;
        return entry;
      }
    }
    return undefined;
  }

  /** Ends a replacing Store: acknowledged with `id`, or failed (then its answer may or may not be the stored one). */
  release(claim: ReplaceClaim, response: string, id: string | undefined): void {
    const entry = this.byKey.get(Ledger.key(claim.namespace, claim.prompt))!;
    entry.busy = false;
    if (id === undefined) entry.accepted = [...entry.accepted, response];
    else this.acknowledge(entry.origin, entry.namespace, entry.prompt, entry.rewording, id, response);
  }

  /** Distinct acknowledged entries (a failed new Store is not one: it may or may not have been written). */
  get size(): number {
    return this.byKey.size;
  }

  /** Every acknowledged entry. */
  entries(): LedgerEntry[] {
    return [...this.byKey.values()];
  }

  /** Acknowledged entries by origin. */
  counts(): Record<Origin, number> {
    const counts: Record<Origin, number> = { store: 0, ask: 0 };
    for (const entry of this.byKey.values()) counts[entry.origin]++;
    return counts;
  }
}
