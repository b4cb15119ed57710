/**
 * The dashboard in a real browser: Debian's Chromium (never a downloaded
 * one), driven by playwright-core. The dashboard is built from its sources
 * with Vite into a temporary directory first, so the test always sees the
 * current code (dashboard/dist is a build output, not committed).
 */
import { existsSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor } from "../support/clients.js";
import { startObservedServer, type ObservedServer } from "../support/observed-server.js";
import { buildDashboard, launchChromium, REPO, startStaticServer, textOf, waitForText, type PageGlobal, type StaticServer } from "./support/browser.js";

const ARTIFACT = join(REPO, "test-results", "dashboard.png");
const DOCS_SCREENSHOT = join(REPO, "docs", "dashboard.png");

const FRANCE = "What is the capital of France?";
const PARIS = "Paris is the capital of France.";
const PARAPHRASE = "Tell me the capital city of France.";
const BREAD = "How do I bake sourdough bread?";

function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the dashboard", () => {
  let work: string;
  let dist: string;
  let s: ObservedServer;
  let allowed: StaticServer;
  let denied: StaticServer;
  let context: BrowserContext;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "semcache-dashboard-"));
    dist = join(work, "dist");
    await buildDashboard(dist);
    allowed = await startStaticServer(dist);
    denied = await startStaticServer(dist);
    s = await startObservedServer({
      env: { SEMCACHE_LOG_LEVEL: "warn", SEMCACHE_CORS_ORIGINS: allowed.url },
      observability: { dashboardDir: dist },
    });
    context = await launchChromium(join(work, "user-data"));
  });

  afterAll(async () => {
    await context?.close();
    await s?.stop();
    for (const side of [allowed, denied]) await side?.close();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("is served at / with the right content types and caching", async () => {
    const index = await rawGet(s.url, "/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    const html = index.body.toString();
    const script = /src="\.?(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="\.?(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();

    const js = await rawGet(s.url, script!, { "accept-encoding": "gzip" });
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.headers["content-encoding"]).toBe("gzip");
    expect(js.headers["x-content-type-options"]).toBe("nosniff");
    const revalidated = await rawGet(s.url, script!, { "if-none-match": String(js.headers["etag"]) });
    expect(revalidated.status).toBe(304);
    const css = await rawGet(s.url, style!);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body.toString()).toBe(readFileSync(join(dist, style!)).toString());
    expect((await rawGet(s.url, "/favicon.svg")).headers["content-type"]).toBe("image/svg+xml");

    // Nothing outside the build, and unknown paths still reach the RPC router's 404.
    expect((await rawGet(s.url, "/..%2Fpackage.json")).status).toBe(404);
    expect((await rawGet(s.url, "/assets/missing.js")).status).toBe(404);
  });

  it("stores through the form, finds a paraphrase with its similarity, shows the hit rate, and flushes", async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    const apiCalls: { path: string; headers: Record<string, string> }[] = [];
    page.on("request", (req) => {
      const path = new URL(req.url()).pathname;
      if (path.startsWith("/semcache.v1.SemanticCacheService/")) apiCalls.push({ path, headers: req.headers() });
    });

    await page.goto(`${s.url}/?poll=400`);
    await waitForText(page, "server-state", /^serving$/);
    expect(await textOf(page, "server-meta")).toContain("embedded store");
    expect(await textOf(page, "hit-rate")).toBe("–");

    // Store an answer through the form.
    await page.fill('[data-testid="namespace"]', "dash");
    await page.fill('[data-testid="model"]', "gpt-4o-mini");
    await page.fill('[data-testid="prompt"]', FRANCE);
    await page.fill('[data-testid="response"]', PARIS);
    await page.click('[data-testid="store"]');
    await waitForText(page, "result-outcome", /^STORED/);
    await waitForText(page, "entries-table", new RegExp(FRANCE.replace("?", "\\?")));

    // A paraphrase finds it, with its similarity and the threshold.
    await page.fill('[data-testid="prompt"]', PARAPHRASE);
    await page.click('[data-testid="lookup"]');
    await waitForText(page, "result-outcome", /^HIT · semantic$/);
    const similarity = Number(await textOf(page, "result-similarity"));
    expect(similarity).toBeGreaterThanOrEqual(0.9);
    expect(similarity).toBeLessThan(1);
    expect(await textOf(page, "result-threshold")).toBe("0.90");
    expect(await textOf(page, "result-matched-prompt")).toBe(FRANCE);
    expect(await textOf(page, "result-response")).toBe(PARIS);
    await waitForText(page, "hit-rate", /^100\.0%$/);

    // A miss brings the hit rate down; an Ask of the stored prompt is answered from the cache.
    await page.fill('[data-testid="prompt"]', BREAD);
    await page.click('[data-testid="lookup"]');
    await waitForText(page, "result-outcome", /^MISS$/);
    await waitForText(page, "hit-rate", /^50\.0%$/);
    await page.fill('[data-testid="prompt"]', FRANCE);
    await page.click('[data-testid="ask"]');
    await waitForText(page, "result-outcome", /^ANSWER · from cache$/);
    await waitForText(page, "hit-rate", /^66\.7%$/);
    await waitForText(page, "lookups", /^3$/);

    // The chart has a line, and the latency table has the calls.
    await page.waitForFunction(
      () => ((globalThis as unknown as PageGlobal).document.querySelector('[data-testid="chart-cumulative"]')?.getAttribute("d") ?? "").includes("L"),
      undefined,
      { timeout: 15_000 },
    );
    await waitForText(page, "latency", /Lookup/);

    // Keep the server's calls honest: every API call went through Connect-Web.
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const call of apiCalls) {
      expect(call.headers["connect-protocol-version"], call.path).toBe("1");
      expect(call.headers["content-type"], call.path).toBe("application/json");
    }
    expect(new Set(apiCalls.map((c) => c.path.split("/").pop()))).toEqual(new Set(["Stats", "Store", "Lookup", "Ask", "ListEntries"]));

    // A few seconds of traffic from elsewhere, so the chart has a history; then a semantic hit on screen.
    const traffic = clientFor("connect-h1", s.url);
    for (let i = 0; i < 10; i++) {
      const prompt = i % 3 === 2 ? `${BREAD} (${i})` : i % 2 === 0 ? FRANCE : PARAPHRASE;
      await traffic.lookup({ prompt, scope: { namespace: "dash", model: "gpt-4o-mini" } });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await page.fill('[data-testid="prompt"]', PARAPHRASE);
    await page.click('[data-testid="lookup"]');
    await waitForText(page, "result-outcome", /^HIT · semantic$/);
    await waitForText(page, "lookups", /^14$/);

    mkdirSync(join(REPO, "test-results"), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    // The README's copy is only written when missing or asked for, so a test run leaves the checkout clean.
    if (!existsSync(DOCS_SCREENSHOT) || process.env["SEMCACHE_UPDATE_SCREENSHOT"] === "1") {
      mkdirSync(join(REPO, "docs"), { recursive: true });
      copyFileSync(ARTIFACT, DOCS_SCREENSHOT);
    }

    // Flush asks first: Cancel deletes nothing, Flush deletes the namespace's entries.
    await page.click('[data-testid="flush"]');
    expect(await textOf(page, "flush-namespace")).toBe("dash");
    await page.click('[data-testid="flush-cancel"]');
    await page.click('[data-testid="refresh-entries"]');
    await waitForText(page, "entries-table", new RegExp(FRANCE.replace("?", "\\?")));
    await page.click('[data-testid="flush"]');
    await page.click('[data-testid="flush-confirm"]');
    await waitForText(page, "result-outcome", /^FLUSHED · dash$/);
    expect(await textOf(page, "result-deleted")).toBe("1 entries");
    await waitForText(page, "entries-table", /no entries/);
    await waitForText(page, "entries", /^0$/);

    expect(problems).toEqual([]);
    await page.close();
  });

  it("works from another origin that SEMCACHE_CORS_ORIGINS allows, and only from such", async () => {
    const page = await context.newPage();
    await page.goto(`${allowed.url}/?poll=400&api=${encodeURIComponent(s.url)}`);
    await waitForText(page, "server-state", /^serving$/);
    await page.fill('[data-testid="namespace"]', "cross-origin");
    await page.fill('[data-testid="prompt"]', FRANCE);
    await page.fill('[data-testid="response"]', PARIS);
    await page.click('[data-testid="store"]');
    await waitForText(page, "result-outcome", /^STORED/);
    await page.click('[data-testid="lookup"]');
    await waitForText(page, "result-outcome", /^HIT · exact$/);
    // /metrics/json is fetched cross-origin too.
    await waitForText(page, "latency", /Lookup/);
    await page.close();

    const blocked = await context.newPage();
    blocked.on("console", () => undefined);
    await blocked.goto(`${denied.url}/?poll=400&api=${encodeURIComponent(s.url)}`);
    await waitForText(blocked, "server-state", /^unreachable$/);
    await blocked.close();
  });
});
