/**
 * Recall@1 of the store's search against brute force, in one scope of 1k,
 * 10k and 100k entries: does a semantic lookup get the true best entry?
 *
 * `npm run bench:recall [-- --sizes 1000,10000,100000] [--queries 300] [--redis-url URL] [--out DIR]`
 * runs it alone and writes bench/results/recall-<date>.json / .md and
 * recall-latest.md; `npm run bench` runs it as its last section.
 *
 * Data, like bench/lib/preload.ts makes entries: clusters of near
 * neighbours. Entry i is base vector i mod B (random unit vectors, B = one
 * per 100 entries) plus Gaussian noise, at a cosine drawn uniformly in
 * [0.75, 0.97] from its base; each query is a stored entry's vector
 * perturbed again (cosine in [0.85, 0.97]), so its true best is one of many
 * close neighbours in its cluster, not an isolated point. The store is asked
 * for the core's k (4) and its first result is compared with the exact
 * arg-max of cosine similarity over every entry (ties within 1e-6 count as
 * found). Search latency is the store call alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { entryId, resolveScope } from "../src/cache/scope.js";
import type { CacheStore, IndexParams, NewEntry } from "../src/store/cache-store.js";
import { DEFAULT_INDEX_PARAMS, openEmbeddedStore } from "../src/store/embedded/index.js";
import { openRedisStore } from "../src/store/redis/index.js";
import { gaussian, rng } from "./lib/prompts.js";
import { round, summarize } from "./lib/stats.js";
import { parseCommandLine, UsageError, wholeNumber, wholeNumbers } from "../tools/lib/command-line.js";
import { resultStamp, writeResultFiles } from "./lib/result-files.js";

/** Vector length (all-MiniLM-L6-v2's). */
const DIMENSION = 384;
/** What the cache core asks the store for. */
const SEARCH_K = 4;
const PUT_BATCH = 2000;

/** Recall at one scope size. */
export interface RecallResult {
  readonly entries: number;
  readonly queries: number;
  /** Share of queries whose first result is the exact best entry. */
  readonly recallAt1: number;
  /** Queries whose first result was not the exact best, and by how much similarity it fell short at worst. */
  readonly misses: number;
  readonly worstShortfall: number;
  readonly searchP50Ms: number;
  readonly searchP99Ms: number;
  readonly loadSeconds: number;
}

/** Where to measure: a fresh, empty store per size. */
export interface RecallTarget {
  /** "embedded" or "redis". */
  readonly kind: string;
  open(): Promise<{ store: CacheStore; cleanup: () => Promise<void> }>;
}

/** The embedded store in a temporary directory, or Redis under a fresh key prefix. */
export function recallTarget(options: { redisUrl?: string; index?: IndexParams }): RecallTarget {
  const index = options.index ?? DEFAULT_INDEX_PARAMS;
  const modelId = "bench/recall-random-384";
  if (options.redisUrl !== undefined) {
    const url = options.redisUrl;
    return {
      kind: "redis",
      async open() {
        const keyPrefix = `semcache-recall-${Date.now().toString(36)}:`;
        const store = await openRedisStore({ url, keyPrefix, modelId, dimension: DIMENSION, index, commandTimeoutMs: 30_000 });
        return {
          store,
          cleanup: async () => {
            await store.flushAll();
            await store.close();
          },
        };
      },
    };
  }
  return {
    kind: "embedded",
    async open() {
      const dataDir = mkdtempSync(join(tmpdir(), "semcache-recall-"));
      const store = await openEmbeddedStore({ dataDir, modelId, dimension: DIMENSION, index, purgeIntervalMs: 0, snapshots: false });
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

function randomUnit(random: () => number): Float32Array {
  const v = new Float32Array(DIMENSION);
  let norm = 0;
  for (let i = 0; i < DIMENSION; i++) {
    const x = gaussian(random);
    v[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIMENSION; i++) v[i] = v[i]! / norm;
  return v;
}

/** A unit vector at cosine ≈ `cosine` from the unit vector `base` (as bench/lib/preload.ts perturbs). */
function perturb(base: Float32Array, cosine: number, random: () => number): Float32Array {
  const sigma = Math.sqrt((1 / (cosine * cosine) - 1) / DIMENSION);
  const out = new Float32Array(DIMENSION);
  let norm = 0;
  for (let i = 0; i < DIMENSION; i++) {
    const x = base[i]! + sigma * gaussian(random);
    out[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIMENSION; i++) out[i] = out[i]! / norm;
  return out;
}

/** The exact best entry for `query` over the flat `vectors` (n × DIMENSION): its index and cosine. */
function bruteForceBest(vectors: Float32Array, n: number, query: Float32Array): { index: number; similarity: number } {
  let best = -1;
  let bestSimilarity = -Infinity;
  for (let j = 0; j < n; j++) {
    const offset = j * DIMENSION;
    let dot = 0;
    for (let i = 0; i < DIMENSION; i++) dot += vectors[offset + i]! * query[i]!;
    if (dot > bestSimilarity) {
      bestSimilarity = dot;
      best = j;
    }
  }
  return { index: best, similarity: bestSimilarity };
}

/** Measures recall@1 at each size, each in a fresh store. */
export async function measureRecall(
  target: RecallTarget,
  sizes: readonly number[],
  queries: number,
  log: (line: string) => void = () => undefined,
  seed = 7,
): Promise<RecallResult[]> {
  const results: RecallResult[] = [];
  for (const n of sizes) {
    const random = rng(seed + n);
    const scope = resolveScope({ namespace: "bench-recall" });
    const bases = Array.from({ length: Math.max(10, Math.round(n / 100)) }, () => randomUnit(random));
    const vectors = new Float32Array(n * DIMENSION);
    const ids: string[] = [];
    const { store, cleanup } = await target.open();
    try {
      const loadStarted = performance.now();
      const now = Date.now();
      for (let from = 0; from < n; from += PUT_BATCH) {
        const batch: NewEntry[] = [];
        for (let i = from; i < Math.min(n, from + PUT_BATCH); i++) {
          const vector = perturb(bases[i % bases.length]!, 0.75 + 0.22 * random(), random);
          vectors.set(vector, i * DIMENSION);
          const prompt = `recall entry ${i}`;
          const id = entryId(scope.scopeKey, prompt);
          ids.push(id);
          batch.push({ id, scope, prompt, response: `answer ${i}`, createdAtMs: now, expiresAtMs: 0, metadata: {}, vector });
        }
        await store.put(batch);
      }
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      let found = 0;
      let worstShortfall = 0;
      const times: number[] = [];
      for (let q = 0; q < queries; q++) {
        const source = Math.floor(random() * n);
        const query = perturb(vectors.subarray(source * DIMENSION, (source + 1) * DIMENSION), 0.85 + 0.12 * random(), random);
        const truth = bruteForceBest(vectors, n, query);
        const started = performance.now();
        const top = (await store.search(scope, query, SEARCH_K, Date.now()))[0];
        times.push(performance.now() - started);
        const shortfall = top === undefined ? truth.similarity + 1 : truth.similarity - top.similarity;
        if (top?.entry.id === ids[truth.index] || shortfall <= 1e-6) found++;
        else worstShortfall = Math.max(worstShortfall, shortfall);
      }
      const latency = summarize(times);
      const result: RecallResult = {
        entries: n,
        queries,
        recallAt1: round(found / queries, 4),
        misses: queries - found,
        worstShortfall: round(worstShortfall, 4),
        searchP50Ms: latency.p50Ms,
        searchP99Ms: latency.p99Ms,
        loadSeconds: round(loadSeconds, 1),
      };
      results.push(result);
      log(`recall@1 at ${n} entries in one scope: ${result.recallAt1} (${result.misses} of ${queries} missed; search p50 ${result.searchP50Ms} ms)`);
    } finally {
      await cleanup();
    }
  }
  return results;
}

/** The results as a Markdown section. */
export function recallMarkdown(kind: string, results: readonly RecallResult[]): string {
  const lines = [
    "",
    `## Recall (${kind} store): the true best entry of a scope, against brute force`,
    "",
    "| Entries in one scope | Queries | Recall@1 | Missed (worst similarity shortfall) | Store search p50 / p99 | Load |",
    "|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.entries.toLocaleString("en-US")} | ${r.queries} | **${r.recallAt1.toFixed(4)}** | ${r.misses}${r.misses > 0 ? ` (${r.worstShortfall})` : ""} | ` +
        `${r.searchP50Ms} / ${r.searchP99Ms} ms | ${r.loadSeconds} s |`,
    ),
    "",
  ];
  return `${lines.join("\n")}\n`;
}

async function main(argv: readonly string[]): Promise<void> {
  const values = parseCommandLine(argv, {
    sizes: { type: "string" },
    queries: { type: "string" },
    "redis-url": { type: "string" },
    out: { type: "string" },
  });
  const sizes = wholeNumbers("sizes", values.sizes, 1, 1_000_000, [1000, 10_000, 100_000]);
  const queries = wholeNumber("queries", values.queries, 1, 300);
  const redisUrl = values["redis-url"];
  const out = resolve(values.out ?? "bench/results");
  const target = recallTarget(redisUrl === undefined ? {} : { redisUrl });
  const results = await measureRecall(target, sizes, queries, (line) => process.stderr.write(`${line}\n`));
  const stamp = resultStamp(new Date());
  const markdown = `# semcache recall, ${stamp}${recallMarkdown(target.kind, results)}`;
  writeResultFiles(out, `recall-${stamp}`, { createdAt: stamp, store: target.kind, index: DEFAULT_INDEX_PARAMS, results }, markdown, "recall-latest.md");
  process.stdout.write(markdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench:recall: ${error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
