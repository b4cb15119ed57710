/**
 * One upstream call per burst across the fleet. Each replica already runs
 * at most one call per key (src/ask/single-flight.ts); this makes the
 * replicas agree on one of them.
 *
 * The replica whose call would go upstream first takes a claim on the key
 * (claims.ts). Holding it, it checks once more for a stored answer (another
 * replica may have finished since this one looked up), then runs its call, which stores
 * the answer, and releases the claim. The others poll the exact key for that
 * stored answer, with backoff; when the claim is gone and still no answer is
 * there (the holder failed, crashed, or its answer was not cacheable), the
 * next one to claim takes over.
 *
 * Coordination never fails a call: when Redis is away, slow (past the fleet
 * link's command timeout) or not connected yet, the replica runs its own call,
 * as a lone replica would.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Claims } from "./claims.js";
import type { FleetLink } from "./fleet-link.js";

/** What a fleet-wide call is made of. */
export interface FleetCall<T> {
  /** The answer stored under the key, if any (an exact lookup); undefined when none is. */
  readonly stored: () => Promise<T | undefined>;
  /** This replica's own call; it stores its answer under the key before it resolves. */
  readonly run: () => Promise<T>;
}

/** How a fleet-wide call ended for this replica. */
export type FleetRole = "led" | "waited" | "alone";

/** Timing of the claims; see FLEET_FLIGHT_DEFAULTS. */
export interface FleetSingleFlightOptions {
  /** How long a claim outlives its holder's last renewal. */
  readonly leaseMs?: number;
  /** First and largest wait between two polls for the stored answer. */
  readonly pollMinMs?: number;
  readonly pollMaxMs?: number;
  /** Told why a call ran without the fleet (rate-limited by the caller if it logs). */
  readonly onFallback?: (error: unknown) => void;
  /** Told how each call ended (metrics, tests). */
  readonly onCall?: (role: FleetRole) => void;
}

/** Defaults of FleetSingleFlightOptions. */
export const FLEET_FLIGHT_DEFAULTS = { leaseMs: 10_000, pollMinMs: 20, pollMaxMs: 250 } as const;

/** See the module comment. */
export class FleetSingleFlight {
  readonly #claims: Claims;
  readonly #leaseMs: number;
  readonly #pollMinMs: number;
  readonly #pollMaxMs: number;

  constructor(
    link: FleetLink,
    private readonly options: FleetSingleFlightOptions = {},
  ) {
    this.#claims = new Claims(link);
    this.#leaseMs = options.leaseMs ?? FLEET_FLIGHT_DEFAULTS.leaseMs;
    this.#pollMinMs = options.pollMinMs ?? FLEET_FLIGHT_DEFAULTS.pollMinMs;
    this.#pollMaxMs = options.pollMaxMs ?? FLEET_FLIGHT_DEFAULTS.pollMaxMs;
  }

  /**
   * Runs `call.run` if no other replica is running the call for `key`,
   * else waits for the answer that replica stores. `signal` ends the wait
   * (and this replica's own call).
   */
  async run<T>(key: string, signal: AbortSignal, call: FleetCall<T>): Promise<T> {
    const token = randomUUID();
    let delay = this.#pollMinMs;
    for (;;) {
      signal.throwIfAborted();
      let claimed: boolean;
      try {
        claimed = await this.#claims.take(key, token, this.#leaseMs);
      } catch (error) {
        return this.alone(error, call);
      }
      if (claimed) return this.lead(key, token, call);
      await sleep(delay, undefined, { signal });
      delay = Math.min(this.#pollMaxMs, Math.ceil(delay * 1.5));
      let found: T | undefined;
      try {
        found = await call.stored();
      } catch (error) {
        return this.alone(error, call);
      }
      if (found !== undefined) {
        this.options.onCall?.("waited");
        return found;
      }
    }
  }

  private async lead<T>(key: string, token: string, call: FleetCall<T>): Promise<T> {
    // Renewed at a third of the lease, so two renewals can be lost (a slow Redis) before the claim lapses.
    const renewal = setInterval(() => {
      this.#claims.renew(key, token, this.#leaseMs).catch(() => undefined);
    }, Math.max(1, Math.floor(this.#leaseMs / 3)));
    renewal.unref();
    try {
      // A claim that just ended (or one taken and released between this replica's lookup and now) may have
      // stored the answer: one exact read, on a path about to call the LLM anyway, closes that gap.
      const found = await call.stored().catch(() => undefined);
      if (found !== undefined) {
        this.options.onCall?.("waited");
        return found;
      }
      const value = await call.run();
      this.options.onCall?.("led");
      return value;
    } finally {
      clearInterval(renewal);
      // Released only once the answer is stored (run resolved): a waiter that then finds no claim finds the answer.
      this.#claims.release(key, token).catch(() => undefined);
    }
  }

  private alone<T>(error: unknown, call: FleetCall<T>): Promise<T> {
    this.options.onFallback?.(error);
    this.options.onCall?.("alone");
    return call.run();
  }
}
