import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatchKind, type StatsResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { COUNTER_METRICS, NamespaceLabels, quantile, SemcacheMetrics, type MetricsJson } from "../../src/observability/index.js";
import { SIMILARITY_BUCKETS } from "../../src/observability/metrics.js";
import { testKey, writeKeyFile } from "../support/key-files.js";
import { clientFor } from "../support/clients.js";
import { startObservedServer, type ObservedServer } from "../support/observed-server.js";
import { parsePrometheusText, sampleValue, samplesOf, sumOf, type Family } from "./support/prometheus-text.js";

const FRANCE = "What is the capital of France?";
const PARAPHRASE = "Tell me the capital city of France.";
const SPIDER = "How many legs does a spider have?";
const BREAD = "How do I bake sourdough bread?";

async function scrape(url: string): Promise<{ families: Map<string, Family>; contentType: string | null }> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return { families: parsePrometheusText(await response.text()), contentType: response.headers.get("content-type") };
}

async function scrapeJson(url: string, key?: string): Promise<MetricsJson> {
  const response = await fetch(`${url}/metrics/json`, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return (await response.json()) as MetricsJson;
}

/** A counter's values by namespace label. */
function byNamespace(families: Map<string, Family>, name: string): Record<string, number> {
  return Object.fromEntries(samplesOf(families, name).map((s) => [s.labels["namespace"], s.value]));
}

/** The Stats fields that are counters, as numbers. */
function statsCounters(stats: StatsResponse): Record<string, number> {
  return {
    lookups: Number(stats.lookups),
    exactHits: Number(stats.exactHits),
    semanticHits: Number(stats.semanticHits),
    misses: Number(stats.misses),
    stores: Number(stats.stores),
    flushes: Number(stats.flushes),
    llmCalls: Number(stats.llmCalls),
    coalescedCalls: Number(stats.coalescedCalls),
    tokensSaved: Number(stats.tokensSaved),
    guardRejections: Number(stats.guardRejections),
    cacheErrors: Number(stats.cacheErrors),
    explorations: Number(stats.explorations),
    feedbackReceived: Number(stats.feedbackReceived),
    servedThenJudgedWrong: Number(stats.servedThenJudgedWrong),
  };
}

describe("/metrics after a scripted sequence of calls", () => {
  let s: ObservedServer;
  beforeAll(async () => {
    s = await startObservedServer({ env: { SEMCACHE_LOG_LEVEL: "warn" } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("counts exactly what was done; Stats and /metrics/json agree", async () => {
    const connect = clientFor("connect-h1", s.url);
    const grpc = clientFor("grpc", s.url);
    const web = clientFor("grpc-web", s.url);
    const a = { namespace: "m-a", model: "gpt-4o-mini" };
    const b = { namespace: "m-b" };
    const c = { namespace: "m-c" };

    // 3 stores (3 embeddings).
    await connect.store({ prompt: FRANCE, response: "Paris.", scope: a });
    await grpc.store({ prompt: SPIDER, response: "Eight.", scope: a });
    await web.store({ prompt: FRANCE, response: "Paris.", scope: b });
    // 2 exact hits (no embedding, no search).
    expect((await connect.lookup({ prompt: FRANCE, scope: a })).kind).toBe(MatchKind.EXACT);
    expect((await grpc.lookup({ prompt: `  ${FRANCE} `, scope: a })).kind).toBe(MatchKind.EXACT);
    // 1 semantic hit, 1 miss with candidates, 1 miss in an empty scope (3 embeddings, 3 searches, 2 similarities).
    const semantic = await web.lookup({ prompt: PARAPHRASE, scope: a });
    expect(semantic.kind).toBe(MatchKind.SEMANTIC);
    const miss = await connect.lookup({ prompt: BREAD, scope: a });
    expect(miss.hit).toBe(false);
    expect(miss.similarity).toBeGreaterThan(0);
    const empty = await grpc.lookup({ prompt: BREAD, scope: c });
    expect(empty.hit).toBe(false);
    expect(empty.similarity).toBe(0);
    // 1 flush.
    expect((await connect.flush({ namespace: "m-b" })).deleted).toBe(1n);
    // 1 bad request: counted as an error, not as a lookup.
    await expect(connect.lookup({ prompt: "   ", scope: a })).rejects.toMatchObject({ code: Code.InvalidArgument });

    const { families: m, contentType } = await scrape(s.url);
    const json = await scrapeJson(s.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    // The cache counters, per namespace label.
    const expected: Record<string, Record<string, number>> = {
      semcache_lookups_total: { "m-a": 4, "m-b": 0, "m-c": 1 },
      semcache_exact_hits_total: { "m-a": 2, "m-b": 0, "m-c": 0 },
      semcache_semantic_hits_total: { "m-a": 1, "m-b": 0, "m-c": 0 },
      semcache_misses_total: { "m-a": 1, "m-b": 0, "m-c": 1 },
      semcache_stores_total: { "m-a": 2, "m-b": 1, "m-c": 0 },
      semcache_flushes_total: { "m-a": 0, "m-b": 1, "m-c": 0 },
      semcache_llm_calls_total: { "m-a": 0, "m-b": 0, "m-c": 0 },
      semcache_coalesced_calls_total: { "m-a": 0, "m-b": 0, "m-c": 0 },
      semcache_tokens_saved_total: { "m-a": 0, "m-b": 0, "m-c": 0 },
      semcache_guard_rejections_total: { "m-a": 0, "m-b": 0, "m-c": 0 },
    };
    for (const [name, values] of Object.entries(expected)) {
      expect(m.get(name)?.type, name).toBe("counter");
      expect(byNamespace(m, name), name).toEqual(values);
    }
    expect(samplesOf(m, "semcache_errors_total")).toEqual([
      { name: "semcache_errors_total", labels: { namespace: "m-a", kind: "invalid_argument" }, value: 1 },
    ]);

    // RPC latency: one observation per call, by method and outcome.
    const rpcCounts = Object.fromEntries(
      samplesOf(m, "semcache_rpc_duration_seconds_count").map((x) => [`${x.labels["method"]}/${x.labels["code"]}`, x.value]),
    );
    expect(rpcCounts).toEqual({ "Store/ok": 3, "Lookup/ok": 5, "Lookup/invalid_argument": 1, "Flush/ok": 1 });
    for (const x of samplesOf(m, "semcache_rpc_duration_seconds_count")) {
      expect(x.labels["service"]).toBe("semcache.v1.SemanticCacheService");
    }

    // Embedding: 3 stores + 3 non-exact lookups, one window each; searches: the 3 non-exact lookups.
    expect(sampleValue(m, "semcache_embedding_duration_seconds_count")).toBe(6);
    expect(sampleValue(m, "semcache_embedding_batch_size_count")).toBe(6);
    expect(sampleValue(m, "semcache_embedding_batch_size_sum")).toBe(6);
    expect(sampleValue(m, "semcache_embedding_batch_size_bucket", { le: "1" })).toBe(6);
    expect(sampleValue(m, "semcache_search_duration_seconds_count")).toBe(3);

    // Similarity of the best candidate: the semantic hit and the miss in m-a; the empty scope has none.
    expect(samplesOf(m, "semcache_match_similarity_count").map((x) => x.labels)).toEqual([
      { namespace: "m-a", outcome: "hit" },
      { namespace: "m-a", outcome: "miss" },
    ]);
    for (const [outcome, similarity] of [["hit", semantic.similarity], ["miss", miss.similarity]] as const) {
      const labels = { namespace: "m-a", outcome };
      expect(sampleValue(m, "semcache_match_similarity_count", labels)).toBe(1);
      expect(sampleValue(m, "semcache_match_similarity_sum", labels)).toBeCloseTo(similarity, 6);
      for (const le of SIMILARITY_BUCKETS) {
        expect(sampleValue(m, "semcache_match_similarity_bucket", { ...labels, le: String(le) }), `${outcome} le=${le}`).toBe(similarity <= le ? 1 : 0);
      }
    }

    // Gauges.
    expect(sampleValue(m, "semcache_entries", { store: "embedded" })).toBe(2);
    expect(sampleValue(m, "semcache_model_state", { state: "ready" })).toBe(1);
    expect(sampleValue(m, "semcache_store_up")).toBe(1);
    expect(sampleValue(m, "semcache_model_state", { state: "loading" })).toBe(0);
    expect(sampleValue(m, "semcache_model_state", { state: "failed" })).toBe(0);
    const [info] = samplesOf(m, "semcache_model_info");
    expect(info?.value).toBe(1);

    // Stats agrees (Stats calls are RPCs, but change none of the cache counters).
    const all = await connect.stats({});
    expect(info?.labels).toEqual({ model: all.modelId, dimension: String(all.embeddingDimension), store: all.storeKind });
    expect(Number(all.entries)).toBe(2);
    for (const { counter, name } of COUNTER_METRICS) {
      expect(sumOf(m, name), name).toBe(statsCounters(all)[counter]);
      for (const namespace of ["m-a", "m-b", "m-c"]) {
        const one = await grpc.stats({ namespace });
        expect(sampleValue(m, name, { namespace }), `${name}{${namespace}}`).toBe(statsCounters(one)[counter]);
      }
    }
    expect(sumOf(m, "semcache_errors_total", { kind: "cache" })).toBe(Number(all.cacheErrors));
    expect(all.hitRate).toBeCloseTo(3 / 5, 10);

    // /metrics/json: the same figures.
    for (const { counter, name } of COUNTER_METRICS) {
      expect(json.counters[counter].byNamespace, name).toEqual(byNamespace(m, name));
      expect(json.counters[counter].total, name).toBe(statsCounters(all)[counter]);
    }
    expect(json.counters.cacheErrors.total).toBe(Number(all.cacheErrors));
    expect(json.errors).toEqual({ total: 1, byKind: { invalid_argument: 1 }, byNamespace: { "m-a": { invalid_argument: 1 } } });
    expect(json.entries).toBe(2);
    expect(json.model).toEqual({ state: "ready", id: all.modelId, dimension: all.embeddingDimension, store: "embedded" });
    for (const [name, family] of m) {
      if (family.type !== "histogram") continue;
      const series = json.histograms[name];
      expect(series, name).toBeDefined();
      // The runtime's own (garbage collections) move by themselves between the two scrapes.
      if (!name.startsWith("semcache_")) continue;
      const counts = samplesOf(m, `${name}_count`);
      expect(series!.length, name).toBe(counts.length);
      for (const x of counts) {
        const match = series!.find((js) => JSON.stringify(js.labels) === JSON.stringify(x.labels));
        expect(match?.count, `${name} ${JSON.stringify(x.labels)}`).toBe(x.value);
        expect(match?.sum).toBeCloseTo(sampleValue(m, `${name}_sum`, x.labels)!, 12);
      }
    }
    expect(json.rpc["Lookup"]).toMatchObject({ count: 6, errors: 1 });
    expect(json.rpc["Store"]).toMatchObject({ count: 3, errors: 0 });
    expect(json.rpc["Lookup"]!.p50Ms).toBeGreaterThan(0);

    // The Stats calls above were recorded too, once each: 1 + 3 per counter.
    const after = await scrape(s.url);
    expect(sampleValue(after.families, "semcache_rpc_duration_seconds_count", { service: "semcache.v1.SemanticCacheService", method: "Stats", code: "ok" })).toBe(1 + 3 * COUNTER_METRICS.length);
  });
});

describe("namespace label cardinality", () => {
  let s: ObservedServer;
  beforeAll(async () => {
    s = await startObservedServer({ env: { SEMCACHE_LOG_LEVEL: "warn" }, observability: { namespaceLabelLimit: 2 } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("labels the top namespaces by traffic, counts the rest as other, and never moves a namespace", async () => {
    const client = clientFor("connect-h1", s.url);
    const lookups = async (namespace: string, n: number) => {
      for (let i = 0; i < n; i++) await client.lookup({ prompt: `question ${i} for ${namespace}`, scope: { namespace } });
    };
    await lookups("busy", 5);
    await lookups("medium", 4);
    await lookups("quiet-1", 1);
    // quiet-2: a store, a miss with a candidate (a similarity observation) and a bad request: traffic 3.
    await client.store({ prompt: SPIDER, response: "Eight.", scope: { namespace: "quiet-2" } });
    expect((await client.lookup({ prompt: BREAD, scope: { namespace: "quiet-2" } })).hit).toBe(false);
    await expect(client.lookup({ prompt: "", scope: { namespace: "quiet-2" } })).rejects.toMatchObject({ code: Code.InvalidArgument });

    const first = (await scrape(s.url)).families;
    expect(byNamespace(first, "semcache_lookups_total")).toEqual({ busy: 5, medium: 4, other: 2 });
    expect(byNamespace(first, "semcache_stores_total")).toEqual({ busy: 0, medium: 0, other: 1 });
    expect(samplesOf(first, "semcache_errors_total").map((x) => x.labels)).toEqual([{ namespace: "other", kind: "invalid_argument" }]);
    expect(samplesOf(first, "semcache_match_similarity_count").map((x) => [x.labels, x.value])).toEqual([[{ namespace: "other", outcome: "miss" }, 1]]);

    // quiet-1 becomes the busiest, and a new namespace appears: both stay in "other",
    // so every series only grows.
    await lookups("quiet-1", 6);
    await lookups("late", 1);
    const second = (await scrape(s.url)).families;
    expect(byNamespace(second, "semcache_lookups_total")).toEqual({ busy: 5, medium: 4, other: 9 });
    const namespaceLabels = new Set<string>();
    for (const family of second.values()) for (const x of family.samples) if (x.labels["namespace"] !== undefined) namespaceLabels.add(x.labels["namespace"]);
    expect([...namespaceLabels].sort()).toEqual(["busy", "medium", "other"]);

    const stats = await client.stats({});
    expect(sumOf(second, "semcache_lookups_total")).toBe(Number(stats.lookups));
    expect(Number(stats.lookups)).toBe(18);
    const json = await scrapeJson(s.url);
    expect(json.namespaceLabels).toEqual({ limit: 2, labelled: ["busy", "medium"] });
    expect(json.counters.lookups.byNamespace).toEqual({ busy: 5, medium: 4, other: 9 });
  });
});

describe("namespace labels of refused calls (API keys on)", () => {
  const user = testKey({ id: "team-a", role: "user", namespaces: ["team-a"] });
  const admin = testKey({ id: "ops", role: "admin" });
  let work: string;
  let s: ObservedServer;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "semcache-metrics-keys-"));
    const keyFile = writeKeyFile(work, [user, admin]);
    // The user key may make one call; the admin key is unlimited (its own rate), for scraping.
    s = await startObservedServer({ env: { SEMCACHE_LOG_LEVEL: "error", SEMCACHE_API_KEYS_FILE: keyFile, SEMCACHE_RATE_LIMIT_RPS: "0.001", SEMCACHE_RATE_LIMIT_BURST: "1" } });
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("counts calls refused before authorization (401, 429) under no namespace, and labels none of theirs", async () => {
    const asUser = clientFor("connect-h1", s.url, { apiKey: user.key });
    const noKey = clientFor("connect-h1", s.url);
    const wrongKey = clientFor("grpc", s.url, { apiKey: "sck_not-a-key" });
    await asUser.lookup({ prompt: FRANCE, scope: { namespace: "team-a" } });
    const refused: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      refused.push(asUser.lookup({ prompt: FRANCE, scope: { namespace: `fake-rate-${i}` } }).catch((e: unknown) => e));
      refused.push(noKey.lookup({ prompt: FRANCE, scope: { namespace: `fake-nokey-${i}` } }).catch((e: unknown) => e));
      refused.push(wrongKey.store({ prompt: FRANCE, response: "x", scope: { namespace: `fake-badkey-${i}` } }).catch((e: unknown) => e));
    }
    const codes = (await Promise.all(refused)).map((e) => (e as { code?: Code }).code);
    expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(30);
    expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(60);

    const json = await scrapeJson(s.url, admin.key);
    expect(json.namespaceLabels.labelled).toEqual(["team-a"]);
    expect(json.errors.byNamespace).toEqual({ "": { resource_exhausted: 30, unauthenticated: 60 } });
    const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${admin.key}` } })).text();
    expect(text).not.toMatch(/fake-/);
  });
});

describe("NamespaceLabels", () => {
  it("keeps figures under a bounded set of names, however many namespaces are seen", () => {
    const labels = new NamespaceLabels(2);
    const keys = new Set<string>();
    for (let i = 0; i < 10_000; i++) keys.add(labels.keyFor(`ns-${i}`));
    // 64 namespaces may wait for a scrape under their own name; the rest go to "other" at once.
    expect(keys.size).toBe(65);
    expect(keys.has("other")).toBe(true);
    expect(labels.keyFor("ns-3")).toBe("ns-3");
    labels.assign(new Map([["ns-3", 5], ["ns-7", 4], ["ns-9", 1]]));
    expect(labels.labelled()).toEqual(["ns-3", "ns-7"]);
    // Slots full: a new name is "other" from the start, a labelled one keeps its name.
    expect(labels.keyFor("brand-new")).toBe("other");
    expect(labels.keyFor("ns-7")).toBe("ns-7");
    expect(labels.keyFor("")).toBe("");
  });

  it("SemcacheMetrics folds the errors of thousands of namespaces into the bounded labels at each scrape", async () => {
    const metrics = new SemcacheMetrics({ namespaceLabelLimit: 3, processMetrics: false });
    const record = (namespace: string) => metrics.recordRpc({ service: "s", method: "Lookup", code: "invalid_argument", seconds: 0.001, namespace });
    for (let i = 0; i < 5; i++) record("busy");
    for (let i = 0; i < 5_000; i++) record(`flood-${i}`);
    let json = await metrics.json();
    expect(json.errors.total).toBe(5_005);
    expect(Object.keys(json.errors.byNamespace).sort()).toEqual(["busy", "flood-0", "flood-1", "other"]);
    for (let i = 0; i < 5_000; i++) record(`second-flood-${i}`);
    json = await metrics.json();
    expect(json.errors.total).toBe(10_005);
    expect(json.errors.byNamespace["other"]).toEqual({ invalid_argument: 10_005 - 5 - 2 });
  });


  it("hands out slots busiest first, ties by name, and keeps them", () => {
    const labels = new NamespaceLabels(2);
    labels.assign(new Map([["b", 5], ["a", 5], ["c", 9], ["d", 1]]));
    expect(labels.labelled()).toEqual(["c", "a"]);
    expect(["a", "b", "c", "d"].map((n) => labels.label(n))).toEqual(["a", "other", "c", "other"]);
    labels.assign(new Map([["b", 100], ["e", 100]]));
    expect(labels.label("b")).toBe("other");
    expect(labels.label("e")).toBe("other");
  });

  it("never gives a slot to a namespace called other, nor to * and the empty label", () => {
    const labels = new NamespaceLabels(5);
    labels.assign(new Map([["other", 10], ["*", 10], ["", 10], ["x", 1]]));
    expect(labels.labelled()).toEqual(["x"]);
    expect(labels.label("*")).toBe("*");
    expect(labels.label("")).toBe("");
    expect(labels.label("other")).toBe("other");
  });
});

describe("the text exposition", () => {
  it("writes a NaN sample as the exposition format spells it, so a strict parser reads every scrape", async () => {
    // The event-loop lag's mean and deviation have no samples right after start and between two close scrapes:
    // prom-client writes them "Nan".
    // Scrapes back to back until one has such a value (a busy machine may let a lag sample in between two).
    const metrics = new SemcacheMetrics({});
    let sawNaN = false;
    for (let scrape = 0; scrape < 20 && !sawNaN; scrape++) {
      const text = await metrics.text();
      expect(text).not.toMatch(/ Nan$/m);
      const families = parsePrometheusText(text);
      sawNaN = Number.isNaN(sampleValue(families, "nodejs_eventloop_lag_mean_seconds"));
    }
    expect(sawNaN).toBe(true);
  });
});

describe("quantile", () => {
  it("interpolates inside a bucket, as histogram_quantile does", () => {
    const buckets: [number | "+Inf", number][] = [[0.1, 0], [0.2, 4], [0.4, 8], ["+Inf", 8]];
    expect(quantile(buckets, 8, 0.5)).toBeCloseTo(0.2, 10);
    expect(quantile(buckets, 8, 0.25)).toBeCloseTo(0.15, 10);
    expect(quantile(buckets, 8, 0.75)).toBeCloseTo(0.3, 10);
    expect(quantile(buckets, 0, 0.5)).toBeNull();
    expect(quantile([[1, 0], ["+Inf", 3]], 3, 0.5)).toBe(1);
  });
});
