/**
 * semcache's Prometheus metrics, on a registry of their own.
 *
 * The cache counters are not counted twice: they are read from the core's
 * Counters (the numbers the Stats RPC reports) at scrape time, so `/metrics`,
 * `/metrics/json` and Stats cannot drift apart. Timings come from observer
 * hooks in the core and the embedder, and from the RPC interceptor.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CounterName, CounterValues } from "../cache/counters.js";
import type { CacheObserver, SemanticCache } from "../cache/semantic-cache.js";
import type { EmbedderObserver } from "../embedder/embedder.js";
import { storeAnswering } from "../server/health/health-source.js";
import type { HistogramSeriesJson, MetricsJson, ModelState } from "./metrics-json.js";
import { NamespaceLabels } from "./namespace-labels.js";
import { RelabelledHistogram } from "./relabelled-histogram.js";

/** A sample line whose value prom-client wrote as "Nan" (comment lines excluded). */
const NAN_SAMPLE = /^([^#\n].* )Nan$/gm;

export type { HistogramSeriesJson, MetricsJson, ModelState } from "./metrics-json.js";

/** The cache counters and their metric names, in the order of the exposition. */
export const COUNTER_METRICS: readonly { readonly counter: CounterName; readonly name: string; readonly help: string }[] = [
  { counter: "lookups", name: "semcache_lookups_total", help: "Lookups made, by Lookup and by Ask." },
  { counter: "exactHits", name: "semcache_exact_hits_total", help: "Lookups answered by the exact layer." },
  { counter: "semanticHits", name: "semcache_semantic_hits_total", help: "Lookups answered by the semantic layer." },
  { counter: "misses", name: "semcache_misses_total", help: "Lookups that found nothing." },
  { counter: "stores", name: "semcache_stores_total", help: "Entries stored, by Store and by Ask." },
  { counter: "flushes", name: "semcache_flushes_total", help: 'Flush calls (a flush of all namespaces counts under namespace="*").' },
  { counter: "llmCalls", name: "semcache_llm_calls_total", help: "Calls made to the LLM." },
  { counter: "coalescedCalls", name: "semcache_coalesced_calls_total", help: "Asks that waited for an identical LLM call in flight." },
  { counter: "tokensSaved", name: "semcache_tokens_saved_total", help: "Completion tokens that cache hits saved." },
  { counter: "guardRejections", name: "semcache_guard_rejections_total", help: "Semantic matches above the threshold rejected by the guard." },
  { counter: "explorations", name: "semcache_explorations_total", help: "Asks under an error budget that asked the LLM to check a cached candidate." },
  { counter: "feedbackReceived", name: "semcache_feedback_total", help: "Feedback calls recorded." },
  { counter: "servedThenJudgedWrong", name: "semcache_served_then_judged_wrong_total", help: "Served cached answers that Feedback later judged wrong." },
];

/** Kind of `semcache_errors_total` for store and embedder failures (the Stats RPC's cache_errors). */
export const CACHE_ERROR_KIND = "cache";

// Buckets: RPCs from sub-millisecond exact hits to LLM calls; the model and the
// index well below that; similarity fine around the usual thresholds.
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const EMBED_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SEARCH_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
export const SIMILARITY_BUCKETS = [0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 0.99, 1];

const MODEL_STATES: readonly ModelState[] = ["loading", "ready", "failed"];

/** One finished RPC, as the metrics need it. */
export interface RpcOutcome {
  readonly service: string;
  readonly method: string;
  /** "ok", or the status code in snake case ("invalid_argument"). */
  readonly code: string;
  readonly seconds: number;
  /** The namespace the call was about; "" for none (or an invalid one). */
  readonly namespace: string;
}

/** Options of {@link SemcacheMetrics}. */
export interface MetricsOptions {
  /** Namespaces with a label of their own; the rest are "other". Default 20. */
  readonly namespaceLabelLimit?: number;
  /** Also export prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
}

type Snapshot = Map<string, CounterValues>;

/** All of semcache's metrics. */
export class SemcacheMetrics {
  readonly registry = new Registry();
  readonly namespaces: NamespaceLabels;
  private cache: SemanticCache | undefined;
  private modelState: ModelState = "loading";
  /** Counter values per namespace label, taken once per scrape. */
  private snapshot: Snapshot = new Map();
  /** Failed RPCs per namespace and kind: under the label once it is settled, bounded (NamespaceLabels.keyFor). */
  private readonly rpcErrors = new Map<string, Map<string, number>>();
  private readonly rpcDuration: Histogram<"service" | "method" | "code">;
  private readonly embedDuration: Histogram;
  private readonly embedBatchSize: Histogram;
  private readonly searchDuration: Histogram;
  private readonly embeddingsReused: Counter;
  private readonly similarity: RelabelledHistogram;

  /** Hooks for the cache core, given to it when it is built (src/app/load-cache.ts). */
  readonly cacheObserver: CacheObserver;
  /** Hooks for the embedder, given to it when it is loaded (src/app/load-cache.ts). */
  readonly embedderObserver: EmbedderObserver;

  constructor(options: MetricsOptions = {}) {
    this.namespaces = new NamespaceLabels(options.namespaceLabelLimit);
    const registers = [this.registry];
    const self = this;
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });

    for (const { counter, name, help } of COUNTER_METRICS) {
      new Counter({
        name,
        help,
        labelNames: ["namespace"],
        registers,
        collect(this: Counter<"namespace">) {
          this.reset();
          for (const [namespace, values] of self.snapshot) this.inc({ namespace }, values[counter]);
        },
      });
    }
    new Counter({
      name: "semcache_errors_total",
      help: `Errors by kind: "${CACHE_ERROR_KIND}" for store or embedder failures (Stats cache_errors), else the status code of a failed RPC.`,
      labelNames: ["namespace", "kind"],
      registers,
      collect(this: Counter<"namespace" | "kind">) {
        this.reset();
        for (const [namespace, byKind] of self.errorsByLabel()) {
          for (const [kind, value] of byKind) this.inc({ namespace, kind }, value);
        }
      },
    });

    this.rpcDuration = new Histogram({
      name: "semcache_rpc_duration_seconds",
      help: "RPC latency by method and outcome (status code); streams until their end.",
      labelNames: ["service", "method", "code"],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.embedDuration = new Histogram({
      name: "semcache_embedding_duration_seconds",
      help: "Time of one embedding batch (one or more model runs).",
      buckets: EMBED_BUCKETS,
      registers,
    });
    this.embedBatchSize = new Histogram({
      name: "semcache_embedding_batch_size",
      help: "Windows (texts, or pieces of long texts) per embedding batch.",
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.searchDuration = new Histogram({
      name: "semcache_search_duration_seconds",
      help: "Time of one nearest-neighbour search in the store's per-scope index.",
      buckets: SEARCH_BUCKETS,
      registers,
    });
    this.embeddingsReused = new Counter({
      name: "semcache_embeddings_reused_total",
      help: "Prompt embeddings reused instead of running the model: kept from a recent call in the same scope (SEMCACHE_EMBED_MEMO_ENTRIES), or shared with the same prompt in flight.",
      registers,
    });
    this.similarity = new RelabelledHistogram(
      "semcache_match_similarity",
      "Cosine similarity of the semantic layer's best candidate, by outcome (hit or miss): what thresholds are tuned with. Exact hits and empty scopes are not observed.",
      SIMILARITY_BUCKETS,
      (labels) => ({ ...labels, namespace: this.namespaces.label(labels["namespace"] ?? "") }),
      (labels) => ({ ...labels, namespace: this.namespaces.keyFor(labels["namespace"] ?? "") }),
    );
    this.registry.registerMetric(this.similarity.asMetric());

    new Gauge({
      name: "semcache_entries",
      help: "Entries in the store (unexpired).",
      labelNames: ["store"],
      registers,
      async collect(this: Gauge<"store">) {
        this.reset();
        const entries = await self.countEntries();
        if (entries !== null && self.cache !== undefined) this.set({ store: self.cache.describe().storeKind }, entries);
      },
    });
    new Gauge({
      name: "semcache_store_up",
      help: "1 while the store answers its health ping (Redis reachable with its index; the embedded data directory in place), else 0: what /healthz and gRPC health report.",
      registers,
      collect(this: Gauge) {
        this.reset();
        if (self.cache !== undefined) this.set(storeAnswering(self.cache) ? 1 : 0);
      },
    });
    new Gauge({
      name: "semcache_model_state",
      help: "1 for the current state of the model and store: loading, ready or failed.",
      labelNames: ["state"],
      registers,
      collect(this: Gauge<"state">) {
        for (const state of MODEL_STATES) this.set({ state }, state === self.modelState ? 1 : 0);
      },
    });
    new Gauge({
      name: "semcache_model_info",
      help: "1, labelled with the embedding model, its dimension and the store, once loaded.",
      labelNames: ["model", "dimension", "store"],
      registers,
      collect(this: Gauge<"model" | "dimension" | "store">) {
        this.reset();
        const cache = self.cache;
        if (cache !== undefined) {
          const { modelId, dimension, storeKind } = cache.describe();
          this.set({ model: modelId, dimension: String(dimension), store: storeKind }, 1);
        }
      },
    });

    this.cacheObserver = {
      onSearch: (ms) => this.searchDuration.observe(ms / 1000),
      onMatch: (namespace, similarity, hit) => this.similarity.observe({ namespace, outcome: hit ? "hit" : "miss" }, similarity),
      onEmbeddingReused: () => this.embeddingsReused.inc(),
    };
    this.embedderObserver = {
      onEmbed: (ms, batchSize) => {
        this.embedDuration.observe(ms / 1000);
        this.embedBatchSize.observe(batchSize);
      },
    };
  }

  /** Starts reading a loaded cache's counters (built with this object's observers). */
  attach(cache: SemanticCache): void {
    this.cache = cache;
    this.modelState = "ready";
  }

  /** The model or the store failed to load. */
  loadFailed(): void {
    this.modelState = "failed";
  }

  /** Records one finished RPC. */
  recordRpc(outcome: RpcOutcome): void {
    this.rpcDuration.observe({ service: outcome.service, method: outcome.method, code: outcome.code }, outcome.seconds);
    // A call the client cancelled is not an error of the server: it shows only as code="canceled" above.
    if (outcome.code !== "ok" && outcome.code !== "canceled") addErrors(this.rpcErrors, this.namespaces.keyFor(outcome.namespace), outcome.code, 1);
  }

  /** The Prometheus text exposition. (Scrape through this, not the registry: it takes the counters first.) */
  async text(): Promise<string> {
    this.refresh();
    // prom-client spells NaN "Nan" (the event-loop lag's mean between two close scrapes); the exposition
    // format and OpenMetrics spell it "NaN", and strict parsers refuse the other.
    return (await this.registry.metrics()).replace(NAN_SAMPLE, "$1NaN");
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The same figures as JSON. */
  async json(): Promise<MetricsJson> {
    this.refresh();
    const metrics = await this.registry.getMetricsAsJSON();
    const byName = new Map(metrics.map((m) => [m.name, m]));
    const valuesOf = (name: string) =>
      (byName.get(name)?.values ?? []) as unknown as { labels: Record<string, string | number>; value: number; metricName?: string }[];

    const counters = {} as Record<CounterName, { total: number; byNamespace: Record<string, number> }>;
    for (const { counter, name } of COUNTER_METRICS) {
      const byNamespace: Record<string, number> = {};
      let total = 0;
      for (const { labels, value } of valuesOf(name)) {
        byNamespace[String(labels["namespace"])] = value;
        total += value;
      }
      counters[counter] = { total, byNamespace };
    }
    // cacheErrors has no metric of its own: it is semcache_errors_total{kind="cache"}.
    const cacheErrors: Record<string, number> = {};
    const errors = { total: 0, byKind: {} as Record<string, number>, byNamespace: {} as Record<string, Record<string, number>> };
    for (const { labels, value } of valuesOf("semcache_errors_total")) {
      const namespace = String(labels["namespace"]);
      const kind = String(labels["kind"]);
      errors.total += value;
      errors.byKind[kind] = (errors.byKind[kind] ?? 0) + value;
      const byKind = errors.byNamespace[namespace] ?? {};
      byKind[kind] = value;
      errors.byNamespace[namespace] = byKind;
      if (kind === CACHE_ERROR_KIND) cacheErrors[namespace] = value;
    }
    counters.cacheErrors = { total: Object.values(cacheErrors).reduce((a, b) => a + b, 0), byNamespace: cacheErrors };

    const histograms: Record<string, HistogramSeriesJson[]> = {};
    for (const metric of metrics) {
      if ((metric.type as unknown as string) !== "histogram") continue;
      histograms[metric.name] = histogramSeries(metric.name, valuesOf(metric.name));
    }

    const rpc: Record<string, { count: number; errors: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null }> = {};
    const rpcSeries = histograms["semcache_rpc_duration_seconds"] ?? [];
    for (const method of new Set(rpcSeries.map((s) => s.labels["method"] ?? ""))) {
      const series = rpcSeries.filter((s) => s.labels["method"] === method);
      const merged = mergeSeries(series);
      const ms = (q: number) => {
        const seconds = quantile(merged.buckets, merged.count, q);
        return seconds === null ? null : seconds * 1000;
      };
      rpc[method] = {
        count: merged.count,
        errors: series.filter((s) => s.labels["code"] !== "ok" && s.labels["code"] !== "canceled").reduce((sum, s) => sum + s.count, 0),
        p50Ms: ms(0.5),
        p90Ms: ms(0.9),
        p99Ms: ms(0.99),
      };
    }

    const entries = valuesOf("semcache_entries")[0]?.value ?? null;
    const described = this.cache?.describe();
    return {
      model: {
        state: this.modelState,
        id: described?.modelId ?? null,
        dimension: described?.dimension ?? null,
        store: described?.storeKind ?? null,
      },
      entries,
      namespaceLabels: { limit: this.namespaces.limit, labelled: this.namespaces.labelled() },
      counters,
      errors,
      histograms,
      rpc,
    };
  }

  /** Hands out namespace labels and takes the counters, once per scrape. */
  private refresh(): void {
    const cache = this.cache;
    const traffic = new Map<string, number>();
    const add = (namespace: string, by: number) => traffic.set(namespace, (traffic.get(namespace) ?? 0) + by);
    const raw = new Map<string, CounterValues>();
    for (const namespace of cache?.counterNamespaces() ?? []) {
      const values = cache!.readCounters(namespace);
      raw.set(namespace, values);
      add(namespace, values.lookups + values.stores + values.flushes + values.llmCalls + values.cacheErrors);
    }
    for (const [namespace, byKind] of this.rpcErrors) add(namespace, [...byKind.values()].reduce((a, b) => a + b, 0));
    for (const labels of this.similarity.rawLabels()) add(labels["namespace"] ?? "", 0);
    this.namespaces.assign(traffic);
    // Every namespace's label is settled now: keep the figures under it, so they take no more room than the labels.
    const errors = new Map(this.rpcErrors);
    this.rpcErrors.clear();
    for (const [namespace, byKind] of errors) for (const [kind, value] of byKind) addErrors(this.rpcErrors, this.namespaces.label(namespace), kind, value);
    this.similarity.fold();

    const snapshot: Snapshot = new Map();
    for (const [namespace, values] of raw) {
      const label = this.namespaces.label(namespace);
      const into = snapshot.get(label);
      if (into === undefined) {
        snapshot.set(label, { ...values });
      } else {
        for (const name of Object.keys(values) as CounterName[]) into[name] += values[name];
      }
    }
    this.snapshot = snapshot;
  }

  /** Errors per namespace label and kind: failed RPCs, and the core's cache errors. */
  private errorsByLabel(): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const [label, values] of this.snapshot) addErrors(out, label, CACHE_ERROR_KIND, values.cacheErrors);
    for (const [namespace, byKind] of this.rpcErrors) {
      for (const [kind, value] of byKind) addErrors(out, this.namespaces.label(namespace), kind, value);
    }
    return out;
  }

  private async countEntries(): Promise<number | null> {
    if (this.cache === undefined) return null;
    try {
      return (await this.cache.stats()).entries;
    } catch {
      // A failing store must not fail the scrape; the gauge is left out instead.
      return null;
    }
  }
}

/** Adds `value` errors of `kind` under `namespace`. */
function addErrors(into: Map<string, Map<string, number>>, namespace: string, kind: string, value: number): void {
  if (value === 0) return;
  let byKind = into.get(namespace);
  if (byKind === undefined) {
    byKind = new Map();
    into.set(namespace, byKind);
  }
  byKind.set(kind, (byKind.get(kind) ?? 0) + value);
}

/** Regroups a histogram's flat values into series. */
function histogramSeries(name: string, values: readonly { labels: Record<string, string | number>; value: number; metricName?: string }[]): HistogramSeriesJson[] {
  const series = new Map<string, { labels: Record<string, string>; count: number; sum: number; buckets: [number | "+Inf", number][] }>();
  for (const { labels, value, metricName } of values) {
    const { le, ...rest } = labels;
    const own = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]));
    const key = JSON.stringify(own);
    let s = series.get(key);
    if (s === undefined) {
      s = { labels: own, count: 0, sum: 0, buckets: [] };
      series.set(key, s);
    }
    if (metricName === `${name}_bucket`) s.buckets.push([le === "+Inf" ? "+Inf" : Number(le), value]);
    else if (metricName === `${name}_sum`) s.sum = value;
    else if (metricName === `${name}_count`) s.count = value;
  }
  return [...series.values()].map((s) => ({
    ...s,
    p50: quantile(s.buckets, s.count, 0.5),
    p90: quantile(s.buckets, s.count, 0.9),
    p99: quantile(s.buckets, s.count, 0.99),
  }));
}

/** Sums series that share bucket bounds. */
function mergeSeries(series: readonly HistogramSeriesJson[]): { count: number; buckets: [number | "+Inf", number][] } {
  const buckets = (series[0]?.buckets ?? []).map(([le]) => [le, 0] as [number | "+Inf", number]);
  let count = 0;
  for (const s of series) {
    count += s.count;
    for (const [i, [, n]] of s.buckets.entries()) buckets[i]![1] += n;
  }
  return { count, buckets };
}

/** PromQL's histogram_quantile over cumulative buckets: linear inside the bucket; the top finite bound when in +Inf. */
export function quantile(buckets: readonly (readonly [number | "+Inf", number])[], count: number, q: number): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, cumulative] of buckets) {
    if (le === "+Inf") return lowerBound;
    if (cumulative >= rank) {
      const inBucket = cumulative - lowerCount;
      return inBucket === 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = le;
    lowerCount = cumulative;
  }
  return lowerBound;
}
