/**
 * The shape of `/metrics/json`, on its own (types only, no imports beyond
 * the counter names), so the dashboard's browser build reads the very type
 * the server writes.
 */
import type { CounterName } from "../cache/counters.js";

/** How the model and store are doing. */
export type ModelState = "loading" | "ready" | "failed";

/** A series of a histogram in `/metrics/json`. */
export interface HistogramSeriesJson {
  readonly labels: Record<string, string>;
  readonly count: number;
  readonly sum: number;
  /** Cumulative counts: [upper bound, observations ≤ bound]; the last bound is "+Inf". */
  readonly buckets: readonly (readonly [number | "+Inf", number])[];
  /** Estimated quantiles (linear within a bucket, as PromQL's histogram_quantile), in the metric's unit; null without data. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** `/metrics/json`: the same figures as `/metrics`, shaped for people and dashboards. */
export interface MetricsJson {
  readonly model: { readonly state: ModelState; readonly id: string | null; readonly dimension: number | null; readonly store: string | null };
  /** Entries in the store; null before it is open (or when it cannot be counted). */
  readonly entries: number | null;
  readonly namespaceLabels: { readonly limit: number; readonly labelled: readonly string[] };
  /** The cache counters: all namespaces, and per namespace label. Field names as in the Stats RPC. */
  readonly counters: Record<CounterName, { readonly total: number; readonly byNamespace: Record<string, number> }>;
  readonly errors: { readonly total: number; readonly byKind: Record<string, number>; readonly byNamespace: Record<string, Record<string, number>> };
  /** Every histogram by metric name. */
  readonly histograms: Record<string, readonly HistogramSeriesJson[]>;
  /** RPC latency per method, all outcomes together, in milliseconds. */
  readonly rpc: Record<string, { readonly count: number; readonly errors: number; readonly p50Ms: number | null; readonly p90Ms: number | null; readonly p99Ms: number | null }>;
}

