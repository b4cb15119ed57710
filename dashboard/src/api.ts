/**
 * The dashboard's connection to semcache: the generated TypeScript client
 * over Connect-Web, and plain fetches for /metrics/json (not part of the API).
 *
 * Served by semcache itself, the page talks to its own origin. Opened from
 * elsewhere (vite dev server, another host), `?api=http://host:8080` points
 * it at a server, which must then allow this page's origin in
 * SEMCACHE_CORS_ORIGINS.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";

/** The API's base URL: `?api=` when given, otherwise the page's own origin. */
export function apiBaseUrl(location: Location = window.location): string {
  const fromQuery = new URLSearchParams(location.search).get("api");
  return (fromQuery !== null && fromQuery !== "" ? fromQuery : location.origin).replace(/\/+$/, "");
}

export type CacheClient = Client<typeof SemanticCacheService>;

/** The generated client of SemanticCacheService over the Connect protocol (JSON). */
export function cacheClient(baseUrl: string): CacheClient {
  return createClient(SemanticCacheService, createConnectTransport({ baseUrl }));
}

/** A histogram series of /metrics/json (see src/observability/metrics.ts). */
export interface HistogramSeries {
  readonly labels: Record<string, string>;
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** The part of /metrics/json the dashboard shows. */
export interface MetricsJson {
  readonly model: { readonly state: string; readonly id: string | null; readonly store: string | null };
  readonly rpc: Record<string, { readonly count: number; readonly errors: number; readonly p50Ms: number | null; readonly p90Ms: number | null; readonly p99Ms: number | null }>;
  readonly histograms: Record<string, readonly HistogramSeries[]>;
}

export async function fetchMetricsJson(baseUrl: string, signal?: AbortSignal): Promise<MetricsJson> {
  const response = await fetch(`${baseUrl}/metrics/json`, { signal: signal ?? null, cache: "no-store" });
  if (!response.ok) throw new Error(`/metrics/json answered ${response.status}`);
  return (await response.json()) as MetricsJson;
}
