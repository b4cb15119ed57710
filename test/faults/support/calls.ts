/**
 * Small helpers shared by the fault tests: run calls concurrently, record how
 * each one ended (value or status code, and how long it took), and wait for
 * a condition without sleeping a fixed time.
 */
import { Code, ConnectError } from "@connectrpc/connect";

export { eventually, sleep, until } from "../../support/eventually.js";

/** When a call ran, on the `performance.now()` clock, and how long it took. */
export interface CallTiming {
  readonly startedAt: number;
  readonly endedAt: number;
  /** endedAt − startedAt. */
  readonly ms: number;
}

/** How one call ended: its value, or the status it failed with. */
export type Settled<T> =
  | ({ readonly ok: true; readonly value: T } & CallTiming)
  | ({ readonly ok: false; readonly code: string; readonly message: string } & CallTiming);

/**
 * Awaits a call and records its outcome instead of throwing. A failure that
 * is not a ConnectError is reported as the code "not-a-ConnectError", so a
 * test can assert that every failure carried a status.
 */
export async function settle<T>(call: () => Promise<T>): Promise<Settled<T>> {
  const startedAt = performance.now();
  const timing = (): CallTiming => {
    const endedAt = performance.now();
    return { startedAt, endedAt, ms: endedAt - startedAt };
  };
  try {
    const value = await call();
    return { ok: true, value, ...timing() };
  } catch (error) {
    if (error instanceof ConnectError) return { ok: false, code: Code[error.code], message: error.rawMessage, ...timing() };
    return { ok: false, code: "not-a-ConnectError", message: String(error), ...timing() };
  }
}

/** Runs `worker(0) … worker(n - 1)` at once and resolves with their results in order. */
export function concurrently<T>(n: number, worker: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => worker(i)));
}


/** How many outcomes ended with each code ("OK" for successes), for readable assertions. */
export function tallyCodes(outcomes: readonly Settled<unknown>[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.ok ? "OK" : outcome.code;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return tally;
}
