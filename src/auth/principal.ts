import { createContextKey } from "@connectrpc/connect";
import type { NamespaceGrants } from "./namespace-grants.js";

/**
 * What a key may do.
 * - `user`: Lookup, Store, Ask, AskStream, Stats, ListEntries and Feedback in its namespaces.
 * - `admin`: everything, in every namespace, plus Flush and Stats across namespaces, and /metrics.
 * - `metrics`: only /metrics and /metrics/json (for a Prometheus scraper); no RPC.
 */
export type Role = "user" | "admin" | "metrics";

/** Every role, for validation and help texts. */
export const ROLES: readonly Role[] = ["user", "admin", "metrics"];

/** A token bucket's settings: `requestsPerSecond` refill, `burst` capacity; 0 requests per second means unlimited. */
export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
}

/** The caller behind a request, once its key is known. */
export interface Principal {
  /** The key's id from the key file; logged instead of the key. */
  readonly keyId: string;
  readonly role: Role;
  readonly namespaces: NamespaceGrants;
  /** Namespace used when a request leaves it empty. */
  readonly defaultNamespace: string;
  /** The key's own limit; undefined: the server's default. */
  readonly rateLimit: RateLimit | undefined;
}

/**
 * Where the access interceptor leaves the request's principal, for the
 * handlers and the log line. Undefined when API keys are off.
 */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "semcache API key principal" });
