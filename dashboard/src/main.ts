/**
 * semcache's dashboard: live Stats with a hit-rate chart, latency percentiles,
 * a form to try Lookup / Ask / Store in a scope, the recent entries of a
 * namespace, and Flush. Every API call goes through the generated client
 * (src/gen) over Connect-Web, with the API key from the header's field when
 * one was entered (src/api-key.ts).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MatchKind, Source, type CacheEntry, type StatsResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { apiBaseUrl, cacheClient, fetchMetricsJson, MetricsAccessError, type MetricsJson } from "./api.js";
import { forgetApiKey, parseApiKey, saveApiKey, savedApiKey } from "./api-key.js";
import { drawHitRateChart, type HitRatePoint } from "./chart.js";
import "./style.css";

const params = new URLSearchParams(window.location.search);
/** How often Stats and the metrics are polled; `?poll=500` for a livelier page. */
const POLL_MS = Math.max(250, Number(params.get("poll") ?? 2000) || 2000);
/** The chart's time window. */
const WINDOW_MS = 5 * 60 * 1000;
/** After /metrics/json refused the key, ask again only this rarely (or when the key changes): no error every poll. */
const METRICS_RETRY_MS = 60 * 1000;

const base = apiBaseUrl();
const currentKey = () => savedApiKey(base);
const client = cacheClient(base, currentKey);
/** Bumped when the key changes, so answers to calls made with the previous key are dropped. */
let keyGeneration = 0;

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

const NEEDS_KEY = "This server needs an API key: enter one in the API key field at the top.";

/** What went wrong, for people: the access errors in words, the server's own message where it names key and namespace. */
function describeError(error: unknown): string {
  const e = ConnectError.from(error);
  if (e.code === Code.Unauthenticated) return currentKey() === undefined ? NEEDS_KEY : `The API key was not accepted (${e.rawMessage}).`;
  // "API key "alice" may not use namespace "team-b"", "Flush needs an admin key; …": clear as they are.
  if (e.code === Code.PermissionDenied) return e.rawMessage;
  return `${codeLabel(e.code)}: ${e.rawMessage}`;
}

/** The result panel's headline for a failed call. */
function errorOutcome(error: unknown): string {
  const code = ConnectError.from(error).code;
  if (code === Code.Unauthenticated) return currentKey() === undefined ? "API KEY NEEDED" : "KEY NOT ACCEPTED";
  return code === Code.PermissionDenied ? "NOT ALLOWED" : "ERROR";
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

const STAT_CARDS = ["hit-rate", "lookups", "exact-hits", "semantic-hits", "misses", "entries", "stores", "llm-calls"];

/** Blank cards and an empty chart: what was shown belongs to a key or a scope this key may not see. */
function clearStats(): void {
  for (const id of STAT_CARDS) byTestId(id).textContent = "–";
  points = [];
  previous = undefined;
  drawHitRateChart(chart, points, WINDOW_MS);
}

/** The banner under the header, for what keeps Stats from loading because of the key; empty hides it. */
function showNotice(text: string): void {
  const notice = byTestId("auth-notice");
  notice.textContent = text;
  notice.hidden = text === "";
}

async function refreshStats(): Promise<void> {
  const namespace = statsNamespace.value.trim();
  const generation = keyGeneration;
  try {
    const stats = await client.stats(namespace === "" ? {} : { namespace });
    if (generation !== keyGeneration) return;
    showStats(stats);
    setState("serving", "ok");
    byTestId("server-state").title = "";
    showNotice("");
  } catch (error) {
    if (generation !== keyGeneration) return;
    const e = ConnectError.from(error);
    byTestId("server-state").title = describeError(error);
    if (e.code === Code.Unauthenticated || e.code === Code.PermissionDenied) clearStats();
    if (e.code === Code.Unauthenticated) {
      const keyless = currentKey() === undefined;
      setState(keyless ? "needs API key" : "key not accepted", keyless ? "warn" : "bad");
      showNotice(keyless ? "This server needs an API key. Enter one in the API key field above; it is kept in this browser tab only." : `The API key was not accepted (${e.rawMessage}). Check it, or Forget it and enter another.`);
    } else if (e.code === Code.PermissionDenied) {
      // The server answered, but not to this key: its message names the key and the namespace.
      setState("no access", "warn");
      showNotice(`Stats: ${e.rawMessage}.`);
    } else {
      const loading = e.code === Code.Unavailable;
      setState(loading ? "loading / unavailable" : "unreachable", loading ? "warn" : "bad");
      showNotice("");
    }
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

/** When /metrics/json last refused the key; undefined: it did not (or the key changed since). */
let metricsRefusedAt: number | undefined;

/** One line in the latency table instead of figures. */
function showLatencyNote(text: string, title = ""): void {
  const cell = h("td", { colspan: "6", class: "muted", "data-testid": "latency-note", title }, text);
  byTestId("latency").querySelector("tbody")!.replaceChildren(h("tr", {}, cell));
}

function latencyNote(refusal: MetricsAccessError): string {
  if (refusal.status === 403) return "This API key cannot read metrics: latency figures need an admin or metrics key.";
  return currentKey() === undefined ? "Latency figures need an admin or metrics API key." : "The API key was not accepted: latency figures need an admin or metrics key.";
}

async function refreshLatency(): Promise<void> {
  // A refused key stays refused until it changes (or the key file is reloaded): ask rarely, not every poll.
  if (metricsRefusedAt !== undefined && Date.now() - metricsRefusedAt < METRICS_RETRY_MS) return;
  const generation = keyGeneration;
  try {
    const metrics = await fetchMetricsJson(base, currentKey());
    if (generation !== keyGeneration) return;
    metricsRefusedAt = undefined;
    showLatency(metrics);
  } catch (error) {
    if (generation !== keyGeneration || !(error instanceof MetricsAccessError)) return;
    // Any other failure: the Stats poll reports an unreachable server.
    metricsRefusedAt = Date.now();
    showLatencyNote(latencyNote(error), error.serverMessage);
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

function showError(error: unknown): void {
  showResult(errorOutcome(error), "error", [["", describeError(error), "result-error"]]);
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
  for (const b of buttons) b.disabled = true;
  const run = action === "store" ? runStore : action === "ask" ? runAsk : runLookup;
  run(data)
    .catch(showError)
    .finally(() => {
      for (const b of buttons) b.disabled = false;
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
  const generation = keyGeneration;
  try {
    const { entries } = await client.listEntries({ namespace, limit: 20 });
    if (generation !== keyGeneration) return;
    body.replaceChildren(...(entries.length === 0 ? [h("tr", {}, h("td", { colspan: "6", class: "muted" }, "no entries"))] : entries.map(entryRow)));
  } catch (error) {
    if (generation !== keyGeneration) return;
    body.replaceChildren(h("tr", {}, h("td", { colspan: "6", class: "muted", "data-testid": "entries-error" }, describeError(error))));
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
    .catch(showError)
    .finally(() => {
      void refreshStats();
      void refreshEntries();
    });
});

// --- The API key -------------------------------------------------------------------------------

const keyForm = byTestId<HTMLFormElement>("key-form");
const keyInput = byTestId<HTMLInputElement>("api-key");
const forgetButton = byTestId<HTMLButtonElement>("key-forget");
const emptyResult = [...resultPanel.childNodes].map((node) => node.cloneNode(true));

function showKeyState(): void {
  const saved = currentKey();
  keyInput.value = saved ?? "";
  forgetButton.disabled = saved === undefined;
  keyInput.title = saved === undefined ? "No key: calls go without one" : "Sent as authorization: Bearer <key>; kept in this browser tab only";
}

/** Everything shown was seen with the previous key: start over with the new one. */
function keyChanged(): void {
  keyGeneration++;
  clearStats();
  metricsRefusedAt = undefined;
  showKeyState();
  resultPanel.replaceChildren(...emptyResult.map((node) => node.cloneNode(true)));
  void refreshStats();
  void refreshLatency();
  void refreshEntries();
}

keyInput.addEventListener("input", () => keyInput.setCustomValidity(""));
keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const parsed = parseApiKey(keyInput.value);
  if ("error" in parsed) {
    keyInput.setCustomValidity(parsed.error);
    keyInput.reportValidity();
    return;
  }
  saveApiKey(base, parsed.key);
  keyChanged();
});
forgetButton.addEventListener("click", () => {
  forgetApiKey(base);
  keyChanged();
});

// --- Polling --------------------------------------------------------------------------------------

async function poll(): Promise<void> {
  await Promise.all([refreshStats(), refreshLatency()]);
  setTimeout(() => void poll(), POLL_MS);
}

showKeyState();
drawHitRateChart(chart, points, WINDOW_MS);
void refreshEntries();
void poll();
