/**
 * Runs calls from `concurrency` workers until `calls` have been issued or
 * the deadline passes, whichever comes first: a bounded run always stops by
 * itself (calls in flight at the deadline finish, each within its own
 * timeout).
 */

/** How a pool run ended. */
export interface PoolResult {
  /** Calls issued (and completed). */
  readonly issued: number;
  /** True when the deadline stopped the run before every call was issued. */
  readonly stoppedByDeadline: boolean;
  readonly seconds: number;
}

/**
 * Calls `work(i)` for i = 0, 1, … with at most `concurrency` in flight;
 * `work` must not throw (the load test records failures as outcomes).
 */
export async function runPool(calls: number, concurrency: number, deadline: number, work: (i: number) => Promise<void>): Promise<PoolResult> {
  const started = performance.now();
  let issued = 0;
  let stoppedByDeadline = false;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (issued < calls) {
        if (performance.now() >= deadline) {
          stoppedByDeadline = true;
          return;
        }
        await work(issued++);
      }
    }),
  );
  return { issued, stoppedByDeadline, seconds: (performance.now() - started) / 1000 };
}
