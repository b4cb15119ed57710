/**
 * The Redis store against a real redis-server WITHOUT the query engine (as
 * Debian ships it): the startup refusal, everything that needs no FT.*, and
 * behaviour while Redis is killed, hung and restarted. Needs `redis-server`
 * on PATH (CI installs Debian's); the server is started by the tests.
 */
import { createClient, RESP_TYPES } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_OBSERVATIONS_PER_ENTRY, StoreUnavailableError, type NewEntry } from "../../src/store/cache-store.js";
import {
  NO_QUERY_ENGINE_MESSAGE,
  RedisStoreStartupError,
  connectRedis,
  openRedisStore,
  type RedisStore,
  type RedisStoreOptions,
} from "../../src/store/redis/index.js";
import { decodeFloat32 } from "../../src/store/vectors.js";
import { eventually } from "../support/eventually.js";
import { openPlainRedisStore } from "../support/plain-redis-store.js";
import { recordingLogger, type LogRecord } from "../support/recording-logger.js";
import { RedisTestServer } from "../support/redis-server.js";

const PASSWORD = "s3cret-pw";
const DIM = 8;
const INDEX = { m: 16, efConstruction: 200, efSearch: 64 };
let prefixCounter = 0;

function uniquePrefix(): string {
  prefixCounter += 1;
  return `semcache-test-${process.pid}-${prefixCounter}:`;
}

function vectorOf(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.sin(seed * 7.1 + i * 1.3) + i / 10;
  return v;
}

function makeEntry(id: string, overrides: Partial<NewEntry> & { namespace?: string } = {}): NewEntry {
  const namespace = overrides.namespace ?? "team-a";
  return {
    id,
    scope: overrides.scope ?? { namespace, model: "gpt-4o-mini", params: { temperature: "0" }, scopeKey: `scope-${namespace}` },
    prompt: overrides.prompt ?? `prompt ${id}`,
    response: overrides.response ?? `response ${id}`,
    createdAtMs: overrides.createdAtMs ?? Date.now(),
    expiresAtMs: overrides.expiresAtMs ?? 0,
    metadata: overrides.metadata ?? { completion_tokens: "12" },
    vector: overrides.vector ?? vectorOf(id.length),
  };
}

/** Runs `fn`, expecting StoreUnavailableError; returns how long the failure took. */
async function timeFailure(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await expect(fn()).rejects.toBeInstanceOf(StoreUnavailableError);
  return performance.now() - started;
}

describe("Redis store on a plain redis-server (no query engine)", () => {
  let server: RedisTestServer;
  let raw: ReturnType<typeof createClient<{}, {}, {}, 2>>;
  const stores: RedisStore[] = [];
  const { logger } = recordingLogger();

  function options(overrides: Partial<RedisStoreOptions> = {}): RedisStoreOptions {
    return {
      url: server.url,
      keyPrefix: uniquePrefix(),
      modelId: "Xenova/all-MiniLM-L6-v2",
      dimension: DIM,
      index: INDEX,
      logger,
      ...overrides,
    };
  }

  /** A store on this plain redis-server (test/support/plain-redis-store.ts). */
  async function openPlain(overrides: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
    const store = await openPlainRedisStore(options(overrides));
    stores.push(store);
    return store;
  }

  beforeAll(async () => {
    server = await RedisTestServer.start({ password: PASSWORD });
    raw = createClient({ url: server.url, RESP: 2 });
    raw.on("error", () => undefined);
    await raw.connect();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await raw?.close().catch(() => undefined);
    await server?.stop();
  });

  it("refuses to start without the query engine, naming the URL but not the password", async () => {
    const error = await openRedisStore(options()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisStoreStartupError);
    const message = (error as Error).message;
    expect(message).toContain(NO_QUERY_ENGINE_MESSAGE);
    expect(message).toContain(`127.0.0.1:${server.port}`);
    expect(message).not.toContain(PASSWORD);
  });

  it("fails startup with StoreUnavailableError when nothing listens", async () => {
    const started = performance.now();
    await expect(
      openRedisStore(options({ url: "redis://:pw@127.0.0.1:1", startupTimeoutMs: 500 })),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("fails startup at once, and says why, when Redis refuses the credentials", async () => {
    const wrong = `redis://:not-the-password@127.0.0.1:${server.port}`;
    const started = performance.now();
    await expect(openRedisStore(options({ url: wrong }))).rejects.toThrow(/WRONGPASS/u);
    await expect(openRedisStore(options({ url: `redis://127.0.0.1:${server.port}` }))).rejects.toThrow(/NOAUTH/u);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("puts, gets and replaces entries by id (the exact layer)", async () => {
    const store = await openPlain();
    const now = Date.now();
    const first = makeEntry("a1", { createdAtMs: now, metadata: { k: "v" } });
    expect(await store.put([first, makeEntry("a2")])).toEqual([false, false]);

    const got = await store.get("a1", now);
    expect(got).toEqual({
      id: "a1",
      scope: first.scope,
      prompt: first.prompt,
      response: first.response,
      createdAtMs: now,
      expiresAtMs: 0,
      hits: 0,
      observations: [],
      metadata: { k: "v" },
    });
    expect(await store.get("missing", now)).toBeUndefined();

    expect(await store.recordHit("a1")).toBe(1);
    const replacement = makeEntry("a1", { response: "new answer", metadata: {}, createdAtMs: now + 5 });
    expect(await store.put([replacement])).toEqual([true]);
    const replaced = await store.get("a1", now + 5);
    expect(replaced?.response).toBe("new answer");
    expect(replaced?.metadata).toEqual({});
    expect(replaced?.hits).toBe(0);
  });

  it("stores each entry as one hash under <prefix>entry:<id>, replacing it whole", async () => {
    const store = await openPlain();
    await store.put([makeEntry("k1")]);
    const key = `${store.keyPrefix}entry:k1`;
    expect(await raw.sendCommand(["TYPE", key])).toBe("hash");
    const fields = (await raw.sendCommand(["HKEYS", key])) as string[];
    expect([...fields].sort()).toEqual(
      ["created", "emb", "expires", "hits", "meta", "model", "ns", "params", "prompt", "response", "scope", "vec"].sort(),
    );
    // The embedding model and dimension: the index admits only its own.
    const emb = (await raw.sendCommand(["HGET", key, "emb"])) as string;
    expect(emb).toMatch(/^xenova-all-minilm-l6-v2-[0-9a-f]{8}:8$/u);
    expect(store.indexName).toBe(`${store.keyPrefix}idx:${emb}`);

    // A field the entry does not have must not survive a replacement.
    await raw.sendCommand(["HSET", key, "stale", "x"]);
    await store.put([makeEntry("k1", { response: "again" })]);
    expect(await raw.sendCommand(["HEXISTS", key, "stale"])).toBe(0);
    expect(await raw.sendCommand(["HGET", key, "response"])).toBe("again");
  });

  it("sets the Redis TTL to the entry's expiry, and never serves an entry past it", async () => {
    const store = await openPlain();
    const now = Date.now();
    const expiresAtMs = now + 60_000;
    await store.put([makeEntry("t1", { createdAtMs: now, expiresAtMs }), makeEntry("t2", { createdAtMs: now })]);
    expect(await raw.sendCommand(["PEXPIRETIME", `${store.keyPrefix}entry:t1`])).toBe(expiresAtMs);
    expect(await raw.sendCommand(["PTTL", `${store.keyPrefix}entry:t2`])).toBe(-1);
    expect(await raw.sendCommand(["HGET", `${store.keyPrefix}entry:t1`, "expires"])).toBe(String(expiresAtMs));

    expect((await store.get("t1", now + 59_999))?.id).toBe("t1");
    // Past its expiry by the caller's clock even though Redis still holds the key.
    expect(await store.get("t1", expiresAtMs)).toBeUndefined();
    expect((await store.get("t2", now + 10 ** 9))?.id).toBe("t2");

    // An entry whose expiry has already passed is gone at once.
    await store.put([makeEntry("t3", { createdAtMs: now - 2000, expiresAtMs: now - 1000 })]);
    expect(await raw.sendCommand(["EXISTS", `${store.keyPrefix}entry:t3`])).toBe(0);
  });

  it("counts hits with HINCRBY and never resurrects a deleted or expired entry", async () => {
    const store = await openPlain();
    await store.put([makeEntry("h1"), makeEntry("h2", { expiresAtMs: Date.now() + 150 })]);
    expect(await store.recordHit("h1")).toBe(1);
    expect(await store.recordHit("h1")).toBe(2);
    expect((await store.get("h1", Date.now()))?.hits).toBe(2);

    await raw.sendCommand(["DEL", `${store.keyPrefix}entry:h1`]);
    expect(await store.recordHit("h1")).toBe(0);
    expect(await raw.sendCommand(["EXISTS", `${store.keyPrefix}entry:h1`])).toBe(0);

    await new Promise((r) => setTimeout(r, 250));
    expect(await store.recordHit("h2")).toBe(0);
    expect(await raw.sendCommand(["EXISTS", `${store.keyPrefix}entry:h2`])).toBe(0);
    expect(await store.recordHit("never-existed")).toBe(0);
    expect(await raw.sendCommand(["EXISTS", `${store.keyPrefix}entry:never-existed`])).toBe(0);
  });

  it("appends observations atomically in the obs field, keeps the newest 64, resets them on replace, never resurrects", async () => {
    const store = await openPlain();
    const now = Date.now();
    await store.put([makeEntry("o1", { createdAtMs: now }), makeEntry("o2", { expiresAtMs: now + 60_000 })]);
    const key = `${store.keyPrefix}entry:o1`;
    expect(await raw.sendCommand(["HEXISTS", key, "obs"])).toBe(0);
    const adds = await Promise.all(
      Array.from({ length: MAX_OBSERVATIONS_PER_ENTRY + 6 }, (_, i) =>
        store.addObservation("o1", { similarity: 0.9 + i / 1000, correct: i % 3 !== 0, atMs: now + i }, now),
      ),
    );
    expect(adds.every(Boolean)).toBe(true);
    const kept = (await store.get("o1", now))?.observations ?? [];
    expect(kept).toHaveLength(MAX_OBSERVATIONS_PER_ENTRY);
    expect(kept[0]).toEqual({ similarity: 0.906, correct: false, atMs: now + 6 });
    expect(kept.at(-1)).toEqual({ similarity: 0.969, correct: false, atMs: now + MAX_OBSERVATIONS_PER_ENTRY + 5 });
    // The stored form: a JSON array of [similarity, correct, atMs].
    expect(JSON.parse((await raw.sendCommand(["HGET", key, "obs"])) as string)[0]).toEqual([0.906, 0, now + 6]);

    await store.put([makeEntry("o1", { response: "new answer" })]);
    expect((await store.get("o1", now))?.observations).toEqual([]);
    expect(await raw.sendCommand(["HEXISTS", key, "obs"])).toBe(0);

    // Expired by the caller's clock (Redis still holds it), then deleted: never written, never recreated.
    expect(await store.addObservation("o2", { similarity: 0.9, correct: true, atMs: now }, now + 60_000)).toBe(false);
    expect(await raw.sendCommand(["HEXISTS", `${store.keyPrefix}entry:o2`, "obs"])).toBe(0);
    await raw.sendCommand(["DEL", key]);
    expect(await store.addObservation("o1", { similarity: 0.9, correct: true, atMs: now }, now)).toBe(false);
    expect(await raw.sendCommand(["EXISTS", key])).toBe(0);
  });

  it("answers ping while Redis is up", async () => {
    const store = await openPlain();
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it("flushes one namespace by paged SCAN + UNLINK, leaving the others", async () => {
    const store = await openPlain();
    const many = Array.from({ length: 1203 }, (_, i) => makeEntry(`a-${i}`, { namespace: "team-a" }));
    await store.put(many);
    await store.put([makeEntry("b-1", { namespace: "team-b" }), makeEntry("b-2", { namespace: "team-b" })]);
    await store.put([makeEntry("c-1", { namespace: "Team-A" })]); // differs only in case: another namespace
    await raw.sendCommand(["SET", `${store.keyPrefix}entry:not-a-hash`, "x"]); // a stray key must not break it

    expect(await store.count("team-a")).toBe(1203);
    expect(await store.count()).toBe(1206);
    expect(await store.flushNamespace("team-a")).toBe(1203);
    expect(await store.count("team-a")).toBe(0);
    expect(await store.count("team-b")).toBe(2);
    expect(await store.count("Team-A")).toBe(1);
    expect(await store.get("b-1", Date.now())).toBeDefined();
    expect(await store.flushNamespace("team-a")).toBe(0);

    expect(await store.flushAll()).toBe(4); // the stray key sits under the entry prefix too
    expect(await store.count()).toBe(0);
  });

  it("round-trips the vector as a little-endian FLOAT32 blob of `dimension` floats", async () => {
    const store = await openPlain();
    const vector = new Float32Array([0.1, -0.2, 3.5, -4.25, 1e-7, 123456.789, -0, 0.333333]);
    await store.put([makeEntry("v1", { vector })]);
    const blob = (await raw.sendCommand(["HGET", `${store.keyPrefix}entry:v1`, "vec"], {
      typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer },
    })) as Buffer;
    expect(blob.byteLength).toBe(DIM * 4);
    expect(blob.readFloatLE(8)).toBe(vector[2]);
    expect(Array.from(decodeFloat32(blob))).toEqual(Array.from(vector));
    await expect(store.put([makeEntry("v2", { vector: new Float32Array(DIM + 1) })])).rejects.toThrow(/dimensional/u);
  });

  it("refuses search and listRecent without the query engine", async () => {
    const store = await openPlain();
    const scope = makeEntry("x").scope;
    await expect(store.search(scope, vectorOf(1), 3, Date.now())).rejects.toThrow(/query engine/u);
    await expect(store.listRecent("team-a", 5, Date.now())).rejects.toThrow(/query engine/u);
  });
});

describe("Redis store while Redis goes away (plain redis-server)", () => {
  let server: RedisTestServer;
  let store: RedisStore | undefined;
  const recorded = recordingLogger();
  const connectionErrors = (): LogRecord[] => recorded.records.filter((r) => r.msg.includes("connection error"));

  beforeAll(async () => {
    server = await RedisTestServer.start();
  });

  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it("fails fast with StoreUnavailableError while Redis is killed, and recovers on its own after a restart", async () => {
    store = await openPlainRedisStore({
      url: server.url,
      keyPrefix: uniquePrefix(),
      modelId: "m",
      dimension: DIM,
      index: INDEX,
      logger: recorded.logger,
    });
    const s = store;
    await s.put([makeEntry("r1")]);
    expect((await s.get("r1", Date.now()))?.id).toBe("r1");

    await server.signal("SIGKILL");
    const operations: (() => Promise<unknown>)[] = [
      () => s.get("r1", Date.now()),
      () => s.put([makeEntry("r2")]),
      () => s.recordHit("r1"),
      () => s.count("team-a"),
      () => s.flushNamespace("team-a"),
      () => s.flushAll(),
      () => s.addObservation("r1", { similarity: 0.9, correct: true, atMs: 1 }, Date.now()),
      () => s.ping(),
    ];
    for (let round = 0; round < 3; round++) {
      for (const op of operations) expect(await timeFailure(op)).toBeLessThan(1000);
    }
    expect(s.isReady).toBe(false);
    expect(connectionErrors().length).toBeGreaterThan(0);
    // Many failed reconnection attempts, but one report per outage.
    expect(connectionErrors().length).toBeLessThanOrEqual(2);

    await server.restart();
    // Same store object: reconnection is automatic (backoff capped at 2 s).
    await eventually(() => s.put([makeEntry("r3")]), 10_000);
    expect((await s.get("r3", Date.now()))?.id).toBe("r3");
    expect(await s.get("r1", Date.now())).toBeUndefined(); // no persistence in the test server
    expect(s.isReady).toBe(true);
  }, 30_000);

  it("tells its listeners when the connection is back after Redis restarted (where the index is checked), not at the first connect", async () => {
    const connection = await connectRedis({ url: server.url, keyPrefix: uniquePrefix(), modelId: "m", dimension: DIM, index: INDEX, maxReconnectDelayMs: 200, logger: recordingLogger().logger });
    try {
      let reconnects = 0;
      connection.onReconnect(() => {
        reconnects += 1;
      });
      await connection.command(["PING"]);
      expect(reconnects).toBe(0);
      await server.signal("SIGKILL");
      await expect(connection.command(["PING"])).rejects.toBeInstanceOf(StoreUnavailableError);
      await server.restart();
      await eventually(async () => expect(reconnects).toBe(1), 10_000);
      expect(await connection.command(["PING"])).toBe("PONG");
    } finally {
      await connection.close();
    }
  }, 30_000);

  it("bounds every command by the timeout when Redis hangs (SIGSTOP), then recovers (SIGCONT)", async () => {
    const s = await openPlainRedisStore({
      url: server.url,
      keyPrefix: uniquePrefix(),
      modelId: "m",
      dimension: DIM,
      index: INDEX,
      commandTimeoutMs: 300,
      logger: recordingLogger().logger,
    });
    try {
      await s.put([makeEntry("s1")]);
      await server.signal("SIGSTOP");
      try {
        for (const op of [() => s.get("s1", Date.now()), () => s.recordHit("s1"), () => s.put([makeEntry("s2")])]) {
          const took = await timeFailure(op);
          expect(took).toBeGreaterThanOrEqual(250);
          expect(took).toBeLessThan(1000);
        }
      } finally {
        await server.signal("SIGCONT");
      }
      await eventually(() => s.get("s1", Date.now()), 5000);
      expect((await s.get("s1", Date.now()))?.id).toBe("s1");
    } finally {
      await s.close();
    }
  }, 30_000);
});
