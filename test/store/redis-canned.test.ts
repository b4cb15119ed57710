/**
 * The Redis store's FT.* paths against canned RediSearch replies, shaped as
 * RediSearch 2.6 and Redis 8 send them over RESP2: what the store sends at
 * startup and for each operation, and what it makes of the answers. No
 * server needed; the real thing is covered by redis-contract.test.ts.
 */
import { ErrorReply, type RedisArgument } from "redis";
import { describe, expect, it } from "vitest";
import type { EntryScope } from "../../src/store/cache-store.js";
import { IndexMissingError, type StoreConnection } from "../../src/store/redis/connection.js";
import { READ_FIELDS } from "../../src/store/redis/entry-codec.js";
import { buildCreateIndexArgs } from "../../src/store/redis/index-schema.js";
import { NO_QUERY_ENGINE_MESSAGE, RedisStoreStartupError, initRedisStore, type RedisStore } from "../../src/store/redis/index.js";
import type { LuaScript } from "../../src/store/redis/scripts.js";
import { metricDistances, probeVectors } from "../../src/store/redis/vector-probe.js";
import { decodeFloat32, encodeFloat32 } from "../../src/store/vectors.js";
import { recordingLogger } from "../support/recording-logger.js";

const DIM = 4;
const OPTIONS = { keyPrefix: "sc:", modelId: "mini", dimension: DIM, index: { m: 16, efConstruction: 200, efSearch: 64 } };
const INDEX = "sc:idx:mini:4";
const SCOPE: EntryScope = { namespace: "org/team", model: "gpt-4o-mini", params: {}, scopeKey: "5c0fe" };

type Responder = (args: string[], raw: readonly RedisArgument[]) => unknown;

/** A connection answering from `respond`, recording every command. */
class CannedConnection implements StoreConnection {
  readonly safeUrl = "redis://canned:6379";
  readonly sent: (readonly RedisArgument[])[] = [];
  closed = false;
  private readonly reconnectListeners: (() => void)[] = [];
  constructor(private readonly respond: Responder) {}
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }
  /** As if the connection had dropped and come back. */
  reconnect(): void {
    for (const listener of this.reconnectListeners) listener();
  }
  get isReady(): boolean {
    return !this.closed;
  }
  async command<T>(args: readonly RedisArgument[]): Promise<T> {
    this.sent.push(args);
    return this.respond(args.map((a) => (Buffer.isBuffer(a) ? "<blob>" : String(a))), args) as T;
  }
  async script<T>(script: LuaScript, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<T> {
    return this.command<T>(["EVALSHA", script.sha1, String(keys.length), ...keys, ...args]);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Commands sent, by name. */
  names(): string[] {
    return this.sent.map((args) => String(args[0]));
  }
}

function attributes(vector: unknown[]): unknown[] {
  return [
    ["identifier", "ns", "attribute", "ns", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
    ["identifier", "scope", "attribute", "scope", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
    ["identifier", "model", "attribute", "model", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
    ["identifier", "created", "attribute", "created", "type", "NUMERIC", "SORTABLE", "UNF"],
    ["identifier", "vec", "attribute", "vec", "type", "VECTOR", ...vector],
  ];
}

function infoReply(options: { vector?: unknown[]; prefix?: string; numDocs?: string } = {}): unknown[] {
  return [
    "index_name", INDEX,
    "index_options", [],
    "index_definition", ["key_type", "HASH", "prefixes", [options.prefix ?? "sc:entry:"], "filter", '@emb=="mini:4"', "default_score", "1"],
    "attributes", attributes(options.vector ?? []),
    "num_docs", options.numDocs ?? "0",
  ];
}

const REDIS8_VECTOR = ["algorithm", "HNSW", "data_type", "FLOAT32", "dim", 4, "distance_metric", "COSINE", "M", 16, "ef_construction", 200];

/** How the vector field of a canned 2.6 index behaves (FT.INFO does not say). */
interface CannedVectorField {
  readonly dimension?: number;
  /** Accepts query vectors of any length (then finds nothing), as 2.6 may on an index without a matching vector. */
  readonly lenient?: boolean;
  readonly metric?: "COSINE" | "IP" | "L2";
  readonly algorithm?: "HNSW" | "FLAT";
}

/**
 * A server with the query engine; `existing` says whether the index is
 * already there. Without `vector` details in FT.INFO (2.6), it answers the
 * store's probe entry as an index with the `field` settings would.
 */
function searchServer(
  opts: { existing?: boolean; vector?: unknown[]; field?: CannedVectorField; debug?: { m: number }; search?: Responder } = {},
): Responder {
  let exists = opts.existing ?? false;
  const probes = new Map<string, Float32Array>();
  const field: Required<CannedVectorField> = { dimension: DIM, metric: "COSINE", algorithm: "HNSW", lenient: false, ...opts.field };
  return (args, raw) => {
    switch (args[0]) {
      case "PING":
        return "PONG";
      case "FT._LIST":
        return exists ? [INDEX] : [];
      case "FT.CREATE":
        exists = true;
        return "OK";
      case "FT.INFO":
        return infoReply({ vector: opts.vector ?? [] });
      case "EVALSHA": {
        // The probe entry's PUT_ENTRY: KEYS[1], expiry, then field/value pairs.
        const key = String(raw[3]);
        const vec = raw[raw.findIndex((a, i) => i > 4 && String(a) === "vec") + 1] as Buffer;
        if (vec.byteLength === field.dimension * 4) probes.set(key, decodeFloat32(vec));
        return 0;
      }
      case "DEL":
        return probes.delete(String(raw[1])) ? 1 : 0;
      case "FT.DEBUG":
        // Managed services often refuse it; a server that allows it describes the field.
        if (opts.debug === undefined) throw new ErrorReply("ERR unknown command 'FT.DEBUG'");
        return ["ALGORITHM", field.algorithm, "TYPE", "FLOAT32", "DIMENSION", field.dimension, "METRIC", field.metric, "M", opts.debug.m, "EF_CONSTRUCTION", 200];
      case "FT.SEARCH":
        if (args[2]?.includes("semcache\\-vector\\-probe")) {
          if (field.algorithm === "FLAT" && args[2].includes("EF_RUNTIME")) throw new ErrorReply("Error parsing vector similarity parameters: Invalid parameter EF_RUNTIME");
          const query = raw[6] as Buffer;
          if (query.byteLength !== field.dimension * 4 && field.lenient !== true) {
            throw new ErrorReply(`Error parsing vector similarity query: query vector blob size (${query.byteLength}) does not match index's expected size (${field.dimension * 4}).`);
          }
          if (query.byteLength !== field.dimension * 4) return [0];
          const found = [...probes].map(([key, stored]) => [key, ["dist", String(metricDistances(stored, decodeFloat32(query))[field.metric])]]);
          return [found.length, ...found.flat()];
        }
        if (opts.search) return opts.search(args, raw);
        throw new Error(`unexpected search ${args.join(" ")}`);
      default:
        throw new Error(`unexpected command ${args.join(" ")}`);
    }
  };
}

function doc(id: string, fields: Record<string, string>): unknown[] {
  return [`sc:entry:${id}`, Object.entries(fields).flat()];
}

function entryFields(id: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    prompt: `prompt ${id}`,
    response: `response ${id}`,
    ns: SCOPE.namespace,
    model: SCOPE.model,
    scope: SCOPE.scopeKey,
    params: "{}",
    created: "1000",
    expires: "0",
    hits: "2",
    meta: '{"k":"v"}',
    ...overrides,
  };
}

describe("Redis store startup (canned replies)", () => {
  it("refuses a server without the query engine, and closes the connection", async () => {
    const connection = new CannedConnection((args) => {
      if (args[0] === "PING") return "PONG";
      throw new ErrorReply(`ERR unknown command '${args[0]}', with args beginning with: `);
    });
    const error = await initRedisStore(connection, OPTIONS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStoreStartupError);
    expect((error as Error).message).toBe(`${NO_QUERY_ENGINE_MESSAGE} (redis://canned:6379)`);
    expect(connection.closed).toBe(true);
  });

  it("does not mistake other errors for a missing query engine", async () => {
    const connection = new CannedConnection((args) => {
      if (args[0] === "PING") return "PONG";
      throw new ErrorReply("NOPERM this user has no permissions to run the 'ft._list' command");
    });
    await expect(initRedisStore(connection, OPTIONS)).rejects.toThrow(/NOPERM/u);
    expect(connection.closed).toBe(true);
  });

  it("creates a missing index, then verifies it (Redis 8: vector described, no probe)", async () => {
    const connection = new CannedConnection(searchServer({ vector: REDIS8_VECTOR }));
    const store = await initRedisStore(connection, OPTIONS);
    expect(store.indexName).toBe(INDEX);
    expect(connection.names()).toEqual(["PING", "FT._LIST", "FT.CREATE", "FT.INFO"]);
    expect(connection.sent[2]).toEqual(
      buildCreateIndexArgs({ name: INDEX, prefix: "sc:entry:", embedding: "mini:4", dimension: DIM, params: OPTIONS.index }),
    );
  });

  it("reuses an existing index after checking it (2.6: the vector field checked on a probe entry of its own)", async () => {
    const connection = new CannedConnection(searchServer({ existing: true }));
    const store = await initRedisStore(connection, OPTIONS);
    expect(store.indexParams).toEqual(OPTIONS.index);
    expect(connection.names()).toEqual(["PING", "FT._LIST", "FT.INFO", "FT.DEBUG", "EVALSHA", "FT.SEARCH", "FT.SEARCH", "DEL"]);
    expect(connection.sent[3]).toEqual(["FT.DEBUG", "VECSIM_INFO", INDEX, "vec"]);
    // The probe entry: under the entry prefix, this store's embedding tag, a TTL, a scope no caller has.
    const put = connection.sent[4]!.map((a) => (Buffer.isBuffer(a) ? a : String(a)));
    const key = String(put[3]);
    expect(key).toMatch(/^sc:entry:~semcache-vector-probe-[0-9a-f-]{36}$/u);
    expect(Number(put[4])).toBeGreaterThan(Date.now());
    expect(put[put.indexOf("emb") + 1]).toBe("mini:4");
    expect(Array.from(decodeFloat32(put[put.indexOf("vec") + 1] as Buffer))).toEqual(Array.from(probeVectors(DIM).stored));
    const [search, hnswOnly] = [connection.sent[5]!, connection.sent[6]!];
    expect(String(search[2])).toMatch(/^\(@ns:\{semcache\\-vector\\-probe.*\}\)=>\[KNN 1 @vec \$v AS dist\]$/u);
    expect((search[6] as Buffer).byteLength).toBe(DIM * 4);
    expect(String(hnswOnly[2])).toContain("EF_RUNTIME 10 AS dist");
    // Deleted again.
    expect(connection.sent[7]).toEqual(["DEL", key]);
  });

  it("on 2.6 with FT.DEBUG allowed, also reads the field's settings from it: HNSW M warned about and reported", async () => {
    const { logger, records } = recordingLogger();
    const connection = new CannedConnection(searchServer({ existing: true, debug: { m: 32 } }));
    const store = await initRedisStore(connection, { ...OPTIONS, logger });
    expect(store.indexParams).toEqual({ m: 32, efConstruction: 200, efSearch: 64 });
    expect(records.filter((r) => r.level === 40).map((r) => r.msg)).toEqual([expect.stringMatching(/HNSW M is 32, not the configured 16/u)]);
    // The probe entry checks what the field does as well.
    expect(connection.names().slice(3)).toEqual(["FT.DEBUG", "EVALSHA", "FT.SEARCH", "FT.SEARCH", "DEL"]);
  });

  it("on 2.6 with FT.DEBUG allowed, refuses a field it describes as different before writing any probe entry", async () => {
    const connection = new CannedConnection(searchServer({ existing: true, debug: { m: 16 }, field: { metric: "L2" } }));
    await expect(initRedisStore(connection, OPTIONS)).rejects.toThrow(/the vector field uses L2 distance, not COSINE/u);
    expect(connection.names()).not.toContain("EVALSHA");
  });

  it.each([
    ["a dimension the probe query shows", { dimension: 8 }, /rejects 4-dimensional query vectors, so its DIM is not 4/u],
    ["a dimension only the missing probe entry shows", { dimension: 8, lenient: true }, /does not index a 4-dimensional FLOAT32 vector/u],
    ["the L2 metric", { metric: "L2" }, /uses DISTANCE_METRIC L2, not COSINE/u],
    ["the IP metric", { metric: "IP" }, /uses DISTANCE_METRIC IP, not COSINE/u],
    ["the FLAT algorithm", { algorithm: "FLAT" }, /refuses the HNSW query attribute EF_RUNTIME, so its algorithm is not HNSW/u],
  ] as const)("refuses an existing 2.6 index with %s, naming the setting", async (_label, field, message) => {
    const connection = new CannedConnection(searchServer({ existing: true, field }));
    const error = await initRedisStore(connection, OPTIONS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStoreStartupError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^the index sc:idx:mini:4 .*FT\.DROPINDEX sc:idx:mini:4/u);
    // The probe entry is gone whatever the outcome.
    expect(connection.names().at(-1)).toBe("DEL");
    expect(connection.closed).toBe(true);
  });

  it("refuses an existing index that FT.INFO shows to be different", async () => {
    const connection = new CannedConnection((args) =>
      args[0] === "FT.INFO" ? infoReply({ vector: REDIS8_VECTOR, prefix: "other:" }) : searchServer({ existing: true })(args, []),
    );
    await expect(initRedisStore(connection, OPTIONS)).rejects.toThrow(/key prefixes are \["other:"\]/u);
  });

  it("verifies the index another instance created first", async () => {
    const base = searchServer({ vector: REDIS8_VECTOR });
    const connection = new CannedConnection((args, raw) => {
      if (args[0] === "FT.CREATE") throw new ErrorReply("Index already exists");
      return base(args, raw);
    });
    await initRedisStore(connection, OPTIONS);
    expect(connection.names()).toEqual(["PING", "FT._LIST", "FT.CREATE", "FT.INFO"]);
  });

  it("explains a refused FT.CREATE", async () => {
    const base = searchServer();
    const connection = new CannedConnection((args, raw) => {
      if (args[0] === "FT.CREATE") throw new ErrorReply("Unknown argument `FILTER`");
      return base(args, raw);
    });
    await expect(initRedisStore(connection, OPTIONS)).rejects.toThrow(/FT\.CREATE sc:idx:mini:4 failed .*Unknown argument .*RediSearch 2\.6 or later/u);
    expect(connection.closed).toBe(true);
  });

  it("warns about, and reports, HNSW settings that differ from the configured ones", async () => {
    const { logger, records } = recordingLogger();
    const vector = REDIS8_VECTOR.map((v, i, all) => (all[i - 1] === "M" ? 32 : v));
    const connection = new CannedConnection(searchServer({ existing: true, vector }));
    const store = await initRedisStore(connection, { ...OPTIONS, logger });
    expect(store.indexParams).toEqual({ m: 32, efConstruction: 200, efSearch: 64 });
    const warnings = records.filter((r) => r.level === 40).map((r) => r.msg);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/HNSW M is 32, not the configured 16/u);
  });
});

describe("Redis store queries (canned replies)", () => {
  const NOW = 10_000;

  it("searches within the scope, turning distances into similarities and dropping expired entries", async () => {
    const connection = new CannedConnection(
      searchServer({
        existing: true,
        search: () => [
          5,
          ...doc("near", { ...entryFields("near"), dist: "0.02" }),
          ...doc("expired", { ...entryFields("expired", { expires: String(NOW) }), dist: "0.01" }),
          ...doc("other-scope", { ...entryFields("other-scope", { scope: "different" }), dist: "0.03" }),
          "sc:entry:vanished", null,
          ...doc("far", { ...entryFields("far", { expires: String(NOW + 1) }), dist: "1.5" }),
          ...doc("farther", { ...entryFields("farther"), dist: "1.7" }),
        ],
      }),
    );
    const store = await initRedisStore(connection, OPTIONS);
    const query = new Float32Array([1, 0, 0, 0]);
    const found = await store.search(SCOPE, query, 2, NOW);

    // A scope's size is counted once (then remembered), and a small scope is searched exactly.
    expect(connection.sent.at(-2)).toEqual(["FT.SEARCH", INDEX, "@ns:{org\\/team} @scope:{5c0fe}", "LIMIT", "0", "0", "DIALECT", "2"]);
    const sent = connection.sent.at(-1)!;
    expect(sent).toEqual([
      "FT.SEARCH", INDEX, "(@ns:{org\\/team} @scope:{5c0fe})=>[KNN 4 @vec $v HYBRID_POLICY ADHOC_BF AS dist]",
      "PARAMS", "2", "v", encodeFloat32(query),
      "SORTBY", "dist", "ASC",
      "RETURN", "12", ...READ_FIELDS, "dist",
      "LIMIT", "0", "4",
      "DIALECT", "2",
    ]);
    expect(found.map((n) => n.entry.id)).toEqual(["near", "far"]);
    expect(found[0]!.similarity).toBeCloseTo(0.98, 10);
    expect(found[1]!.similarity).toBeCloseTo(-0.5, 10);
    expect(found[0]!.entry).toEqual({
      id: "near",
      scope: SCOPE,
      prompt: "prompt near",
      response: "response near",
      createdAtMs: 1000,
      expiresAtMs: 0,
      hits: 2,
      observations: [],
      metadata: { k: "v" },
    });
    await expect(store.search(SCOPE, new Float32Array(3), 2, NOW)).rejects.toThrow(RangeError);
    expect(await store.search(SCOPE, query, 0, NOW)).toEqual([]);
    const searches = connection.names().filter((name) => name === "FT.SEARCH").length;
    await store.search(SCOPE, query, 2, NOW);
    expect(connection.names().filter((name) => name === "FT.SEARCH").length).toBe(searches + 1);
  });

  it("searches a scope above the exact limit through HNSW with a widened candidate set, returning the nearest", async () => {
    const connection = new CannedConnection(
      searchServer({
        existing: true,
        search: (args) =>
          args.includes("dist")
            ? [128, ...doc("b", { ...entryFields("b"), dist: "0.3" }), ...doc("a", { ...entryFields("a"), dist: "0.1" })]
            : [5000],
      }),
    );
    const store = await initRedisStore(connection, OPTIONS);
    const query = new Float32Array([1, 0, 0, 0]);
    const found = await store.search(SCOPE, query, 1, NOW);
    expect(connection.sent.at(-1)).toEqual([
      "FT.SEARCH", INDEX, "(@ns:{org\\/team} @scope:{5c0fe})=>[KNN 128 @vec $v AS dist]",
      "PARAMS", "2", "v", encodeFloat32(query),
      "SORTBY", "dist", "ASC",
      "RETURN", "12", ...READ_FIELDS, "dist",
      "LIMIT", "0", "3",
      "DIALECT", "2",
    ]);
    expect(found.map((n) => [n.entry.id, n.similarity])).toEqual([["a", 0.9]]);
  });

  it("lists recent entries newest first, skipping expired ones", async () => {
    const connection = new CannedConnection(
      searchServer({
        existing: true,
        search: () => [
          3,
          ...doc("c", entryFields("c", { created: "3000" })),
          ...doc("b", entryFields("b", { created: "2000", expires: "5000" })),
          ...doc("a", entryFields("a", { created: "1000" })),
        ],
      }),
    );
    const store = await initRedisStore(connection, OPTIONS);
    expect((await store.listRecent("org/team", 5, NOW)).map((e) => e.id)).toEqual(["c", "a"]);
    expect(connection.sent.at(-1)!.slice(0, 6)).toEqual(["FT.SEARCH", INDEX, "@ns:{org\\/team}", "SORTBY", "created", "DESC"]);
    expect((await store.listRecent("org/team", 1, NOW)).map((e) => e.id)).toEqual(["c"]);
  });

  it("counts a namespace with a zero-row search and everything with FT.INFO num_docs", async () => {
    const connection = new CannedConnection((args, raw) => {
      if (args[0] === "FT.SEARCH" && args[3] === "LIMIT") return [17];
      if (args[0] === "FT.INFO") return infoReply({ vector: REDIS8_VECTOR, numDocs: "42" });
      return searchServer({ existing: true, vector: REDIS8_VECTOR })(args, raw);
    });
    const store = await initRedisStore(connection, OPTIONS);
    expect(await store.count("a b")).toBe(17);
    expect(connection.sent.at(-1)).toEqual(["FT.SEARCH", INDEX, "@ns:{a\\ b}", "LIMIT", "0", "0", "DIALECT", "2"]);
    expect(await store.count()).toBe(42);
  });
});

describe("Redis store whose index goes missing while it runs (canned replies)", () => {
  const NOW = 10_000;
  const query = new Float32Array([1, 0, 0, 0]);

  /** A Redis 8-shaped server whose index can be dropped, and whose FT.CREATE can be made to fail. */
  function droppableServer(): { respond: Responder; drop(): void; refuseCreate: (reply: string | undefined) => void } {
    let exists = true;
    let refusal: string | undefined;
    const base = searchServer({ existing: true, vector: REDIS8_VECTOR, search: () => [0] });
    return {
      drop: () => {
        exists = false;
      },
      refuseCreate: (reply) => {
        refusal = reply;
      },
      respond: (args, raw) => {
        if (args[0] === "FT.CREATE") {
          if (refusal !== undefined) throw new ErrorReply(refusal);
          exists = true;
          return "OK";
        }
        if (!exists && args[0] === "FT.SEARCH") throw new ErrorReply(`${INDEX}: no such index`);
        if (!exists && args[0] === "FT.INFO") throw new ErrorReply("Unknown Index name");
        return base(args, raw);
      },
    };
  }

  it.each([
    ["search", (store: RedisStore) => store.search({ ...SCOPE, scopeKey: "other" }, query, 2, NOW)],
    ["listRecent", (store: RedisStore) => store.listRecent("org/team", 5, NOW)],
    ["count of a namespace", (store: RedisStore) => store.count("org/team")],
    ["count of all", (store: RedisStore) => store.count()],
  ] as const)("fails %s UNAVAILABLE (never a bare server error) and re-creates the index at once", async (_label, call) => {
    const server = droppableServer();
    const { logger, records } = recordingLogger();
    const connection = new CannedConnection(server.respond);
    const store = await initRedisStore(connection, { ...OPTIONS, logger });
    expect(await store.search(SCOPE, query, 2, NOW)).toEqual([]);
    server.drop();
    const error = await call(store).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(IndexMissingError);
    expect((error as IndexMissingError).code).toBe("unavailable");
    expect((error as Error).message).toMatch(/^cache store unavailable: the search index is missing on Redis at redis:\/\/canned:6379/u);
    // ping waits for the repair the failure started.
    await expect(store.ping()).resolves.toBeUndefined();
    expect(connection.names().filter((n) => n === "FT.CREATE")).toEqual(["FT.CREATE"]);
    expect(connection.sent.find((args) => args[0] === "FT.CREATE")).toEqual(
      buildCreateIndexArgs({ name: INDEX, prefix: "sc:entry:", embedding: "mini:4", dimension: DIM, params: OPTIONS.index }),
    );
    await expect(call(store)).resolves.toBeDefined();
    expect(records.some((r) => r.level === 40 && /index sc:idx:mini:4 was missing .*re-created it/u.test(r.msg))).toBe(true);
  });

  it("counts FT.CREATE's 'Index already exists' as repaired: another replica won the race", async () => {
    const server = droppableServer();
    const { logger, records } = recordingLogger();
    const connection = new CannedConnection(server.respond);
    const store = await initRedisStore(connection, { ...OPTIONS, logger });
    server.drop();
    server.refuseCreate("Index already exists");
    await expect(store.count("ns")).rejects.toBeInstanceOf(IndexMissingError);
    // The other replica's index is there now.
    server.refuseCreate(undefined);
    await store.ping();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(records.some((r) => /another instance has re-created it/u.test(r.msg))).toBe(true);
  });

  it("reports the index missing through ping while it cannot be re-created, and logs why", async () => {
    const server = droppableServer();
    const { logger, records } = recordingLogger();
    const connection = new CannedConnection(server.respond);
    const store = await initRedisStore(connection, { ...OPTIONS, logger });
    server.drop();
    server.refuseCreate("OOM command not allowed when used memory > 'maxmemory'");
    await expect(store.search(SCOPE, query, 1, NOW)).rejects.toBeInstanceOf(IndexMissingError);
    await expect(store.ping()).rejects.toBeInstanceOf(IndexMissingError);
    await expect.poll(() => records.some((r) => r.level === 50 && /could not re-create the missing index/u.test(r.msg))).toBe(true);
    server.refuseCreate(undefined);
    // At most one attempt a second: the next ping after that repairs it.
    await expect.poll(() => store.ping().then(() => true, () => false), { timeout: 3_000, interval: 200 }).toBe(true);
  });

  it("checks for the index when the connection comes back, re-creating it before any search", async () => {
    const server = droppableServer();
    const connection = new CannedConnection(server.respond);
    await initRedisStore(connection, { ...OPTIONS, logger: recordingLogger().logger });
    server.drop();
    const before = connection.sent.length;
    connection.reconnect();
    await expect.poll(() => connection.names().slice(before)).toEqual(["FT.INFO", "FT.CREATE"]);
  });
});
