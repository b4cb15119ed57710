/**
 * Keyed single-flight: concurrent callers with the same key share one call,
 * so a burst of identical cache misses costs one LLM request.
 *
 * Cancellation is per participant. Each caller (leader or follower) may pass
 * its own AbortSignal; when it fires, only that caller stops waiting (its
 * promise rejects with CANCELED). The shared call is aborted, through the
 * signal `fn` receives, only once every participant has stopped waiting, so
 * one impatient caller never costs the others their answer. An abandoned
 * call is forgotten at once, so a later caller with the same key starts a
 * fresh call instead of joining one that is being aborted.
 */
import { canceledError } from "../llm/errors.js";

/** A shared call's outcome for one caller. */
export interface SingleFlightResult<T> {
  readonly value: T;
  /** True for the caller whose `fn` ran; false for those who joined it. */
  readonly leader: boolean;
}

/** Per-caller options of `SingleFlight.run`. */
export interface SingleFlightOptions {
  /** Stops this caller waiting; aborts the shared call only if no one else waits. */
  readonly signal?: AbortSignal;
}

interface Flight<T> {
  readonly controller: AbortController;
  readonly promise: Promise<T>;
  /** Participants still waiting for `promise`. */
  waiters: number;
}

/** Runs at most one call per key at a time; see the module comment. */
export class SingleFlight<K = string, T = unknown> {
  private readonly flights = new Map<K, Flight<T>>();

  /**
   * Runs `fn`, or joins the call already running for `key`. Every participant
   * gets the same value or the same error. The key is forgotten as soon as
   * the call settles, success or failure: results are not cached here.
   */
  run(key: K, fn: (signal: AbortSignal) => Promise<T>, options: SingleFlightOptions = {}): Promise<SingleFlightResult<T>> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(canceledError(signal.reason));

    let flight = this.flights.get(key);
    const leader = flight === undefined;
    if (flight === undefined) flight = this.start(key, fn);
    const joined = flight;
    joined.waiters++;

    return new Promise<SingleFlightResult<T>>((resolve, reject) => {
      let left = false;
      const leave = (): boolean => {
        if (left) return false;
        left = true;
        joined.waiters--;
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (joined.waiters === 0) {
          this.forget(key, joined);
          joined.controller.abort(signal?.reason);
        }
        reject(canceledError(signal?.reason));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      joined.promise.then(
        (value) => leave() && resolve({ value, leader }),
        (error: unknown) => leave() && reject(error),
      );
    });
  }

  /** Whether a call for `key` is in flight. */
  has(key: K): boolean {
    return this.flights.has(key);
  }

  /** How many callers wait for the call of `key` (0 when none is in flight). */
  waiting(key: K): number {
    return this.flights.get(key)?.waiters ?? 0;
  }

  /** Number of calls in flight. */
  get size(): number {
    return this.flights.size;
  }

  private start(key: K, fn: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    // `new Promise` turns a synchronous throw in `fn` into a shared rejection.
    const promise = new Promise<T>((resolve) => resolve(fn(controller.signal)));
    const flight: Flight<T> = { controller, promise, waiters: 0 };
    this.flights.set(key, flight);
    // Registered before any participant's handlers, so the key is gone by the
    // time a participant sees the result; also keeps rejections handled.
    const forget = () => this.forget(key, flight);
    promise.then(forget, forget);
    return flight;
  }

  private forget(key: K, flight: Flight<T>): void {
    // A newer call may already own the key after this one was abandoned.
    if (this.flights.get(key) === flight) this.flights.delete(key);
  }
}
