/**
 * Stats over Connect JSON names every counter, zeros included: `entries`
 * must not disappear after a Flush (proto3 JSON leaves zero values out
 * unless told otherwise). int64 counters are JSON strings ("0"), as the
 * proto3 JSON mapping says.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";

const SERVICE = "semcache.v1.SemanticCacheService";

async function call(url: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/${SERVICE}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(json)).toBe(200);
  return json;
}

const COUNTERS = ["entries", "lookups", "exactHits", "semanticHits", "misses", "hitRate", "stores", "flushes", "llmCalls", "coalescedCalls", "tokensSaved", "cacheErrors", "guardRejections"];

describe("Stats over Connect JSON", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it("names every counter on a fresh server, zeros included", async () => {
    const stats = await call(server.url, "Stats", { namespace: "fresh" });
    for (const counter of COUNTERS) expect(stats, counter).toHaveProperty(counter);
    expect(stats["entries"]).toBe("0");
    expect(stats["hitRate"]).toBe(0);
  });

  it("keeps entries: \"0\" after a Flush", async () => {
    await call(server.url, "Store", { prompt: "What is the capital of France?", response: "Paris.", scope: { namespace: "demo" } });
    expect((await call(server.url, "Stats", { namespace: "demo" }))["entries"]).toBe("1");
    await call(server.url, "Flush", { namespace: "demo" });
    const stats = await call(server.url, "Stats", { namespace: "demo" });
    expect(stats["entries"]).toBe("0");
    expect(stats["stores"]).toBe("1");
    expect(stats["flushes"]).toBe("1");
  });

  it("leaves other methods' JSON as before (zero fields omitted)", async () => {
    const lookup = await call(server.url, "Lookup", { prompt: "Something never stored", scope: { namespace: "other" } });
    expect(lookup).not.toHaveProperty("hit");
  });
});
