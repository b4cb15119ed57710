interface Request<T, R> {
  readonly items: readonly T[];
  readonly resolve: (results: R[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: batches submitted during one turn of the event loop are
 * written together by one synchronous `commit` call on the next turn, so N
 * concurrent puts cost one transaction and one fsync instead of N.
 *
 * `commit` receives the items of every waiting request in submission order
 * and must return one result per item; if it throws, every request in the
 * group is rejected with that error.
 */
export class GroupCommit<T, R> {
  private queue: Request<T, R>[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly commit: (items: T[]) => R[]) {}

  /** Number of requests waiting for the next commit. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues items; resolves with their results once the group they joined is committed. */
  submit(items: readonly T[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      // setImmediate rather than nextTick: it runs after pending I/O callbacks,
      // so requests that arrived together on the network join the same group.
      this.scheduled ??= setImmediate(() => this.drain());
    });
  }

  /**
   * Commits everything queued now, synchronously. Called by the timer, and by
   * operations that must not overtake earlier puts (flushes, close).
   */
  drain(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    let results: R[];
    try {
      results = this.commit(group.flatMap((request) => request.items));
    } catch (error) {
      for (const request of group) request.reject(error);
      return;
    }
    let offset = 0;
    for (const request of group) {
      request.resolve(results.slice(offset, offset + request.items.length));
      offset += request.items.length;
    }
  }
}
