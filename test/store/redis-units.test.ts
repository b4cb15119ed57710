/**
 * The Redis store's pure parts, no Redis needed: TAG escaping, naming,
 * FT.CREATE / FT.SEARCH argument lists, FT.INFO parsing and comparison,
 * search reply parsing, and the entry codec.
 */
import { ScopeSizes } from "../../src/store/redis/scope-sizes.js";
import { hnswCandidates } from "../../src/store/recall.js";
import { describe, expect, it } from "vitest";
import type { NewEntry } from "../../src/store/cache-store.js";
import { READ_FIELDS, decodeEntry, encodeEntry } from "../../src/store/redis/entry-codec.js";
import { encodeFloat32 } from "../../src/store/vectors.js";
import { compareIndex, parseIndexInfo, parseVecsimInfo, withVectorDetails } from "../../src/store/redis/index-info.js";
import { buildCreateIndexArgs, filterExpression, type IndexDefinition } from "../../src/store/redis/index-schema.js";
import {
  embeddingTag,
  entryKey,
  escapeGlob,
  idFromEntryKey,
  indexName,
  modelSlug,
  redactRedisUrl,
} from "../../src/store/redis/naming.js";
import { ErrorReply } from "redis";
import { StoreUnavailableError } from "../../src/store/cache-store.js";
import { IndexMissingError, reconnectDelayMs, toStoreError } from "../../src/store/redis/connection.js";
import {
  buildKnnSearchArgs,
  buildNamespaceCountArgs,
  buildRecentArgs,
  overfetch,
} from "../../src/store/redis/search-query.js";
import { parseSearchReply } from "../../src/store/redis/search-reply.js";
import { escapeTagValue, tagClause } from "../../src/store/redis/tag-escape.js";

const DEF: IndexDefinition = {
  name: "semcache:idx:all-minilm-l6-v2:384",
  prefix: "semcache:entry:",
  embedding: "all-minilm-l6-v2:384",
  dimension: 384,
  params: { m: 16, efConstruction: 200, efSearch: 64 },
};

describe("TAG escaping", () => {
  it.each([
    ["gpt-4o-mini", "gpt\\-4o\\-mini"],
    ["llama3.1:8b", "llama3\\.1\\:8b"],
    ["org/team", "org\\/team"],
    ["a b", "a\\ b"],
    ["naïve-日本", "naïve\\-日本"],
    ["user@example.com", "user\\@example\\.com"],
    ["snake_case_stays", "snake_case_stays"],
    ["0123abcdef", "0123abcdef"],
  ])("escapes %j as %j", (value, escaped) => {
    expect(escapeTagValue(value)).toBe(escaped);
  });

  it("escapes every ASCII punctuation character and space, and nothing else", () => {
    const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~ \t";
    expect(escapeTagValue(punctuation)).toBe([...punctuation].map((c) => `\\${c}`).join(""));
    // Non-ASCII letters and white space are not separators to the lexer: a
    // backslash before them would not be an escape.
    expect(escapeTagValue("é\u00a0日")).toBe("é\u00a0日");
  });

  it("rejects values no query can match", () => {
    expect(() => escapeTagValue("")).toThrow(RangeError);
    expect(() => escapeTagValue("a\u0000b")).toThrow(RangeError);
    expect(() => escapeTagValue("a\u001bb")).toThrow(RangeError);
  });

  it("builds the clause", () => {
    expect(tagClause("ns", "org/team")).toBe("@ns:{org\\/team}");
  });
});

describe("naming", () => {
  it("keeps a clean model id and marks a changed one with a hash of the original", () => {
    expect(modelSlug("all-minilm-l6-v2")).toBe("all-minilm-l6-v2");
    expect(modelSlug("Xenova/all-MiniLM-L6-v2")).toMatch(/^xenova-all-minilm-l6-v2-[0-9a-f]{8}$/u);
    expect(modelSlug("xenova/all-minilm-l6-v2")).not.toBe(modelSlug("Xenova/all-MiniLM-L6-v2"));
    expect(modelSlug("日本語")).toMatch(/^[0-9a-f]{8}$/u);
    expect(modelSlug("x".repeat(200)).length).toBeLessThanOrEqual(64 + 9);
    expect(() => modelSlug("")).toThrow(RangeError);
  });

  it("names one index per model and dimension", () => {
    expect(indexName("semcache:", "all-minilm-l6-v2", 384)).toBe("semcache:idx:all-minilm-l6-v2:384");
    expect(indexName("semcache:", "all-minilm-l6-v2", 768)).not.toBe(indexName("semcache:", "all-minilm-l6-v2", 384));
    expect(indexName("semcache:", "bge-small", 384)).not.toBe(indexName("semcache:", "all-minilm-l6-v2", 384));
    expect(embeddingTag("all-minilm-l6-v2", 384)).toBe("all-minilm-l6-v2:384");
  });

  it("lays out entry keys and reads ids back", () => {
    expect(entryKey("semcache:", "ab12")).toBe("semcache:entry:ab12");
    expect(idFromEntryKey("semcache:", "semcache:entry:ab12")).toBe("ab12");
    expect(idFromEntryKey("semcache:", "other:entry:ab12")).toBeUndefined();
    expect(idFromEntryKey("semcache:", "semcache:entry:")).toBeUndefined();
  });

  it("escapes SCAN globs and drops passwords from URLs", () => {
    expect(escapeGlob("a*b?[c]\\:")).toBe("a\\*b\\?\\[c\\]\\\\:");
    expect(redactRedisUrl("redis://user:hunter2@redis:6379/2")).toBe("redis://user@redis:6379/2");
    expect(redactRedisUrl("redis://:hunter2@redis:6379")).toBe("redis://redis:6379");
    expect(redactRedisUrl("not a url")).not.toContain("not a url");
  });

  it("backs off exponentially up to the cap", () => {
    expect(reconnectDelayMs(0, 2000)).toBeGreaterThanOrEqual(50);
    expect(reconnectDelayMs(0, 2000)).toBeLessThan(100);
    expect(reconnectDelayMs(3, 2000)).toBeGreaterThanOrEqual(400);
    expect(reconnectDelayMs(50, 2000)).toBeGreaterThanOrEqual(2000);
    expect(reconnectDelayMs(50, 2000)).toBeLessThanOrEqual(2100);
  });
});

describe("what a failed command means for callers (toStoreError)", () => {
  const URL = "redis://redis:6379";

  it.each([
    ["2.6's FT.SEARCH", "semcache:idx:m:384: no such index"],
    ["FT.INFO", "Unknown Index name"],
    ["2.8+", "Unknown index name"],
  ])("turns a missing index (%s) into UNAVAILABLE, never a bare server error", (_label, reply) => {
    const error = toStoreError(new ErrorReply(reply), URL, "FT.SEARCH");
    expect(error).toBeInstanceOf(IndexMissingError);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe("unavailable");
    expect(error.message).toBe(`cache store unavailable: the search index is missing on Redis at ${URL} (FT.SEARCH: ${reply}); it is being re-created`);
    expect((error as Error & { cause?: unknown }).cause).toBeInstanceOf(ErrorReply);
  });

  it("turns replies that mean 'not now' and connection failures into UNAVAILABLE, and leaves bad commands as they are", () => {
    const loading = toStoreError(new ErrorReply("LOADING Redis is loading the dataset in memory"), URL, "HMGET");
    expect(loading).toBeInstanceOf(StoreUnavailableError);
    expect(loading).not.toBeInstanceOf(IndexMissingError);
    expect(loading.message).toContain("refused HMGET: LOADING");
    expect(toStoreError(new Error("Socket closed unexpectedly"), URL, "PING").message).toBe(
      `cache store unavailable: Redis at ${URL} is unavailable (PING): Socket closed unexpectedly`,
    );
    const syntax = new ErrorReply("Syntax error at offset 3 near foo");
    expect(toStoreError(syntax, URL, "FT.SEARCH")).toBe(syntax);
    const already = new StoreUnavailableError("x");
    expect(toStoreError(already, URL, "GET")).toBe(already);
  });
});

describe("FT.CREATE", () => {
  it("builds exactly the documented token list", () => {
    expect(buildCreateIndexArgs(DEF)).toEqual([
      "FT.CREATE", "semcache:idx:all-minilm-l6-v2:384",
      "ON", "HASH",
      "PREFIX", "1", "semcache:entry:",
      "FILTER", '@emb=="all-minilm-l6-v2:384"',
      "SCHEMA",
      "ns", "TAG", "CASESENSITIVE",
      "scope", "TAG", "CASESENSITIVE",
      "model", "TAG", "CASESENSITIVE",
      "created", "NUMERIC", "SORTABLE",
      "vec", "VECTOR", "HNSW", "12",
      "TYPE", "FLOAT32",
      "DIM", "384",
      "DISTANCE_METRIC", "COSINE",
      "M", "16",
      "EF_CONSTRUCTION", "200",
      "EF_RUNTIME", "64",
    ]);
  });

  it("counts the HNSW attribute tokens that follow the count", () => {
    const args = buildCreateIndexArgs(DEF);
    const at = args.indexOf("HNSW");
    expect(args.length - (at + 2)).toBe(Number(args[at + 1]));
  });

  it("rejects impossible parameters before Redis sees them", () => {
    expect(() => buildCreateIndexArgs({ ...DEF, dimension: 0 })).toThrow(RangeError);
    expect(() => buildCreateIndexArgs({ ...DEF, params: { ...DEF.params, m: 1.5 } })).toThrow(RangeError);
    expect(() => filterExpression('x" || 1 || "')).toThrow(RangeError);
  });
});

describe("FT.SEARCH arguments", () => {
  const blob = encodeFloat32(new Float32Array([1, 0, 0]));

  it("pre-filters the KNN search by namespace and scope, with the vector as a binary PARAM", () => {
    const args = buildKnnSearchArgs({ index: "i", namespace: "org/team", scopeKey: "9f3a", vector: blob, k: 6 });
    expect(args).toEqual([
      "FT.SEARCH", "i", "(@ns:{org\\/team} @scope:{9f3a})=>[KNN 6 @vec $v AS dist]",
      "PARAMS", "2", "v", blob,
      "SORTBY", "dist", "ASC",
      "RETURN", "12", ...READ_FIELDS, "dist",
      "LIMIT", "0", "6",
      "DIALECT", "2",
    ]);
    expect(Buffer.isBuffer(args[6])).toBe(true);
    expect(() => buildKnnSearchArgs({ index: "i", namespace: "n", scopeKey: "s", vector: blob, k: 0 })).toThrow(RangeError);
  });

  it("lists and counts", () => {
    expect(buildRecentArgs("i", "a b", 5)).toEqual([
      "FT.SEARCH", "i", "@ns:{a\\ b}", "SORTBY", "created", "DESC", "RETURN", "11", ...READ_FIELDS, "LIMIT", "0", "5", "DIALECT", "2",
    ]);
    expect(buildNamespaceCountArgs("i", "gpt-4o")).toEqual(["FT.SEARCH", "i", "@ns:{gpt\\-4o}", "LIMIT", "0", "0", "DIALECT", "2"]);
  });

  it("sets the HNSW beam of one query when asked (EF_RUNTIME, the 2.6 algorithm probe)", () => {
    const args = buildKnnSearchArgs({ index: "i", namespace: "n", scopeKey: "s", vector: blob, k: 1, efRuntime: 10 });
    expect(args[2]).toBe("(@ns:{n} @scope:{s})=>[KNN 1 @vec $v EF_RUNTIME 10 AS dist]");
    expect(() => buildKnnSearchArgs({ index: "i", namespace: "n", scopeKey: "s", vector: blob, k: 1, efRuntime: 0 })).toThrow(RangeError);
  });

  it("asks for a few more neighbours than wanted", () => {
    expect(overfetch(1)).toBe(3);
    expect(overfetch(4)).toBe(8);
    expect(overfetch(100)).toBe(116);
  });
});

/** FT.INFO as RediSearch 2.6 answers over RESP2 (no vector details). */
function info26(overrides: { prefixes?: string[]; filter?: string; attributes?: unknown[] } = {}): unknown[] {
  return [
    "index_name", DEF.name,
    "index_options", [],
    "index_definition", [
      "key_type", "HASH",
      "prefixes", overrides.prefixes ?? [DEF.prefix],
      "filter", overrides.filter ?? '@emb=="all-minilm-l6-v2:384"',
      "default_score", "1",
    ],
    "attributes", overrides.attributes ?? [
      ["identifier", "ns", "attribute", "ns", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
      ["identifier", "scope", "attribute", "scope", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
      ["identifier", "model", "attribute", "model", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
      ["identifier", "created", "attribute", "created", "type", "NUMERIC", "SORTABLE", "UNF"],
      ["identifier", "vec", "attribute", "vec", "type", "VECTOR"],
    ],
    "num_docs", "42",
    "max_doc_id", "50",
    "dialect_stats", ["dialect_1", 0, "dialect_2", 3],
  ];
}

/** FT.INFO as Redis 8 answers over RESP2 (vector details included). */
function info8(vector: Record<string, string | number> = {}): unknown[] {
  const v = { algorithm: "HNSW", data_type: "FLOAT32", dim: 384, distance_metric: "COSINE", M: 16, ef_construction: 200, ...vector };
  const base = info26();
  const attributes = base[7] as unknown[][];
  attributes[4] = ["identifier", "vec", "attribute", "vec", "type", "VECTOR", ...Object.entries(v).flat()];
  return base;
}

describe("FT.INFO", () => {
  it("parses the RESP2 shape", () => {
    const info = parseIndexInfo(info26());
    expect(info.keyType).toBe("HASH");
    expect(info.prefixes).toEqual([DEF.prefix]);
    expect(info.filter).toBe('@emb=="all-minilm-l6-v2:384"');
    expect(info.numDocs).toBe(42);
    expect(info.attributes.map((a) => [a.attribute, a.type])).toEqual([
      ["ns", "TAG"], ["scope", "TAG"], ["model", "TAG"], ["created", "NUMERIC"], ["vec", "VECTOR"],
    ]);
    expect([...info.attributes[0]!.flags]).toEqual(["CASESENSITIVE"]);
    expect(info.attributes[0]!.details.get("separator")).toBe(",");
    expect([...info.attributes[3]!.flags]).toEqual(["SORTABLE", "UNF"]);
  });

  it("reads unknown tokens as flags, so a new flag cannot hide a known one", () => {
    const reply = info26();
    const attrs = reply[7] as unknown[][];
    attrs[3] = ["identifier", "created", "attribute", "created", "type", "NUMERIC", "SOMEFUTUREFLAG", "SORTABLE"];
    const info = parseIndexInfo(reply);
    expect(info.attributes[3]!.flags.has("SORTABLE")).toBe(true);
    expect(compareIndex(info, DEF).problems).toEqual([]);
  });

  it("accepts the index it would create (2.6: vector not described, so checked by probe)", () => {
    const result = compareIndex(parseIndexInfo(info26()), DEF);
    expect(result.problems).toEqual([]);
    expect(result.vectorDetailsReported).toBe(false);
  });

  it("accepts the index it would create (Redis 8: vector described) and reports its HNSW settings", () => {
    const result = compareIndex(parseIndexInfo(info8({ M: 32 })), DEF);
    expect(result.problems).toEqual([]);
    expect(result.vectorDetailsReported).toBe(true);
    expect(result.actual).toEqual({ m: 32, efConstruction: 200 });
    expect(result.warnings).toEqual(["HNSW M is 32, not the configured 16"]);
    expect(compareIndex(parseIndexInfo(info8({ algorithm: "TIERED" })), DEF).problems).toEqual([]);
  });

  it("reads a 2.6 vector field's settings from FT.DEBUG VECSIM_INFO, and compares them as if FT.INFO had said", () => {
    const debug = ["ALGORITHM", "HNSW", "TYPE", "FLOAT32", "DIMENSION", 384, "METRIC", "COSINE", "IS_MULTI_VALUE", 0, "M", 32, "EF_CONSTRUCTION", 200, "EF_RUNTIME", 10];
    const details = parseVecsimInfo(debug);
    expect(Object.fromEntries(details)).toEqual({ algorithm: "HNSW", data_type: "FLOAT32", dim: "384", distance_metric: "COSINE", m: "32", ef_construction: "200" });
    const result = compareIndex(withVectorDetails(parseIndexInfo(info26()), "vec", details), DEF);
    expect(result).toMatchObject({ problems: [], vectorDetailsReported: true, actual: { m: 32, efConstruction: 200 } });
    const flat = parseVecsimInfo(["ALGORITHM", "FLAT", "TYPE", "FLOAT32", "DIMENSION", 768, "METRIC", "IP"]);
    expect(compareIndex(withVectorDetails(parseIndexInfo(info26()), "vec", flat), DEF).problems).toEqual([
      "the vector field uses FLAT, not HNSW",
      "the vector field has dimension 768, not 384",
      "the vector field uses IP distance, not COSINE",
    ]);
    expect(parseVecsimInfo("Vector index not found").size).toBe(0);
  });

  it.each([
    ["another prefix", info26({ prefixes: ["other:"] }), /key prefixes/u],
    ["two prefixes", info26({ prefixes: [DEF.prefix, "x:"] }), /key prefixes/u],
    ["another embedding filter", info26({ filter: '@emb=="bge-small:384"' }), /FILTER/u],
    ["no filter", info26({ filter: "" }), /FILTER/u],
    ["another dimension", info8({ dim: 768 }), /dimension 768, not 384/u],
    ["another metric", info8({ distance_metric: "L2" }), /L2 distance/u],
    ["another vector type", info8({ data_type: "FLOAT64" }), /FLOAT64/u],
    ["FLAT instead of HNSW", info8({ algorithm: "FLAT" }), /FLAT/u],
    ["a case-insensitive namespace TAG", info26({ attributes: [
      ["identifier", "ns", "attribute", "ns", "type", "TAG", "SEPARATOR", ","],
      ["identifier", "scope", "attribute", "scope", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
      ["identifier", "model", "attribute", "model", "type", "TAG", "SEPARATOR", ",", "CASESENSITIVE"],
      ["identifier", "created", "attribute", "created", "type", "NUMERIC", "SORTABLE"],
      ["identifier", "vec", "attribute", "vec", "type", "VECTOR"],
    ] }), /"ns" is not CASESENSITIVE/u],
  ])("refuses an index with %s", (_label, reply, pattern) => {
    const { problems } = compareIndex(parseIndexInfo(reply), DEF);
    expect(problems.join("; ")).toMatch(pattern);
  });

  it("refuses an index with another schema", () => {
    const attributes = [
      ["identifier", "ns", "attribute", "ns", "type", "TEXT", "WEIGHT", "1"],
      ["identifier", "scope", "attribute", "scope", "type", "TAG", "SEPARATOR", ","],
      ["identifier", "created", "attribute", "created", "type", "NUMERIC"],
      ["identifier", "vec", "attribute", "vec", "type", "VECTOR"],
      ["identifier", "extra", "attribute", "extra", "type", "TAG", "SEPARATOR", ";"],
    ];
    const { problems } = compareIndex(parseIndexInfo(info26({ attributes })), DEF);
    expect(problems).toEqual([
      'attribute "ns" is TEXT, not TAG',
      'attribute "ns" is not CASESENSITIVE',
      'attribute "scope" is not CASESENSITIVE',
      'it has no attribute "model"',
      'attribute "created" is not SORTABLE',
      'it has an unexpected attribute "extra"',
    ]);
  });

  it("also reads RESP3-style maps", () => {
    const reply = new Map<string, unknown>([
      ["index_definition", new Map<string, unknown>([["key_type", "HASH"], ["prefixes", [DEF.prefix]], ["filter", '@emb=="all-minilm-l6-v2:384"']])],
      ["attributes", [
        { identifier: "ns", attribute: "ns", type: "TAG", SEPARATOR: ",", flags: ["CASESENSITIVE"] },
        { identifier: "scope", attribute: "scope", type: "TAG", SEPARATOR: ",", flags: ["CASESENSITIVE"] },
        { identifier: "model", attribute: "model", type: "TAG", SEPARATOR: ",", flags: ["CASESENSITIVE"] },
        { identifier: "created", attribute: "created", type: "NUMERIC", flags: ["SORTABLE"] },
        { identifier: "vec", attribute: "vec", type: "VECTOR", algorithm: "HNSW", data_type: "FLOAT32", dim: 384, distance_metric: "COSINE" },
      ]],
      ["num_docs", 7],
    ]);
    const info = parseIndexInfo(reply);
    expect(info.numDocs).toBe(7);
    expect(compareIndex(info, DEF).problems).toEqual([]);
  });
});

describe("FT.SEARCH replies", () => {
  it("parses documents with fields", () => {
    const reply = [2, "semcache:entry:a", ["prompt", "p", "dist", "0.25"], "semcache:entry:b", ["prompt", "q", "dist", "0.5"]];
    const parsed = parseSearchReply(reply);
    expect(parsed.total).toBe(2);
    expect(parsed.documents.map((d) => d.key)).toEqual(["semcache:entry:a", "semcache:entry:b"]);
    expect(parsed.documents[1]!.fields.get("dist")).toBe("0.5");
  });

  it("parses counts, NOCONTENT replies and documents whose key vanished", () => {
    expect(parseSearchReply([17])).toEqual({ total: 17, documents: [] });
    expect(parseSearchReply([2, "k1", "k2"], { noContent: true }).documents.map((d) => d.key)).toEqual(["k1", "k2"]);
    const vanished = parseSearchReply([1, "k1", null]);
    expect(vanished.documents[0]!.fields.size).toBe(0);
    expect(parseSearchReply(["3", Buffer.from("k"), [Buffer.from("f"), Buffer.from("v")]]).documents[0]!.fields.get("f")).toBe("v");
  });

  it("rejects what is not a search reply", () => {
    expect(() => parseSearchReply("OK")).toThrow(TypeError);
    expect(() => parseSearchReply([])).toThrow(TypeError);
    expect(() => parseSearchReply(["x"])).toThrow(TypeError);
  });
});

describe("entry codec", () => {
  const entry: NewEntry = {
    id: "e1",
    scope: { namespace: "org/team", model: "llama3.1:8b", params: { temperature: "0.2" }, scopeKey: "abc" },
    prompt: "What is 2+2?",
    response: "4 — naïve 日本",
    createdAtMs: 1_700_000_000_123,
    expiresAtMs: 1_700_000_060_123,
    metadata: { completion_tokens: "3" },
    vector: new Float32Array([0.5, -1.25, 3]),
  };

  it("round-trips an entry through its hash fields", () => {
    const pairs = encodeEntry(entry, "m:3");
    const map = new Map<string, string>();
    for (let i = 0; i < pairs.length; i += 2) {
      const value = pairs[i + 1]!;
      map.set(String(pairs[i]), Buffer.isBuffer(value) ? "<blob>" : value);
    }
    expect(map.get("emb")).toBe("m:3");
    expect(map.get("hits")).toBe("0");
    const decoded = decodeEntry("e1", map);
    const { vector: _vector, ...rest } = entry;
    expect(decoded).toEqual({ ...rest, hits: 0, observations: [] });
    // The HMGET shape: values in READ_FIELDS order.
    expect(decodeEntry("e1", READ_FIELDS.map((f) => map.get(f) ?? null))).toEqual(decoded);
  });

  it("reads a missing or partial hash as no entry", () => {
    expect(decodeEntry("x", READ_FIELDS.map(() => null))).toBeUndefined();
    const onlyHits = READ_FIELDS.map((f) => (f === "hits" ? "3" : null));
    expect(decodeEntry("x", onlyHits)).toBeUndefined();
    const badJson = new Map([...READ_FIELDS.map((f) => [f, "1"] as [string, string])]);
    expect(decodeEntry("x", badJson)).toBeUndefined();
  });
});

describe("remembered scope sizes (the Redis store's choice of exact search)", () => {
  it("remembers a count for a while, counts puts into it, forgets the oldest beyond its bound and on clear", () => {
    const sizes = new ScopeSizes(1_000, 2);
    expect(sizes.get("a", 0)).toBeUndefined();
    sizes.set("a", 10, 0);
    sizes.added("a");
    sizes.added("unknown");
    expect(sizes.get("a", 999)).toBe(11);
    expect(sizes.get("a", 1_001)).toBeUndefined();
    expect(sizes.get("unknown", 0)).toBeUndefined();
    sizes.set("b", 1, 0);
    sizes.set("c", 1, 0);
    expect(sizes.get("a", 0)).toBeUndefined();
    expect(sizes.get("c", 0)).toBe(1);
    sizes.clear();
    expect(sizes.get("c", 0)).toBeUndefined();
  });

  it("asks HNSW for max(4k, 2·ef) candidates", () => {
    expect(hnswCandidates(1, 64)).toBe(128);
    expect(hnswCandidates(4, 64)).toBe(128);
    expect(hnswCandidates(100, 64)).toBe(400);
  });
});
