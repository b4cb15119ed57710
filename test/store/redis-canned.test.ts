/**
 * The Redis store's FT.* paths against canned RediSearch replies, shaped as
 * RediSearch 2.6 and Redis 8 send them over RESP2: what the store sends at
 * startup and for each operation, and what it makes of the answers. No
 * server needed; the real thing is covered by redis-contract.test.ts.
 */
import { ErrorReply, type RedisArgument } from "redis";
import { describe, expect, it } from "vitest";
import type { EntryScope } from "../../src/store/cache-store.js";
import type { StoreConnection } from "../../src/store/redis/connection.js";
import { READ_FIELDS, float32ToBuffer } from "../../src/store/redis/entry-codec.js";
import { buildCreateIndexArgs } from "../../src/store/redis/index-schema.js";
import { NO_QUERY_ENGINE_MESSAGE, RedisStoreStartupError, initRedisStore } from "../../src/store/redis/redis-store.js";
import type { LuaScript } from "../../src/store/redis/scripts.js";

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
  constructor(private readonly respond: Responder) {}
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

/** A server with the query engine; `existing` says whether the index is already there. */
function searchServer(opts: { existing?: boolean; vector?: unknown[]; probe?: () => unknown; search?: Responder } = {}): Responder {
  let exists = opts.existing ?? false;
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
      case "FT.SEARCH":
        if (args[2]?.startsWith("*=>")) return opts.probe ? opts.probe() : [0];
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

  it("opens without search when the check is bypassed (tests only)", async () => {
    const connection = new CannedConnection((args) => {
      if (args[0] === "PING") return "PONG";
      throw new ErrorReply("ERR unknown command 'FT._LIST'");
    });
    const store = await initRedisStore(connection, { ...OPTIONS, requireQueryEngine: false });
    expect(store.searchEnabled).toBe(false);
    expect(connection.names()).toEqual(["PING", "FT._LIST"]);
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
    expect(store.searchEnabled).toBe(true);
    expect(connection.names()).toEqual(["PING", "FT._LIST", "FT.CREATE", "FT.INFO"]);
    expect(connection.sent[2]).toEqual(
      buildCreateIndexArgs({ name: INDEX, prefix: "sc:entry:", embedding: "mini:4", dimension: DIM, params: OPTIONS.index }),
    );
  });

  it("reuses an existing index after checking it (2.6: dimension checked by a probe query)", async () => {
    const connection = new CannedConnection(searchServer({ existing: true }));
    const store = await initRedisStore(connection, OPTIONS);
    expect(store.indexParams).toEqual(OPTIONS.index);
    expect(connection.names()).toEqual(["PING", "FT._LIST", "FT.INFO", "FT.SEARCH"]);
    const probe = connection.sent[3]!;
    expect(probe.slice(0, 6)).toEqual(["FT.SEARCH", INDEX, "*=>[KNN 1 @vec $v AS dist]", "PARAMS", "2", "v"]);
    expect((probe[6] as Buffer).byteLength).toBe(DIM * 4);
  });

  it("refuses an existing index whose dimension the probe shows to be different", async () => {
    const connection = new CannedConnection(
      searchServer({
        existing: true,
        probe: () => {
          throw new ErrorReply("Error parsing vector similarity query: query vector blob size (16) does not match index's expected size (32).");
        },
      }),
    );
    const error = await initRedisStore(connection, OPTIONS).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStoreStartupError);
    expect((error as Error).message).toMatch(/sc:idx:mini:4 .*rejects 4-dimensional query vectors.*FT\.DROPINDEX sc:idx:mini:4/u);
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
    const warnings: string[] = [];
    const vector = REDIS8_VECTOR.map((v, i, all) => (all[i - 1] === "M" ? 32 : v));
    const connection = new CannedConnection(searchServer({ existing: true, vector }));
    const store = await initRedisStore(connection, { ...OPTIONS, onWarning: (m) => warnings.push(m) });
    expect(store.indexParams).toEqual({ m: 32, efConstruction: 200, efSearch: 64 });
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

    const sent = connection.sent.at(-1)!;
    expect(sent).toEqual([
      "FT.SEARCH", INDEX, "(@ns:{org\\/team} @scope:{5c0fe})=>[KNN 4 @vec $v AS dist]",
      "PARAMS", "2", "v", float32ToBuffer(query),
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
