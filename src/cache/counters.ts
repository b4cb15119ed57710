/** The counters kept per namespace since the server started. */
export interface CounterValues {
  lookups: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  stores: number;
  flushes: number;
  llmCalls: number;
  coalescedCalls: number;
  tokensSaved: number;
  cacheErrors: number;
  guardRejections: number;
  /** Asks under an error budget that asked the LLM to check a cached candidate. */
  explorations: number;
  /** Feedback calls recorded. */
  feedbackReceived: number;
  /** Served answers that Feedback later judged wrong. */
  servedThenJudgedWrong: number;
}

/** Names of the counters, for iteration. */
export type CounterName = keyof CounterValues;

/**
 * Counters kept beyond this process too: a fleet's, in Redis (src/fleet),
 * so that Stats answers for every replica.
 */
export interface SharedCounters {
  /** Adds to the shared counters; called on every count, so it must be cheap (batch) and must not throw. */
  add(namespace: string, name: CounterName, by: number): void;
  /**
   * The shared counters of one namespace, or their sum over all, this
   * process's adds not yet written included; undefined when they cannot be
   * read now (then Stats answers with this process's own).
   */
  read(namespace?: string): Promise<CounterValues | undefined>;
}

/** All counters at zero. */
export function zero(): CounterValues {
  return {
    lookups: 0,
    exactHits: 0,
    semanticHits: 0,
    misses: 0,
    stores: 0,
    flushes: 0,
    llmCalls: 0,
    coalescedCalls: 0,
    tokensSaved: 0,
    cacheErrors: 0,
    guardRejections: 0,
    explorations: 0,
    feedbackReceived: 0,
    servedThenJudgedWrong: 0,
  };
}

/**
 * In-memory counters per namespace. They restart from zero with the process,
 * like Prometheus counters; stored entries are counted by the store instead.
 */
export class Counters {
  private readonly byNamespace = new Map<string, CounterValues>();

  /** `shared`, when given, is told every add too. */
  constructor(private readonly shared?: SharedCounters) {}

  /** Adds `by` (default 1) to a namespace's counter. */
  add(namespace: string, name: CounterName, by = 1): void {
    this.shared?.add(namespace, name, by);
    let values = this.byNamespace.get(namespace);
    if (values === undefined) {
      values = zero();
      this.byNamespace.set(namespace, values);
    }
    values[name] += by;
  }

  /** The counters of one namespace, or the sum over all of them. */
  read(namespace?: string): CounterValues {
    if (namespace !== undefined) {
      return { ...(this.byNamespace.get(namespace) ?? zero()) };
    }
    const total = zero();
    for (const values of this.byNamespace.values()) {
      for (const name of Object.keys(total) as CounterName[]) {
        total[name] += values[name];
      }
    }
    return total;
  }

  /** The namespaces that have counters. */
  namespaces(): string[] {
    return [...this.byNamespace.keys()];
  }
}
