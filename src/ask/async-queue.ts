/**
 * A single-consumer queue from a producer callback to an async loop: how a
 * streamed LLM answer, produced inside the shared single-flight call, reaches
 * the one AskStream handler that leads it.
 */

/** See the module comment. Unbounded: an answer is bounded by the LLM's output limit. */
export class AsyncQueue<T> {
  private items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  /** Adds an item; ignored once closed. */
  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.notify();
  }

  /** Ends the queue: the consumer gets what is queued, then stops. Idempotent. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /**
   * Yields items as they come until the queue is closed and empty, or
   * `signal` aborts (then it just stops: the caller decides what the abort
   * means).
   */
  async *drain(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    for (;;) {
      if (signal?.aborted) return;
      if (this.items.length > 0) {
        const batch = this.items;
        this.items = [];
        for (const item of batch) yield item;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = undefined;
          // One listener per wait, removed at once: a long stream must not pile them up on the signal.
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.wake = done;
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  private notify(): void {
    this.wake?.();
  }
}
