/**
 * Three `semcache serve` replicas (child processes) on one redis-server, one
 * LLM test server: the fleet acts as one cache.
 *
 * The Redis here is Debian's plain redis-server (no query engine; see
 * support/plain-redis-store.ts): every Ask that misses the exact layer fails
 * open past the semantic layer, so these tests are about the exact layer and
 * the fleet's coordination, which need no FT.*.
 */
import { rmSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { testKey, writeKeyFile } from "../support/key-files.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { tempDir } from "../support/test-server.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { RedisTestServer } from "../support/redis-server.js";
import { startReplicas, type Replicas } from "./support/replicas.js";

const MODEL = "test-model";
const SCOPE = { namespace: "fleet", model: MODEL };

let redis: RedisTestServer;
let llm: OpenAiTestServer;
let fleet: Replicas;
let clients: CacheClient[];
let keyDir: string;
/** The key every test but the rate limit's uses (the default limit, far above these tests' rates). */
const ops = testKey({ id: "ops", role: "admin" });
/** A key with a small limit of its own: 6 at once, then one every 10 s. */
const limited = testKey({ id: "limited", role: "admin", rateLimit: { requestsPerSecond: 0.1, burst: 6 } });

beforeAll(async () => {
  redis = await RedisTestServer.start();
  llm = await startOpenAiServer();
  keyDir = tempDir("semcache-fleet-keys-");
  fleet = await startReplicas(3, redis.url, `fleet-replicas-${process.pid}:`, {
    SEMCACHE_API_KEYS_FILE: writeKeyFile(keyDir, [ops, limited]),
    SEMCACHE_LLM_BASE_URL: llm.url,
    SEMCACHE_LLM_MODEL: MODEL,
    SEMCACHE_LLM_TIMEOUT_MS: "20000",
  });
  clients = fleet.urls.map((url) => clientFor("connect-h1", url, { apiKey: ops.key }));
}, 300_000);
afterAll(async () => {
  await fleet?.stop();
  await llm?.close();
  await redis?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

describe("a fleet of three replicas on one Redis", () => {
  it("answers 30 concurrent identical Asks spread over the replicas with one upstream call", async () => {
    // Slow enough that the burst overlaps on every replica: the replicas that lose the claim must wait for the answer.
    llm.reset();
    llm.setBehaviour({ delayMs: 1500 });
    const prompt = "What is the boiling point of water at sea level?";
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (clients[i % 3] as CacheClient).ask({ prompt, scope: SCOPE })));
    expect(llm.counts().total).toBe(1);
    for (const answer of answers) expect(answer.response).toBe(`ANSWER: ${prompt}`);
    expect(new Set(answers.map((answer) => answer.entryId)).size).toBe(1);
    expect(answers.filter((answer) => answer.source === Source.LLM)).toHaveLength(1);
    expect(answers.filter((answer) => answer.source === Source.COALESCED)).toHaveLength(29);
  });

  it("sees one replica's Store, Flush and TTL on every other replica at once", async () => {
    llm.reset();
    const [a, b, c] = clients as [CacheClient, CacheClient, CacheClient];
    const prompt = "Which planet is known as the red planet?";
    await a.store({ prompt, response: "Mars", scope: SCOPE });
    for (const client of [b, c]) {
      const hit = await client.lookup({ prompt, scope: SCOPE });
      expect(hit.hit).toBe(true);
      expect(hit.entry?.response).toBe("Mars");
    }
    await c.flush({ namespace: SCOPE.namespace });
    // Gone for every replica: the next Ask of it, anywhere, goes upstream.
    const after = await b.ask({ prompt, scope: SCOPE });
    expect(after.source).toBe(Source.LLM);
    expect(llm.counts().total).toBe(1);

    const brief = "How many legs does a spider have?";
    await a.store({ prompt: brief, response: "Eight", scope: SCOPE, ttlSeconds: 1 });
    expect((await b.lookup({ prompt: brief, scope: SCOPE })).hit).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await c.ask({ prompt: brief, scope: SCOPE })).source).toBe(Source.LLM);
    expect(llm.counts().total).toBe(2);
  });

  it("answers Stats for the whole fleet on every replica", async () => {
    llm.reset();
    const [a, b, c] = clients as [CacheClient, CacheClient, CacheClient];
    const scope = { ...SCOPE, namespace: "fleet-stats" };
    await a.ask({ prompt: "First question for the stats", scope });
    await a.ask({ prompt: "Second question for the stats", scope });
    // An exact hit on another replica, and a Store on the third.
    expect((await b.ask({ prompt: "First question for the stats", scope })).source).toBe(Source.CACHE);
    await c.store({ prompt: "Stored for the stats", response: "stored", scope });

    // Each replica writes its counts within about a second; its own show at once.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const all = await Promise.all(clients.map((client) => client.stats({ namespace: scope.namespace })));
      const settled = all.every((stats) => stats.llmCalls === 2n && stats.exactHits === 1n && stats.stores === 3n);
      if (settled) {
        const first = all[0];
        for (const stats of all) {
          expect(stats.lookups).toBe(first?.lookups);
          expect(stats.misses).toBe(first?.misses);
          expect(stats.cacheErrors).toBe(first?.cacheErrors);
          expect(stats.entries).toBe(3n);
        }
        // Without FT.*, a miss's lookup fails (fail-open, a cache error); only the exact hit counts as a lookup.
        expect(first?.lookups).toBe(1n);
        expect(first?.cacheErrors).toBe(2n);
        break;
      }
      if (Date.now() > deadline) throw new Error(`Stats differ between replicas: ${JSON.stringify(all.map((stats) => [stats.llmCalls, stats.exactHits, stats.stores]), (_, v) => (typeof v === "bigint" ? Number(v) : v))}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // /metrics stays per replica (Prometheus sums the replicas): only the replica that called the LLM counts the calls.
    const llmCallLines = await Promise.all(
      fleet.urls.map(async (url) => {
        const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ops.key}` } })).text();
        return text.split("\n").find((line) => line.startsWith("semcache_llm_calls_total") && line.includes('namespace="fleet-stats"'));
      }),
    );
    expect(llmCallLines[0]).toMatch(/ 2$/u);
    expect(llmCallLines[1] === undefined || / 0$/u.test(llmCallLines[1])).toBe(true);
    // The sum over every namespace agrees too (it includes the other tests' calls).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const totals = await Promise.all(clients.map((client) => client.stats({})));
    expect(new Set(totals.map((stats) => stats.llmCalls)).size).toBe(1);
    expect(new Set(totals.map((stats) => stats.lookups)).size).toBe(1);
  });

  it("limits an API key's requests for the whole fleet, not per replica", async () => {
    // gRPC (HTTP/2): a refusal at the edge resets the stream; over HTTP/1.1 it closes the connection under the body.
    const limitedClients = fleet.urls.map((url) => clientFor("grpc", url, { apiKey: limited.key }));
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      try {
        await (limitedClients[i % 3] as CacheClient).stats({ namespace: "fleet-rate" });
        admitted++;
      } catch (error) {
        expect(ConnectError.from(error).code, ConnectError.from(error).message).toBe(Code.ResourceExhausted);
        refused++;
      }
    }
    // Per replica, each would admit its own burst of 6 (18). The fleet admits one burst, plus what replicas admitted
    // before they heard the bucket was empty (at most one each here: calls are sequential) and what refilled meanwhile.
    expect(admitted).toBeGreaterThanOrEqual(6);
    expect(admitted).toBeLessThanOrEqual(6 + 2 + 1);
    expect(refused).toBe(30 - admitted);
  });

  it("answers from the LLM on every replica while Redis is down, and coordinates again once it is back", async () => {
    llm.reset();
    await redis.stop();
    try {
      const prompts = ["Name a prime number.", "Name an even number.", "Name an odd number."];
      const answers = await Promise.all(prompts.map((prompt, i) => (clients[i] as CacheClient).ask({ prompt, scope: SCOPE })));
      for (const [i, answer] of answers.entries()) {
        expect(answer.response).toBe(`ANSWER: ${prompts[i]}`);
        expect(answer.source).toBe(Source.LLM);
        expect(answer.cacheUnavailable).toBe(true);
      }
    } finally {
      await redis.restart();
    }
    const prompt = "What colour is the sky on a clear day?";
    // The replicas reconnect by themselves (backoff capped at 2 s): retried, each time in a fresh namespace, until a
    // burst is coordinated again.
    const deadline = Date.now() + 20_000;
    for (let attempt = 0; ; attempt++) {
      llm.reset();
      llm.setBehaviour({ delayMs: 800 });
      const scope = { ...SCOPE, namespace: `fleet-back-${attempt}` };
      const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => (clients[i % 3] as CacheClient).ask({ prompt, scope })));
      expect(answers.map((answer) => answer.response)).toEqual(Array(9).fill(`ANSWER: ${prompt}`));
      if (llm.counts().total === 1) break;
      if (Date.now() > deadline) throw new Error(`no coordinated burst 20 s after Redis came back: ${llm.counts().total} upstream calls in the last one`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
});
