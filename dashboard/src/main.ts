/**
 * semcache's dashboard: live Stats with a hit-rate chart, latency percentiles,
 * a form to try Lookup / Ask / Store in a scope, the recent entries of a
 * namespace, and Flush. Every API call goes through the generated client
 * (src/gen) over Connect-Web.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MatchKind, Source, type CacheEntry, type StatsResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { apiBaseUrl, cacheClient, fetchMetricsJson, type MetricsJson } from "./api.js";
import { drawHitRateChart, type HitRatePoint } from "./chart.js";
import "./style.css";

const params = new URLSearchParams(window.location.search);
/** How often Stats and the metrics are polled; `?poll=500` for a livelier page. */
const POLL_MS = Math.max(250, Number(params.get("poll") ?? 2000) || 2000);
/** The chart's time window. */
const WINDOW_MS = 5 * 60 * 1000;

const base = apiBaseUrl();
const client = cacheClient(base);

function byTestId<T extends Element = HTMLElement>(id: string): T {
  const node = document.querySelector<T>(`[data-testid="${id}"]`);
  if (node === null) throw new Error(`dashboard: no element with data-testid="${id}"`);
  return node;
}

/** Creates an element with text content (never HTML: prompts are user data). */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const count = (value: bigint | number) => value.toString();
const similarityText = (value: number) => value.toFixed(4);
const ms = (value: number | null) => (value === null ? "–" : value < 10 ? value.toFixed(2) : value.toFixed(0));
const when = (ts: Timestamp | undefined) => (ts === undefined ? "never" : timestampDate(ts).toLocaleString());

function describeError(error: unknown): string {
  const e = ConnectError.from(error);
  return `${codeLabel(e.code)}: ${e.rawMessage}`;
}

/** Code.InvalidArgument → "invalid_argument", as in the API's docs and the server's logs. */
function codeLabel(code: Code): string {
  return (Code[code] ?? `code ${code}`).replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

// --- Stats and the hit-rate chart -------------------------------------------------------------

const statsNamespace = byTestId<HTMLInputElement>("stats-namespace");
const chart = byTestId<SVGSVGElement>("hit-rate-chart");
let points: HitRatePoint[] = [];
let previous: { lookups: bigint; hits: bigint } | undefined;
let defaultThreshold: number | undefined;

function setState(text: string, kind: "ok" | "warn" | "bad"): void {
  const pill = byTestId("server-state");
  pill.textContent = text;
  pill.className = `pill ${kind}`;
}

function showStats(stats: StatsResponse): void {
  byTestId("hit-rate").textContent = stats.lookups === 0n ? "–" : percent(stats.hitRate);
  byTestId("lookups").textContent = count(stats.lookups);
  byTestId("exact-hits").textContent = count(stats.exactHits);
  byTestId("semantic-hits").textContent = count(stats.semanticHits);
  byTestId("misses").textContent = count(stats.misses);
  byTestId("entries").textContent = count(stats.entries);
  byTestId("stores").textContent = count(stats.stores);
  byTestId("llm-calls").textContent = count(stats.llmCalls);
  defaultThreshold = stats.defaultThreshold;
  byTestId("server-meta").textContent = `${stats.modelId} · ${stats.embeddingDimension}d · ${stats.storeKind} store · threshold ${stats.defaultThreshold.toFixed(2)}`;

  const hits = stats.exactHits + stats.semanticHits;
  const delta = previous === undefined ? 0n : stats.lookups - previous.lookups;
  points.push({
    t: Date.now(),
    cumulative: stats.lookups === 0n ? null : stats.hitRate,
    interval: previous !== undefined && delta > 0n ? Number(hits - previous.hits) / Number(delta) : null,
  });
  previous = { lookups: stats.lookups, hits };
  points = points.filter((p) => p.t >= Date.now() - WINDOW_MS);
  drawHitRateChart(chart, points, WINDOW_MS);
}

async function refreshStats(): Promise<void> {
  const namespace = statsNamespace.value.trim();
  try {
    showStats(await client.stats(namespace === "" ? {} : { namespace }));
    setState("serving", "ok");
  } catch (error) {
    const e = ConnectError.from(error);
    const loading = e.code === Code.Unavailable;
    setState(loading ? "loading / unavailable" : "unreachable", loading ? "warn" : "bad");
    byTestId("server-state").title = describeError(error);
  }
}

statsNamespace.addEventListener("change", () => {
  // Another scope: its own history.
  points = [];
  previous = undefined;
  void refreshStats();
});

// --- Latency (from /metrics/json) ----------------------------------------------------------------

function showLatency(metrics: MetricsJson): void {
  const rows: HTMLTableRowElement[] = [];
  const methods = Object.entries(metrics.rpc).sort(([, a], [, b]) => b.count - a.count);
  for (const [method, figures] of methods) {
    rows.push(h("tr", {}, h("td", {}, method), h("td", {}, String(figures.count)), h("td", {}, String(figures.errors)), h("td", {}, ms(figures.p50Ms)), h("td", {}, ms(figures.p90Ms)), h("td", {}, ms(figures.p99Ms))));
  }
  const stage = (label: string, metric: string) => {
    const series = metrics.histograms[metric]?.[0];
    if (series === undefined || series.count === 0) return;
    const toMs = (seconds: number | null) => (seconds === null ? null : seconds * 1000);
    rows.push(h("tr", { class: "stage" }, h("td", {}, label), h("td", {}, String(series.count)), h("td", {}, ""), h("td", {}, ms(toMs(series.p50))), h("td", {}, ms(toMs(series.p90))), h("td", {}, ms(toMs(series.p99)))));
  };
  stage("embedding batch", "semcache_embedding_duration_seconds");
  stage("index search", "semcache_search_duration_seconds");
  if (rows.length === 0) rows.push(h("tr", {}, h("td", { colspan: "6", class: "muted" }, "no calls yet")));
  byTestId("latency").querySelector("tbody")!.replaceChildren(...rows);
}

async function refreshLatency(): Promise<void> {
  try {
    showLatency(await fetchMetricsJson(base));
  } catch {
    // The Stats poll reports an unreachable server.
  }
}

// --- Try it: Lookup, Ask, Store -----------------------------------------------------------------

const form = byTestId<HTMLFormElement>("try-form");
const resultPanel = byTestId("result");

function scopeOf(data: FormData): { namespace: string; model: string } {
  return { namespace: String(data.get("namespace") ?? "").trim(), model: String(data.get("model") ?? "").trim() };
}

function similarityBar(similarity: number, threshold: number | undefined): HTMLElement {
  const bar = h("div", { class: "simbar", title: `similarity ${similarityText(similarity)}` }, h("div", { class: "fill", style: `width:${Math.max(0, Math.min(1, similarity)) * 100}%` }));
  if (threshold !== undefined) bar.append(h("div", { class: "marker", style: `left:${threshold * 100}%`, title: `threshold ${threshold}` }));
  return bar;
}

function showResult(outcome: string, kind: "hit" | "miss" | "info" | "error", rows: [string, string, string?][], bar?: HTMLElement): void {
  const list = h("dl", {});
  for (const [label, value, testId] of rows) list.append(h("dt", {}, label), h("dd", testId === undefined ? {} : { "data-testid": testId }, value));
  resultPanel.replaceChildren(h("h2", {}, "Result"), h("div", { class: `outcome ${kind}`, "data-testid": "result-outcome" }, outcome), ...(bar === undefined ? [] : [bar]), list);
}

async function runLookup(data: FormData): Promise<void> {
  const minSimilarity = data.get("minSimilarity") === "" ? undefined : Number(data.get("minSimilarity"));
  const res = await client.lookup({ prompt: String(data.get("prompt")), scope: scopeOf(data), ...(minSimilarity === undefined ? {} : { minSimilarity }) });
  const common: [string, string, string?][] = [
    ["Similarity", similarityText(res.similarity), "result-similarity"],
    ["Threshold", res.threshold.toFixed(2), "result-threshold"],
  ];
  if (res.hit && res.entry !== undefined) {
    showResult(`HIT · ${res.kind === MatchKind.EXACT ? "exact" : "semantic"}`, "hit", [
      ...common,
      ["Matched prompt", res.entry.prompt, "result-matched-prompt"],
      ["Response", res.entry.response, "result-response"],
      ["Entry", `${res.entry.id} · ${res.entry.hits} hits`],
    ], similarityBar(res.similarity, res.threshold));
  } else {
    showResult("MISS", "miss", [...common, ["", "Best similarity in the scope is below the threshold (0 when the scope is empty)."]], similarityBar(res.similarity, res.threshold));
  }
}

async function runAsk(data: FormData): Promise<void> {
  const minSimilarity = data.get("minSimilarity") === "" ? undefined : Number(data.get("minSimilarity"));
  const res = await client.ask({ prompt: String(data.get("prompt")), scope: scopeOf(data), ...(minSimilarity === undefined ? {} : { minSimilarity }) });
  const threshold = minSimilarity ?? defaultThreshold;
  const source = res.source === Source.CACHE ? "cache" : res.source === Source.LLM ? "LLM" : res.source === Source.COALESCED ? "LLM (coalesced)" : "?";
  showResult(`ANSWER · from ${source}`, res.source === Source.CACHE ? "hit" : "info", [
    ["Similarity", similarityText(res.similarity), "result-similarity"],
    ["Threshold", threshold === undefined ? "server default" : threshold.toFixed(2), "result-threshold"],
    ...(res.matchedPrompt === "" ? [] : [["Matched prompt", res.matchedPrompt, "result-matched-prompt"] as [string, string, string]]),
    ["Response", res.response, "result-response"],
    ["Model", res.model || "–"],
    ...(res.cacheUnavailable ? [["Cache", "unavailable (served fail-open)"] as [string, string]] : []),
  ], res.source === Source.CACHE ? similarityBar(res.similarity, threshold) : undefined);
}

async function runStore(data: FormData): Promise<void> {
  const res = await client.store({ prompt: String(data.get("prompt")), response: String(data.get("response") ?? ""), scope: scopeOf(data) });
  showResult(res.replaced ? "STORED · replaced the earlier entry" : "STORED", "info", [
    ["Entry", res.id, "result-entry-id"],
    ["Expires", when(res.expiresAt)],
  ]);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const action = (event.submitter as HTMLButtonElement | null)?.value ?? "lookup";
  const data = new FormData(form);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  const run = action === "store" ? runStore : action === "ask" ? runAsk : runLookup;
  run(data)
    .catch((error: unknown) => showResult("ERROR", "error", [["", describeError(error), "result-error"]]))
    .finally(() => {
      buttons.forEach((b) => (b.disabled = false));
      void refreshStats();
      void refreshEntries();
    });
});

// --- Recent entries and Flush -------------------------------------------------------------------

const namespaceInput = byTestId<HTMLInputElement>("namespace");
const entriesNamespace = () => namespaceInput.value.trim() || "default";

function entryRow(entry: CacheEntry): HTMLTableRowElement {
  const cell = (text: string, cls = "") => h("td", { title: text, ...(cls === "" ? {} : { class: cls }) }, text);
  return h("tr", {}, cell(when(entry.createdAt)), cell(entry.prompt, "text"), cell(entry.response, "text"), cell(entry.scope?.model || "–"), cell(String(entry.hits)), cell(when(entry.expiresAt)));
}

async function refreshEntries(): Promise<void> {
  const namespace = entriesNamespace();
  byTestId("entries-namespace").textContent = namespace;
  const body = byTestId("entries-table").querySelector("tbody")!;
  try {
    const { entries } = await client.listEntries({ namespace, limit: 20 });
    body.replaceChildren(...(entries.length === 0 ? [h("tr", {}, h("td", { colspan: "6", class: "muted" }, "no entries"))] : entries.map(entryRow)));
  } catch (error) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: "6", class: "muted" }, describeError(error))));
  }
}

namespaceInput.addEventListener("change", () => void refreshEntries());
byTestId("refresh-entries").addEventListener("click", () => void refreshEntries());

const dialog = byTestId<HTMLDialogElement>("flush-dialog");
byTestId("flush").addEventListener("click", () => {
  byTestId("flush-namespace").textContent = entriesNamespace();
  dialog.returnValue = "";
  dialog.showModal();
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue !== "confirm") return;
  const namespace = entriesNamespace();
  client
    .flush({ namespace })
    .then((res) => showResult(`FLUSHED · ${namespace}`, "info", [["Deleted", `${res.deleted} entries`, "result-deleted"]]))
    .catch((error: unknown) => showResult("ERROR", "error", [["", describeError(error), "result-error"]]))
    .finally(() => {
      void refreshStats();
      void refreshEntries();
    });
});

// --- Polling --------------------------------------------------------------------------------------

async function poll(): Promise<void> {
  await Promise.all([refreshStats(), refreshLatency()]);
  setTimeout(() => void poll(), POLL_MS);
}

drawHitRateChart(chart, points, WINDOW_MS);
void refreshEntries();
void poll();
