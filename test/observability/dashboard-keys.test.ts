/**
 * The dashboard against a server with API keys (SEMCACHE_API_KEYS_FILE), in
 * Debian's Chromium: the key field, the bearer header on every call, and
 * what the page says when the key is missing, unknown, or not enough.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testKey, writeKeyFile } from "../support/key-files.js";
import { startObservedServer, type ObservedServer } from "../support/observed-server.js";
import { buildDashboard, launchChromium, startStaticServer, textOf, waitForText, type PageGlobal, type StaticServer } from "./support/browser.js";

const SCREENSHOT = "/tmp/notes/dashboard-keys.png";

const alice = testKey({ id: "alice", role: "user", namespaces: ["team-a"] });
const ops = testKey({ id: "ops", role: "admin" });

const FRANCE = "What is the capital of France?";
const PARIS = "Paris is the capital of France.";
const BREAD = "How do I bake sourdough bread?";
const SOURDOUGH = "Feed the starter, then a long cold proof.";

/** What a page sent and what went wrong in it. */
interface Watched {
  readonly page: Page;
  /** SemanticCacheService calls: method, and the authorization header (undefined: none). */
  readonly rpc: { method: string; authorization: string | undefined }[];
  /** GETs of /metrics/json, with their authorization header. */
  readonly metrics: (string | undefined)[];
  /** Page errors, and console errors other than the browser's own note of a 401/403 response. */
  readonly problems: string[];
}

async function open(context: BrowserContext, url: string): Promise<Watched> {
  const page = await context.newPage();
  const watched: Watched = { page, rpc: [], metrics: [], problems: [] };
  page.on("pageerror", (error) => watched.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // Chromium logs every 4xx response as "Failed to load resource": refusals are what this test makes.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) watched.problems.push(`console: ${message.text()}`);
  });
  page.on("request", (req) => {
    if (req.method() === "OPTIONS") return;
    const path = new URL(req.url()).pathname;
    const authorization = req.headers()["authorization"];
    if (path.startsWith("/semcache.v1.SemanticCacheService/")) watched.rpc.push({ method: path.split("/").pop()!, authorization });
    if (path === "/metrics/json") watched.metrics.push(authorization);
  });
  await page.goto(url);
  return watched;
}

/**
 * Checks that the calls went without a key until the first with `bearer`, and
 * with it from then on (nothing in between), and returns those from then on.
 */
function sentWith<T>(calls: readonly T[], authorization: (call: T) => string | undefined, bearer: string): T[] {
  const first = calls.findIndex((c) => authorization(c) !== undefined);
  expect(first, "no call carried a key").toBeGreaterThanOrEqual(0);
  expect(calls.slice(0, first).map(authorization).filter((a) => a !== undefined)).toEqual([]);
  const keyed = calls.slice(first);
  expect(keyed.map(authorization).filter((a) => a !== bearer)).toEqual([]);
  return keyed;
}

async function enterKey(page: Page, key: string): Promise<void> {
  await page.fill('[data-testid="api-key"]', key);
  await page.click('[data-testid="key-save"]');
}

/** Sets "Stats for" (the page reads it on change). */
async function statsFor(page: Page, namespace: string): Promise<void> {
  const input = page.locator('[data-testid="stats-namespace"]');
  await input.fill(namespace);
  await input.blur();
}

async function tryIt(page: Page, action: "lookup" | "store" | "ask", fields: { namespace: string; prompt: string; response?: string }): Promise<void> {
  await page.fill('[data-testid="namespace"]', fields.namespace);
  await page.fill('[data-testid="prompt"]', fields.prompt);
  await page.fill('[data-testid="response"]', fields.response ?? "");
  await page.click(`[data-testid="${action}"]`);
}

async function noticeHidden(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as PageGlobal).document.querySelector('[data-testid="auth-notice"]')?.hidden === true);
}

/** This tab's sessionStorage and localStorage, as the page sees them. */
async function storages(page: Page): Promise<{ session: string[]; localCount: number }> {
  return page.evaluate(() => {
    const { sessionStorage, localStorage } = globalThis as unknown as PageGlobal;
    const session: string[] = [];
    for (let i = 0; i < sessionStorage.length; i++) session.push(sessionStorage.getItem(sessionStorage.key(i)!) ?? "");
    return { session, localCount: localStorage.length };
  });
}

describe("the dashboard with API keys", () => {
  let work: string;
  let dist: string;
  let s: ObservedServer;
  let elsewhere: StaticServer;
  let context: BrowserContext;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "semcache-dashboard-keys-"));
    dist = join(work, "dist");
    await buildDashboard(dist);
    elsewhere = await startStaticServer(dist);
    s = await startObservedServer({
      env: { SEMCACHE_LOG_LEVEL: "warn", SEMCACHE_API_KEYS_FILE: writeKeyFile(work, [alice, ops]), SEMCACHE_CORS_ORIGINS: elsewhere.url },
      observability: { dashboardDir: dist },
    });
    context = await launchChromium(join(work, "user-data"));
  });

  afterAll(async () => {
    await context?.close();
    await s?.stop();
    await elsewhere?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("says the server needs a key when none is entered, and sends no authorization header", async () => {
    const w = await open(context, `${s.url}/?poll=400`);
    const { page } = w;
    await waitForText(page, "server-state", /^needs API key$/);
    expect(await textOf(page, "auth-notice")).toMatch(/^This server needs an API key\. Enter one in the API key field above/);
    expect(await noticeHidden(page)).toBe(false);
    await waitForText(page, "latency-note", /^Latency figures need an admin or metrics API key\.$/);
    await waitForText(page, "entries-error", /^This server needs an API key/);

    await tryIt(page, "lookup", { namespace: "team-a", prompt: FRANCE });
    await waitForText(page, "result-outcome", /^API KEY NEEDED$/);
    expect(await textOf(page, "result-error")).toBe("This server needs an API key: enter one in the API key field at the top.");

    expect(new Set(w.rpc.map((c) => c.method))).toEqual(new Set(["Stats", "ListEntries", "Lookup"]));
    expect(w.rpc.filter((c) => c.authorization !== undefined)).toEqual([]);
    expect(w.metrics.length).toBeGreaterThan(0);
    expect(w.metrics.filter((a) => a !== undefined)).toEqual([]);
    expect(w.problems).toEqual([]);
    await page.close();
  });

  it("with a user key: its namespace works, others show the server's refusal, metrics say they need another key", async () => {
    const w = await open(context, `${s.url}/?poll=400`);
    const { page } = w;
    await waitForText(page, "server-state", /^needs API key$/);
    await enterKey(page, alice.key);
    await waitForText(page, "server-state", /^serving$/);
    expect(await noticeHidden(page)).toBe(true);

    // Stats for team-a.
    await statsFor(page, "team-a");
    await waitForText(page, "server-meta", /embedded store/);
    await waitForText(page, "entries", /^0$/);

    // Store and Lookup in team-a from the form.
    await tryIt(page, "store", { namespace: "team-a", prompt: FRANCE, response: PARIS });
    await waitForText(page, "result-outcome", /^STORED/);
    await waitForText(page, "entries-table", new RegExp(FRANCE.replace("?", "\\?")));
    await tryIt(page, "lookup", { namespace: "team-a", prompt: FRANCE });
    await waitForText(page, "result-outcome", /^HIT · exact$/);
    expect(await textOf(page, "result-response")).toBe(PARIS);
    await waitForText(page, "entries", /^1$/);
    await waitForText(page, "lookups", /^1$/);
    await waitForText(page, "hit-rate", /^100\.0%$/);

    // A user key reads no metrics: one note, and no fetch every poll after the refusal.
    await waitForText(page, "latency-note", /^This API key cannot read metrics: latency figures need an admin or metrics key\.$/);
    const metricsFetches = w.metrics.length;
    const statsCalls = () => w.rpc.filter((c) => c.method === "Stats").length;
    const statsBefore = statsCalls();
    await expect.poll(statsCalls, { timeout: 20_000 }).toBeGreaterThanOrEqual(statsBefore + 3);
    expect(w.metrics.length).toBe(metricsFetches);

    // Flush is for admin keys.
    await page.click('[data-testid="flush"]');
    await page.click('[data-testid="flush-confirm"]');
    await waitForText(page, "result-outcome", /^NOT ALLOWED$/);
    expect(await textOf(page, "result-error")).toBe('Flush needs an admin key; API key "alice" is a user key');

    // A namespace the key does not grant: the server's message, in the result, the entries and the banner.
    await tryIt(page, "lookup", { namespace: "team-b", prompt: FRANCE });
    // The Flush's refusal is still on screen until this answer arrives: wait for the new message, not the outcome.
    await waitForText(page, "result-error", /^API key "alice" may not use namespace "team-b"$/);
    expect(await textOf(page, "result-outcome")).toBe("NOT ALLOWED");
    await waitForText(page, "entries-error", /^API key "alice" may not use namespace "team-b"$/);
    await statsFor(page, "team-b");
    await waitForText(page, "server-state", /^no access$/);
    await waitForText(page, "auth-notice", /^Stats: API key "alice" may not use namespace "team-b"\.$/);
    // team-a's figures are not shown as team-b's.
    await waitForText(page, "entries", /^–$/);
    expect(await textOf(page, "lookups")).toBe("–");
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Every call since the key was saved carried it; it is in this tab's sessionStorage, never in localStorage.
    const keyed = sentWith(w.rpc, (c) => c.authorization, `Bearer ${alice.key}`);
    expect(new Set(keyed.map((c) => c.method))).toEqual(new Set(["Stats", "ListEntries", "Store", "Lookup", "Flush"]));
    sentWith(w.metrics, (a) => a, `Bearer ${alice.key}`);
    expect(await storages(page)).toEqual({ session: [alice.key], localCount: 0 });

    // A reload keeps it; a user key's Stats without a namespace are its own namespace's.
    await page.reload();
    await waitForText(page, "server-state", /^serving$/);
    await waitForText(page, "entries", /^1$/);
    expect(await page.inputValue('[data-testid="api-key"]')).toBe(alice.key);

    // Forget: gone from the tab, and the calls go without a key again.
    await page.click('[data-testid="key-forget"]');
    await waitForText(page, "server-state", /^needs API key$/);
    expect(await page.inputValue('[data-testid="api-key"]')).toBe("");
    expect(await textOf(page, "entries")).toBe("–");
    expect(await storages(page)).toEqual({ session: [], localCount: 0 });
    expect(w.rpc.at(-1)?.authorization).toBeUndefined();

    expect(w.problems).toEqual([]);
    await page.close();
  });

  it("says an unknown key was not accepted, and fills the latency panel for an admin key", async () => {
    // A new tab has a sessionStorage of its own: no key yet.
    const w = await open(context, `${s.url}/?poll=400`);
    const { page } = w;
    await waitForText(page, "server-state", /^needs API key$/);

    await enterKey(page, `${alice.key}x`);
    await waitForText(page, "server-state", /^key not accepted$/);
    await waitForText(page, "auth-notice", /^The API key was not accepted \(unknown API key\)\./);
    await waitForText(page, "latency-note", /^The API key was not accepted: latency figures need an admin or metrics key\.$/);

    await enterKey(page, ops.key);
    await waitForText(page, "server-state", /^serving$/);
    expect(await noticeHidden(page)).toBe(true);
    // The RPCs of the tests before, refused ones included.
    await waitForText(page, "latency", /Lookup/);
    expect(await page.locator('[data-testid="latency-note"]').count()).toBe(0);
    // Stats across namespaces, and Flush: admin only.
    await waitForText(page, "entries", /^1$/);
    await page.fill('[data-testid="namespace"]', "team-a");
    await page.click('[data-testid="flush"]');
    expect(await textOf(page, "flush-namespace")).toBe("team-a");
    await page.click('[data-testid="flush-confirm"]');
    await waitForText(page, "result-outcome", /^FLUSHED · team-a$/);
    expect(await textOf(page, "result-deleted")).toBe("1 entries");
    await waitForText(page, "entries", /^0$/);

    expect(w.metrics.at(-1)).toBe(`Bearer ${ops.key}`);
    expect(w.problems).toEqual([]);
    await page.close();
  });

  it("sends the key from another origin that SEMCACHE_CORS_ORIGINS allows", async () => {
    const w = await open(context, `${elsewhere.url}/?poll=400&api=${encodeURIComponent(s.url)}`);
    const { page } = w;
    await waitForText(page, "server-state", /^needs API key$/);
    await enterKey(page, alice.key);
    await waitForText(page, "server-state", /^serving$/);
    await tryIt(page, "store", { namespace: "team-a", prompt: BREAD, response: SOURDOUGH });
    await waitForText(page, "result-outcome", /^STORED/);
    await tryIt(page, "lookup", { namespace: "team-a", prompt: BREAD });
    await waitForText(page, "result-outcome", /^HIT · exact$/);
    // The refusal of /metrics/json is readable cross-origin too (it carries the CORS headers).
    await waitForText(page, "latency-note", /^This API key cannot read metrics/);
    expect(new Set(sentWith(w.rpc, (c) => c.authorization, `Bearer ${alice.key}`).map((c) => c.method))).toEqual(new Set(["Stats", "ListEntries", "Store", "Lookup"]));
    sentWith(w.metrics, (a) => a, `Bearer ${alice.key}`);
    expect(w.problems).toEqual([]);
    await page.close();
  });
});
