/**
 * The Redis store while Redis dies under load and comes back: a real
 * redis-server (Debian's, no query engine, append-only file fsynced on every
 * write), a semcache server in-process over it (test/faults/support/
 * redis-semcache.ts), the OpenAI-compatible test server as its LLM, and 16
 * clients doing Lookups, Stores, Asks and AskStreams. Redis is SIGKILLed in
 * the middle of the run and restarted on the same port and files later,
 * while semcache keeps running.
 *
 * A plain redis-server has no FT.*, so the store runs without an index
 * (test/support/plain-redis-store.ts) and its semantic search always throws
 * StoreUnavailableError. The load is therefore built on the exact layer:
 * Lookups of prompts known to be stored (exact hits while Redis is up), and
 * Asks of such prompts (cache hits while Redis is up). A Lookup of an
 * unknown prompt is UNAVAILABLE even with Redis up (the first test shows
 * it), and an Ask that misses the exact layer fails open to the LLM with
 * cache_unavailable=true, yet its answer is stored.
 */
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../src/gen/grpc/health/v1/health_pb.js";
import { MatchKind, Source, type AskResponse, type LookupResponse, type StoreResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { collect, expectCode, type CollectedStream } from "../support/ask-server.js";
import { clientFor, PROTOCOLS, type CacheClient } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { concurrently, eventually, settle, sleep, tallyCodes, until, type Settled } from "./support/calls.js";
import { RedisTestServer } from "../support/redis-server.js";
import { PromptCounter } from "./support/prompts.js";
import { startRedisSemcache, type RedisSemcache } from "./support/redis-semcache.js";

const MODEL = "test-model";
const SCOPE = { namespace: "outage", model: MODEL };
const CLIENTS = 16;
/** The spec's bound on how long a Lookup (or Store) may take to fail once Redis is gone. */
const FAIL_FAST_MS = 1_000;

let llm: OpenAiTestServer;
let redis: RedisTestServer;
let semcache: RedisSemcache;
const prompts = new PromptCounter();

beforeAll(async () => {
  llm = await startOpenAiServer();
  redis = await RedisTestServer.start({ persistent: true });
  semcache = await startRedisSemcache({
    redisUrl: redis.url,
    keyPrefix: `faults-outage-${process.pid}:`,
    // Every failed cache operation is logged as a warning; the assertions say enough.
    env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: MODEL, SEMCACHE_LLM_TIMEOUT_MS: "10000", SEMCACHE_LOG_LEVEL: "error" },
  });
});
afterAll(async () => {
  await semcache?.stop();
  await redis?.stop();
  await llm?.close();
});

const answerTo = (prompt: string): string => `ANSWER: ${prompt}`;

/** The semcache_store_up gauge, as /metrics shows it. */
async function storeUp(): Promise<number | undefined> {
  const text = await (await fetch(`${semcache.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("semcache_store_up "));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

describe("the Redis store on a plain redis-server, before any fault", () => {
  it("serves the exact layer, refuses the semantic one, and an Ask miss fails open but is stored", async () => {
    const client = clientFor("connect-h2", semcache.url);
    const prompt = prompts.prompt("baseline stored prompt");
    await client.store({ prompt, response: "stored answer", scope: SCOPE });
    const hit = await client.lookup({ prompt, scope: SCOPE });
    expect(hit.kind).toBe(MatchKind.EXACT);
    expect(hit.entry?.response).toBe("stored answer");
    // Not an exact hit: the semantic layer runs, and without FT.* it cannot.
    await expectCode(client.lookup({ prompt: prompts.prompt("never stored"), scope: SCOPE }), Code.Unavailable, /query engine/);

    const question = prompts.prompt("baseline question");
    const first = await client.ask({ prompt: question, scope: SCOPE });
    expect(first.source).toBe(Source.LLM);
    expect(first.response).toBe(answerTo(question));
    // The lookup failed (semantic layer), the store did not: flagged, and stored.
    expect(first.cacheUnavailable).toBe(true);
    expect(first.entryId).not.toBe("");
    const again = await client.ask({ prompt: question, scope: SCOPE });
    expect(again.source).toBe(Source.CACHE);
    expect(again.cacheUnavailable).toBe(false);
  });
});

/** One call of the load, with what it asked for. */
type LoadCall =
  | { readonly op: "lookup"; readonly prompt: string; readonly expected: string; readonly outcome: Settled<LookupResponse> }
  | { readonly op: "store"; readonly prompt: string; readonly response: string; readonly outcome: Settled<StoreResponse> }
  | { readonly op: "ask"; readonly prompt: string; readonly outcome: Settled<AskResponse> }
  | { readonly op: "askStream"; readonly prompt: string; readonly outcome: Settled<CollectedStream> };

describe("Redis killed in the middle of a load run", () => {
  it("fails Lookups and Stores fast with UNAVAILABLE, keeps answering Asks from the LLM, and recovers without a restart", async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => clientFor(PROTOCOLS[i % PROTOCOLS.length] as (typeof PROTOCOLS)[number], semcache.url));
    const health = createClient(Health, createGrpcTransport({ baseUrl: semcache.url }));
    const seeder = clients[0] as CacheClient;

    // Entries stored before the outage: by Store, and by Ask (an LLM answer).
    const seeded = await concurrently(24, async (i) => {
      const prompt = prompts.prompt(`seeded by Store ${i}`);
      await seeder.store({ prompt, response: `seeded answer ${i}`, scope: SCOPE });
      return { prompt, response: `seeded answer ${i}` };
    });
    const asked = await concurrently(8, async (i) => {
      const prompt = prompts.prompt(`seeded by Ask ${i}`);
      const answer = await seeder.ask({ prompt, scope: SCOPE });
      expect(answer.entryId).not.toBe("");
      return prompt;
    });
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);

    const calls: LoadCall[] = [];
    let running = true;
    const worker = async (w: number): Promise<void> => {
      const client = clients[w] as CacheClient;
      for (let i = 0; running; i++) {
        const seed = seeded[(w + i) % seeded.length] as { prompt: string; response: string };
        const lookupPrompt = seed.prompt;
        calls.push({ op: "lookup", prompt: lookupPrompt, expected: seed.response, outcome: await settle(() => client.lookup({ prompt: lookupPrompt, scope: SCOPE })) });
        const storePrompt = prompts.prompt(`load store ${w}.${i}`);
        const response = `load answer ${w}.${i}`;
        calls.push({ op: "store", prompt: storePrompt, response, outcome: await settle(() => client.store({ prompt: storePrompt, response, scope: SCOPE })) });
        if (i % 2 === 0) {
          const askPrompt = asked[(w + i) % asked.length] as string;
          calls.push({ op: "ask", prompt: askPrompt, outcome: await settle(() => client.ask({ prompt: askPrompt, scope: SCOPE })) });
        } else {
          const streamPrompt = prompts.prompt(`load stream ${w}.${i}`);
          calls.push({
            op: "askStream",
            prompt: streamPrompt,
            outcome: await settle(async () => {
              const stream = await collect(client.askStream({ prompt: streamPrompt, scope: SCOPE }));
              if (stream.error !== undefined) throw stream.error;
              return stream;
            }),
          });
        }
      }
    };
    const load = concurrently(CLIENTS, worker);

    // The load is up and answered before Redis goes.
    await until(() => calls.filter((c) => c.outcome.ok).length >= 3 * CLIENTS, "calls answered before the kill", 30_000);
    const killSentAt = performance.now();
    await redis.signal("SIGKILL");
    // The process is gone and its sockets with it: from here on nothing can answer.
    const killedAt = performance.now();

    // Health (the store probe) notices, and /healthz and /metrics agree.
    await eventually(async () => expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING), 10_000);
    await eventually(async () => expect((await fetch(`${semcache.url}/healthz`)).status).toBe(503), 5_000);
    await eventually(async () => expect(await storeUp()).toBe(0), 5_000);
    // Enough of the outage seen by every client: at least two failed Lookups each, on average.
    await until(
      () => calls.filter((c) => c.op === "lookup" && c.outcome.startedAt > killedAt).length >= 2 * CLIENTS,
      "Lookups during the outage",
      30_000,
    );

    const restartBegan = performance.now();
    await redis.restart();
    const restartedAt = performance.now();
    // Same semcache process: its connection reconnects by itself (backoff capped at 2 s).
    await eventually(async () => expect((await seeder.lookup({ prompt: (seeded[0] as { prompt: string }).prompt, scope: SCOPE })).kind).toBe(MatchKind.EXACT), 15_000, 50);
    const recoveredAt = performance.now();
    await sleep(500);
    running = false;
    await load;

    // Calls that ended between the SIGKILL and the exit being seen belong to neither side.
    const before = calls.filter((c) => c.outcome.endedAt < killSentAt);
    const during = calls.filter((c) => c.outcome.startedAt > killedAt && c.outcome.endedAt < restartBegan);
    const after = calls.filter((c) => c.outcome.startedAt > recoveredAt);
    const slowest = (op: LoadCall["op"]) => Math.max(0, ...during.filter((c) => c.op === op && !c.outcome.ok).map((c) => c.outcome.ms));
    const summary = (list: LoadCall[]) =>
      Object.fromEntries((["lookup", "store", "ask", "askStream"] as const).map((op) => [op, tallyCodes(list.filter((c) => c.op === op).map((c) => c.outcome))]));
    console.log(
      `redis outage: ${calls.length} calls; before the kill ${JSON.stringify(summary(before))}; ` +
        `during ${JSON.stringify(summary(during))}; after recovery ${JSON.stringify(summary(after))}; ` +
        `slowest failing Lookup / Store during the outage ${slowest("lookup").toFixed(0)} / ${slowest("store").toFixed(0)} ms; ` +
        `redis restarted ${(restartedAt - restartBegan).toFixed(0)} ms after restart began, semcache recovered ${(recoveredAt - restartedAt).toFixed(0)} ms later`,
    );

    // Before the kill: everything works.
    expect(before.filter((c) => !c.outcome.ok).map((c) => `${c.op}: ${c.outcome.ok ? "" : c.outcome.message}`)).toEqual([]);
    for (const call of before) {
      if (call.op === "lookup" && call.outcome.ok) expect(call.outcome.value.entry?.response).toBe(call.expected);
      if (call.op === "ask" && call.outcome.ok) expect(call.outcome.value.source).toBe(Source.CACHE);
    }

    // During the outage: Lookup and Store fail, with UNAVAILABLE, each within a second.
    const failing = during.filter((c) => c.op === "lookup" || c.op === "store");
    expect(failing.filter((c) => c.op === "lookup").length).toBeGreaterThanOrEqual(2 * CLIENTS);
    for (const call of failing) {
      expect(call.outcome.ok, `${call.op} during the outage`).toBe(false);
      if (call.outcome.ok) continue;
      expect(call.outcome.code).toBe("Unavailable");
      expect(call.outcome.message).toMatch(/cache store unavailable/);
      expect(call.outcome.ms).toBeLessThan(FAIL_FAST_MS);
    }
    // Calls in flight at the kill fail as fast (or had their answer already).
    for (const call of calls.filter((c) => c.outcome.startedAt <= killedAt && c.outcome.endedAt >= killSentAt)) {
      if (!call.outcome.ok && (call.op === "lookup" || call.op === "store")) expect(call.outcome.endedAt - killSentAt).toBeLessThan(FAIL_FAST_MS);
    }

    // Ask fails open: answered by the LLM, flagged cache_unavailable; nothing could be stored.
    const asks = during.filter((c) => c.op === "ask" || c.op === "askStream");
    expect(asks.length).toBeGreaterThan(0);
    for (const call of asks) {
      expect(call.outcome.ok, `${call.op} during the outage: ${call.outcome.ok ? "" : call.outcome.message}`).toBe(true);
      if (!call.outcome.ok) continue;
      if (call.op === "ask") {
        const answer = call.outcome.value as AskResponse;
        expect([Source.LLM, Source.COALESCED]).toContain(answer.source);
        expect(answer.response).toBe(answerTo(call.prompt));
        expect(answer.cacheUnavailable).toBe(true);
        expect(answer.entryId).toBe("");
      } else {
        const stream = call.outcome.value as CollectedStream;
        expect(stream.start?.cacheUnavailable).toBe(true);
        expect(stream.text).toBe(answerTo(call.prompt));
        expect(stream.end?.cacheUnavailable).toBe(true);
        expect(stream.end?.entryId).toBe("");
      }
    }

    // Whatever failed, at any time, failed with a status a client can act on, never INTERNAL.
    expect(new Set(calls.flatMap((c) => (c.outcome.ok ? [] : [c.outcome.code])))).toEqual(new Set(["Unavailable"]));

    // After the recovery: everything works again, on the same semcache process.
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((c) => !c.outcome.ok).map((c) => `${c.op}: ${c.outcome.ok ? "" : c.outcome.message}`)).toEqual([]);
    for (const call of after) {
      if (call.op === "lookup" && call.outcome.ok) expect(call.outcome.value.entry?.response).toBe(call.expected);
      if (call.op === "ask" && call.outcome.ok) expect(call.outcome.value.source).toBe(Source.CACHE);
    }
    // The probe's result is reused for up to 2 s, so health follows a moment later.
    await eventually(async () => expect((await health.check({ service: "" })).status).toBe(Status.SERVING), 10_000);
    await eventually(async () => expect((await fetch(`${semcache.url}/healthz`)).status).toBe(200), 5_000);
    await eventually(async () => expect(await storeUp()).toBe(1), 5_000);

    // Nothing acknowledged was lost: the entries from before the outage, and every acknowledged Store of the run.
    const checker = clients[1] as CacheClient;
    const acknowledged = [
      ...seeded,
      ...calls.flatMap((c) => (c.op === "store" && c.outcome.ok ? [{ prompt: c.prompt, response: c.response }] : [])),
    ];
    await concurrently(8, async (w) => {
      for (let i = w; i < acknowledged.length; i += 8) {
        const { prompt, response } = acknowledged[i] as { prompt: string; response: string };
        const found = await checker.lookup({ prompt, scope: SCOPE });
        expect(found.kind, `acknowledged "${prompt}"`).toBe(MatchKind.EXACT);
        expect(found.entry?.response).toBe(response);
      }
    });
    for (const prompt of asked) expect((await checker.ask({ prompt, scope: SCOPE })).source).toBe(Source.CACHE);
    const stats = await checker.stats({ namespace: SCOPE.namespace });
    expect(Number(stats.entries)).toBeGreaterThanOrEqual(acknowledged.length + asked.length);
    expect(stats.cacheErrors).toBeGreaterThan(0n);
  }, 90_000);
});
