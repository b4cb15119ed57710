/**
 * The fleet: replicas of semcache on one Redis acting as one cache. Active
 * only when the store is Redis (SEMCACHE_REDIS_URL); see README "Running a
 * fleet". The composition root builds it with `fleetFromConfig` and hands
 * its parts to the Ask engine, the cache core and the rate limiter.
 */
import type { Logger } from "../observability/logger.js";
import { FleetCounters } from "./fleet-counters.js";
import { FleetLink } from "./fleet-link.js";
import { FleetRateLimiter } from "./fleet-rate-limiter.js";
import { FleetSingleFlight } from "./fleet-single-flight.js";
import { OncePer } from "./once-per.js";

export { FleetCounters, type FleetCountersOptions } from "./fleet-counters.js";
export { FleetLink, type FleetLinkOptions } from "./fleet-link.js";
export { FleetRateLimiter } from "./fleet-rate-limiter.js";
export { FleetSingleFlight, type FleetCall, type FleetRole, type FleetSingleFlightOptions } from "./fleet-single-flight.js";

/** The fleet's parts, over one connection. */
export interface Fleet {
  readonly link: FleetLink;
  /** One LLM call per burst across the replicas. */
  readonly flights: FleetSingleFlight;
  /** Stats' counters, summed over the replicas. */
  readonly counters: FleetCounters;
  /** Rate limits per API key, for the fleet as a whole. */
  readonly limiter: FleetRateLimiter;
  /** Writes the last counts, then closes the connection. */
  close(): Promise<void>;
}

/** How often the same fallback is logged at most. */
const FALLBACK_LOG_INTERVAL_MS = 10_000;

/** The settings a fleet is built from (SEMCACHE_REDIS_URL, SEMCACHE_REDIS_KEY_PREFIX). */
export interface FleetSettings {
  /** Undefined for the embedded store: no fleet. */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
}

/** The fleet the configuration asks for: one when the store is Redis, else undefined (a lone server). */
export function fleetFromConfig(config: FleetSettings, logger: Logger): Fleet | undefined {
  if (config.redisUrl === undefined) return undefined;
  const connectionLog = new OncePer(FALLBACK_LOG_INTERVAL_MS);
  const link = FleetLink.start({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    onError: (error) => {
      if (connectionLog.due()) logger.warn({ err: error }, "fleet: redis connection error");
    },
  });
  const fallbackLog = new OncePer(FALLBACK_LOG_INTERVAL_MS);
  const flights = new FleetSingleFlight(link, {
    onFallback: (error) => {
      if (fallbackLog.due()) logger.warn({ err: error }, "fleet: Redis did not answer a claim in time; this replica calls the LLM on its own meanwhile");
    },
  });
  const counterLog = new OncePer(FALLBACK_LOG_INTERVAL_MS);
  const counters = new FleetCounters(link, {
    onError: (error) => {
      if (counterLog.due()) logger.warn({ err: error }, "fleet: Stats counters not written to Redis; kept for the next batch");
    },
  });
  const limiterLog = new OncePer(FALLBACK_LOG_INTERVAL_MS);
  const limiter = new FleetRateLimiter(link, undefined, (error) => {
    if (limiterLog.due()) logger.warn({ err: error }, "fleet: rate limits not reconciled through Redis; each replica limits on its own meanwhile");
  });
  return {
    link,
    flights,
    counters,
    limiter,
    close: async () => {
      await counters.close();
      await link.close();
    },
  };
}
