/**
 * The Redis store against a Redis WITH the query engine (redis-stack-server,
 * Redis 8): the shared CacheStore contract, then Redis-specific behaviour.
 * Runs only when SEMCACHE_TEST_REDIS_URL points at such a server, e.g.
 *   docker run -d -p 6379:6379 redis/redis-stack-server
 *   SEMCACHE_TEST_REDIS_URL=redis://127.0.0.1:6379 npx vitest run test/store/redis
 * Every test works under its own random key prefix and removes its keys and
 * indexes afterwards; nothing else on the server is touched.
 */
import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CacheStore, EntryScope } from "../../src/store/cache-store.js";
import { embeddingTag, escapeGlob, indexName } from "../../src/store/redis/naming.js";
import { IndexMissingError } from "../../src/store/redis/connection.js";
import {
  RedisStoreStartupError,
  openRedisStore,
  type RedisStore,
  type RedisStoreOptions,
} from "../../src/store/redis/index.js";
import { recordingLogger } from "../support/recording-logger.js";
import { eventually } from "../support/eventually.js";
import { describeStoreContract, type StoreHarness } from "./support/contract.js";
import { DIM, entryOf, rotated, scopeOf } from "./support/vectors.js";

const url = process.env["SEMCACHE_TEST_REDIS_URL"];
const INDEX = { m: 16, efConstruction: 200, efSearch: 64 };
const MODEL = "contract/test-model";

type RawClient = ReturnType<typeof createClient<{}, {}, {}, 2>>;

function newPrefix(): string {
  return `semcache-test:${randomUUID().slice(0, 12)}:`;
}

/** Removes everything under `prefix`: its indexes (FT.DROPINDEX without DD) and its keys. */
async function removePrefix(raw: RawClient, prefix: string): Promise<void> {
  const names = (await raw.sendCommand(["FT._LIST"])) as string[];
  for (const name of names.map(String)) {
    if (name.startsWith(prefix)) await raw.sendCommand(["FT.DROPINDEX", name]);
  }
  let cursor = "0";
  do {
    const [next, keys] = (await raw.sendCommand(["SCAN", cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", "1000"])) as [string, string[]];
    cursor = String(next);
    if (keys.length > 0) await raw.sendCommand(["UNLINK", ...keys]);
  } while (cursor !== "0");
}

if (url === undefined || url === "") {
  const reason =
    "SEMCACHE_TEST_REDIS_URL is not set: the Redis contract suite needs a Redis with the query engine " +
    "(e.g. docker run -p 6379:6379 redis/redis-stack-server; SEMCACHE_TEST_REDIS_URL=redis://127.0.0.1:6379)";
  console.info(`[redis-contract] skipped: ${reason}`);
  describe("Redis store with the query engine", () => {
    it.skip(`skipped: ${reason}`, () => undefined);
  });
} else {
  let raw: RawClient;
  const prefixes: string[] = [];

  beforeAll(async () => {
    raw = createClient({ url, RESP: 2 });
    raw.on("error", () => undefined);
    await raw.connect();
  });

  afterAll(async () => {
    for (const prefix of prefixes.splice(0)) await removePrefix(raw, prefix);
    await raw?.close();
  });

  function options(keyPrefix: string, overrides: Partial<RedisStoreOptions> = {}): RedisStoreOptions {
    return {
      url: url as string,
      keyPrefix,
      modelId: MODEL,
      dimension: DIM,
      index: INDEX,
      logger: recordingLogger().logger,
      ...overrides,
    };
  }

  describeStoreContract("redis", async (): Promise<StoreHarness> => {
    const keyPrefix = newPrefix();
    prefixes.push(keyPrefix);
    const opened: CacheStore[] = [];
    const open = async (): Promise<CacheStore> => {
      const store = await openRedisStore(options(keyPrefix));
      opened.push(store);
      return store;
    };
    const store = await open();
    return {
      store,
      reopen: open,
      cleanup: async () => {
        for (const s of opened.splice(0)) await s.close();
        await removePrefix(raw, keyPrefix);
      },
    };
  });

  describe("Redis store with the query engine: Redis specifics", () => {
    const stores: RedisStore[] = [];
    let keyPrefix: string;

    async function open(overrides: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
      const store = await openRedisStore(options(keyPrefix, overrides));
      stores.push(store);
      return store;
    }

    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close();
      await removePrefix(raw, keyPrefix);
    });

    beforeEach(() => {
      keyPrefix = newPrefix();
      prefixes.push(keyPrefix);
    });

    it("detects the query engine and creates the index named after model and dimension", async () => {
      const store = await open();
      expect(store.indexName).toBe(indexName(keyPrefix, MODEL, DIM));
      expect(store.indexName).toMatch(new RegExp(`^${keyPrefix}idx:contract-test-model-[0-9a-f]{8}:${DIM}$`, "u"));
      expect(((await raw.sendCommand(["FT._LIST"])) as string[]).map(String)).toContain(store.indexName);
      // Opening again reuses (and verifies) the existing index.
      const again = await open();
      expect(again.indexName).toBe(store.indexName);
    });

    it("keeps scopes apart whatever punctuation, spaces or non-ASCII their namespace and model hold", async () => {
      const store = await open();
      const names = ["gpt-4o-mini", "llama3.1:8b", "org/team", "a b", "naïve-日本", "user@example.com", "x{y}|z", "Team", "team"];
      const scopes: EntryScope[] = names.map((name, i) => scopeOf(name, names[(i + 1) % names.length]!, { p: name }));
      // The same vector everywhere: only the scope filter can tell them apart.
      await store.put(scopes.map((scope) => entryOf(scope, `prompt in ${scope.namespace}`, rotated(0))));
      for (const scope of scopes) {
        const found = await store.search(scope, rotated(0), 10, Date.now());
        expect(found.map((n) => n.entry.scope)).toEqual([scope]);
        expect(found[0]?.similarity).toBeCloseTo(1, 5);
        expect(await store.count(scope.namespace)).toBe(1);
        expect((await store.listRecent(scope.namespace, 10, Date.now())).map((e) => e.prompt)).toEqual([`prompt in ${scope.namespace}`]);
      }
      expect(await store.flushNamespace("org/team")).toBe(1);
      expect(await store.count("org/team")).toBe(0);
      expect(await store.count()).toBe(names.length - 1);
      expect(await store.count("a")).toBe(0);
      expect(await store.count("b")).toBe(0);
    });

    it("never mixes vectors of two embedding models or dimensions, though both share the entry keys", async () => {
      const a = await open({ modelId: "model-a" });
      const b = await open({ modelId: "model-b" });
      const small = await open({ modelId: "model-a", dimension: 8 });
      expect(new Set([a.indexName, b.indexName, small.indexName]).size).toBe(3);
      const scope = scopeOf("ns");
      const entry = entryOf(scope, "only in a", rotated(0));
      await a.put([entry]);
      expect((await a.search(scope, rotated(0), 5, Date.now())).map((n) => n.entry.id)).toEqual([entry.id]);
      expect(await b.search(scope, rotated(0), 5, Date.now())).toEqual([]);
      expect(await b.count()).toBe(0);
      expect(await small.search(scope, new Float32Array(8).fill(0.5), 5, Date.now())).toEqual([]);
      // The exact layer does not depend on the embedding: an id is an id.
      expect((await b.get(entry.id, Date.now()))?.response).toBe(entry.response);
    });

    it.each([
      ["another dimension", (name: string, prefix: string) => ["FT.CREATE", name, "ON", "HASH", "PREFIX", "1", `${prefix}entry:`, "FILTER", "@emb==\"x\"",
        "SCHEMA", "ns", "TAG", "CASESENSITIVE", "scope", "TAG", "CASESENSITIVE", "model", "TAG", "CASESENSITIVE", "created", "NUMERIC", "SORTABLE",
        "vec", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", String(DIM * 2), "DISTANCE_METRIC", "COSINE"]],
      ["another prefix", (name: string, prefix: string) => ["FT.CREATE", name, "ON", "HASH", "PREFIX", "1", `${prefix}other:`,
        "SCHEMA", "ns", "TAG", "scope", "TAG", "model", "TAG", "created", "NUMERIC",
        "vec", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", String(DIM), "DISTANCE_METRIC", "COSINE"]],
      ["another schema", (name: string, prefix: string) => ["FT.CREATE", name, "ON", "HASH", "PREFIX", "1", `${prefix}entry:`,
        "SCHEMA", "ns", "TEXT", "vec", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", String(DIM), "DISTANCE_METRIC", "COSINE"]],
    ])("refuses to start on an existing index with %s", async (_label, create) => {
      const name = indexName(keyPrefix, MODEL, DIM);
      await raw.sendCommand(create(name, keyPrefix));
      const error = await open().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RedisStoreStartupError);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).toContain("FT.DROPINDEX");
      // The foreign index is left as it was.
      expect(((await raw.sendCommand(["FT._LIST"])) as string[]).map(String)).toContain(name);
    });

    // The same prefix, FILTER and schema as the store's own index, so only the
    // vector field differs: RediSearch 2.6's FT.INFO does not show it.
    const vectorField = (algorithm: string, dim: number, metric: string) => (name: string, prefix: string) => [
      "FT.CREATE", name, "ON", "HASH", "PREFIX", "1", `${prefix}entry:`, "FILTER", `@emb=="${embeddingTag(MODEL, DIM)}"`,
      "SCHEMA", "ns", "TAG", "CASESENSITIVE", "scope", "TAG", "CASESENSITIVE", "model", "TAG", "CASESENSITIVE", "created", "NUMERIC", "SORTABLE",
      "vec", "VECTOR", algorithm, "6", "TYPE", "FLOAT32", "DIM", String(dim), "DISTANCE_METRIC", metric,
    ];
    it.each([
      ["another DIM", vectorField("HNSW", DIM * 2, "COSINE"), /DIM|dimension/u],
      ["the L2 metric", vectorField("HNSW", DIM, "L2"), /L2/u],
      ["the IP metric", vectorField("HNSW", DIM, "IP"), /IP/u],
      ["the FLAT algorithm", vectorField("FLAT", DIM, "COSINE"), /FLAT|not HNSW/u],
    ])("refuses to start on an existing index whose vector field has %s, naming the setting, and leaves no probe entry behind", async (_label, create, setting) => {
      const name = indexName(keyPrefix, MODEL, DIM);
      await raw.sendCommand(create(name, keyPrefix));
      const error = await open().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RedisStoreStartupError);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).toMatch(setting);
      expect((error as Error).message).toContain("FT.DROPINDEX");
      const [, keys] = (await raw.sendCommand(["SCAN", "0", "MATCH", `${escapeGlob(keyPrefix)}*`, "COUNT", "1000"])) as [string, string[]];
      expect(keys).toEqual([]);
    });

    it("re-creates its index when it goes missing (Redis restarted empty, or dropped): UNAVAILABLE meanwhile, then entries re-indexed", async () => {
      const store = await open();
      const scope = scopeOf("heal");
      const entries = Array.from({ length: 20 }, (_, i) => entryOf(scope, `kept ${i}`, rotated(i / 40)));
      await store.put(entries);
      expect((await store.search(scope, rotated(0), 1, Date.now()))[0]?.entry.id).toBe(entries[0]?.id);

      // Dropped without its documents: the entries stay in Redis.
      await raw.sendCommand(["FT.DROPINDEX", store.indexName]);
      const failure = await store.search(scope, rotated(0), 1, Date.now()).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(IndexMissingError);
      expect((failure as IndexMissingError).code).toBe("unavailable");
      await store.ping();
      expect(((await raw.sendCommand(["FT._LIST"])) as string[]).map(String)).toContain(store.indexName);
      // RediSearch re-indexes what is under the prefix by itself.
      await eventually(async () => expect(await store.count("heal")).toBe(20), 10_000);
      expect((await store.search(scope, rotated(0), 1, Date.now()))[0]?.entry.id).toBe(entries[0]?.id);

      // Restarted empty: index and entries gone; the exact layer keeps working, and search heals as above.
      await raw.sendCommand(["FT.DROPINDEX", store.indexName, "DD"]);
      const fresh = entryOf(scope, "after the restart", rotated(0.5));
      await store.put([fresh]);
      expect((await store.get(fresh.id, Date.now()))?.response).toBe(fresh.response);
      await expect(store.listRecent("heal", 5, Date.now())).rejects.toBeInstanceOf(IndexMissingError);
      await store.ping();
      await eventually(async () => expect((await store.listRecent("heal", 5, Date.now())).map((e) => e.id)).toEqual([fresh.id]), 10_000);
    });

    it("re-creates it once among several instances racing, and on reconnect before any search", async () => {
      const replicas = [await open(), await open(), await open()];
      const scope = scopeOf("race");
      await replicas[0]!.put([entryOf(scope, "shared", rotated(0))]);
      await raw.sendCommand(["FT.DROPINDEX", replicas[0]!.indexName]);
      const outcomes = await Promise.allSettled(replicas.map((r) => r.search(scope, rotated(0), 1, Date.now())));
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(IndexMissingError);
      }
      for (const replica of replicas) await replica.ping();
      for (const replica of replicas) {
        await eventually(async () => expect((await replica.search(scope, rotated(0), 1, Date.now())).map((n) => n.entry.prompt)).toEqual(["shared"]), 10_000);
      }

      // Dropped again, then every connection cut: each instance checks its index on reconnecting.
      await raw.sendCommand(["FT.DROPINDEX", replicas[0]!.indexName]);
      await raw.sendCommand(["CLIENT", "KILL", "SKIPME", "yes"]);
      await eventually(async () => expect(((await raw.sendCommand(["FT._LIST"])) as string[]).map(String)).toContain(replicas[0]!.indexName), 10_000);
    });

    it("stores the vector as a FLOAT32 blob the index can search, and hits do not disturb it", async () => {
      const store = await open();
      const scope = scopeOf("ns");
      const entry = entryOf(scope, "q", rotated(0.25));
      await store.put([entry]);
      for (let i = 0; i < 5; i++) await store.recordHit(entry.id);
      const found = await store.search(scope, rotated(0), 1, Date.now());
      expect(found[0]?.entry.hits).toBe(5);
      expect(found[0]?.similarity).toBeCloseTo(Math.cos(0.25), 4);
      expect(await raw.sendCommand(["HSTRLEN", `${keyPrefix}entry:${entry.id}`, "vec"])).toBe(DIM * 4);
    });
  });
}
