/**
 * `npm run bench [-- --quick] [--redis-url URL] [--threads N] [--sizes 1000,10000,100000] [--out DIR]`
 *
 * Starts `semcache serve` as a child process with the fixture model (the
 * shape and compute cost of all-MiniLM-L6-v2), drives it over loopback with
 * the generated client (gRPC transport), and writes
 * bench/results/<date>.json, bench/results/<date>.md and (full runs)
 * bench/results/latest.md. See bench/README.md for what is measured and how.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MatchKind, SemanticCacheService } from "../src/gen/semcache/v1/semantic_cache_pb.js";
import { DEFAULT_INDEX_PARAMS } from "../src/store/embedded/index.js";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { machineInfo, type MachineInfo } from "./lib/machine.js";
import { runOpenAiBench } from "./openai-endpoint.js";
import { measureExactHits, runExactHitBench, type ExactHitResults } from "./exact-hit.js";
import { startLoadGenerator, type ThroughputResult } from "./lib/load-generator.js";
import { measureThroughputVsRaw, runThroughputBench, type ThroughputVsRaw } from "./throughput.js";
import { measureCrashRecovery, runRecoveryBench, type RecoveryResult } from "./crash-recovery.js";
import { runMemoBench } from "./recent-embeddings.js";
import { BENCH_SCOPE, cleanRedis, embedBasePrompts, entryPrompt, preload, type PreloadTarget } from "./lib/preload.js";
import { latencyMisses, latencyRewordings, lookupQueries, MISS_PROMPTS, missPrompt, paraphrase, PromptCursor, spreadPrompts } from "./lib/prompts.js";
import { openRawModel } from "./lib/raw-onnx.js";
import { pool } from "./lib/pool.js";
import { markdownReport, sizeTable } from "./lib/report.js";
import { buildDist, REPO, startServer, type BenchServer, type ServerEntry } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";
import { measureRecall, recallMarkdown, recallTarget, type RecallResult } from "./recall.js";
import { parseCommandLine, UsageError, wholeNumber, wholeNumbers } from "../tools/lib/command-line.js";
import { resultStamp, writeResultFiles } from "./lib/result-files.js";

type CacheClient = Client<typeof SemanticCacheService>;

interface Plan {
  readonly quick: boolean;
  /** Distinct prompts embedded by the model for the store-size runs. */
  readonly basePrompts: number;
  /** Entries stored through the API before the latency and throughput runs. */
  readonly apiEntries: number;
  readonly latencySamples: number;
  readonly warmup: number;
  readonly concurrency: readonly number[];
  readonly throughputSeconds: number;
  /** Alternating blocks of raw onnxruntime and semcache (bench/throughput.ts), and seconds per block. */
  readonly vsRawBlocks: number;
  readonly vsRawSeconds: number;
  readonly sizes: readonly number[];
  readonly sizeSamples: number;
  /** Store sizes at which a kill -9 and restart are measured (embedded store only). */
  readonly recoverySizes: readonly number[];
}

interface Options {
  readonly plan: Plan;
  readonly threads: number;
  readonly redisUrl: string | undefined;
  readonly out: string;
  /** The compiled CLI (dist/, built first: what users run) or the source under tsx (`--source`). */
  readonly entry: ServerEntry;
  /** `--sizes-only`: only the store-size runs (step 3), e.g. at 1,000,000 entries, to `sizes-<time>.md/.json`. */
  readonly sizesOnly: boolean;
}

const FULL: Plan = {
  quick: false,
  basePrompts: 3000,
  apiEntries: 500,
  latencySamples: 500,
  warmup: 30,
  concurrency: [1, 8, 32, 64],
  throughputSeconds: 8,
  vsRawBlocks: 6,
  vsRawSeconds: 4,
  sizes: [1000, 10_000, 100_000],
  sizeSamples: 200,
  recoverySizes: [100_000],
};

const QUICK: Plan = {
  quick: true,
  basePrompts: 300,
  // Not fewer: lookupQueries of 250 stored prompts (4,500) is longer than the memo of recent embeddings keeps.
  apiEntries: 250,
  latencySamples: 60,
  warmup: 10,
  concurrency: [1, 8, 32, 64],
  throughputSeconds: 1.5,
  vsRawBlocks: 1,
  vsRawSeconds: 1,
  sizes: [1000, 5000],
  sizeSamples: 40,
  recoverySizes: [5000],
};

const USAGE =
  "npm run bench [-- --quick] [--redis-url URL] [--threads N] [--sizes 1000,10000,100000] [--sizes-only] [--source] [--out DIR]; " +
  "npm run bench -- --openai [--blocks N] [--per-block N] [--out DIR]; npm run bench -- --exact [...]; npm run bench -- --recovery [--entries 100000] [--source] [--out DIR]; npm run bench -- --memo [--blocks N] [--per-block N] [--out DIR]\n";

function parseArgs(argv: readonly string[]): Options {
  const values = parseCommandLine(argv, {
    quick: { type: "boolean" },
    source: { type: "boolean" },
    "redis-url": { type: "string" },
    threads: { type: "string" },
    out: { type: "string" },
    sizes: { type: "string" },
    "sizes-only": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const base = values.quick === true ? QUICK : FULL;
  return {
    plan: values.sizes === undefined ? base : { ...base, sizes: wholeNumbers("sizes", values.sizes, 1, 1_000_000, base.sizes) },
    threads: wholeNumber("threads", values.threads, 1, availableParallelism()),
    redisUrl: values["redis-url"],
    out: values.out === undefined ? join(REPO, "bench", "results") : resolve(values.out),
    entry: values.source === true ? "source" : "dist",
    sizesOnly: values["sizes-only"] === true,
  };
}

const log = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** Least-squares slope of y against x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

function client(url: string): CacheClient {
  return createClient(SemanticCacheService, createGrpcTransport({ baseUrl: url }));
}

interface KindLatency extends LatencySummary {
  /** Share of the lookups that came back as the kind intended (a hit of that kind, or a miss). */
  readonly asIntended: number;
}

/** Sequential lookups with one client; latencies in ms. */
async function latencies(c: CacheClient, prompts: readonly string[], samples: number, warmup: number, expect: "exact" | "semantic" | "miss"): Promise<KindLatency> {
  for (let i = 0; i < warmup; i++) await c.lookup({ prompt: prompts[i % prompts.length]!, scope: BENCH_SCOPE });
  const times: number[] = [];
  let intended = 0;
  for (let i = 0; i < samples; i++) {
    const prompt = prompts[(i + warmup) % prompts.length]!;
    const t = performance.now();
    const r = await c.lookup({ prompt, scope: BENCH_SCOPE });
    times.push(performance.now() - t);
    const kind = !r.hit ? "miss" : r.kind === MatchKind.EXACT ? "exact" : "semantic";
    if (kind === expect) intended++;
  }
  return { ...summarize(times), asIntended: round(intended / samples) };
}

export interface SizeResult {
  readonly entries: number;
  readonly preloadSeconds: number;
  readonly coldStartMs: number;
  readonly semanticHit: KindLatency;
  readonly semanticMiss: KindLatency;
  readonly exactHit: KindLatency;
  /** Server RSS right after it reported SERVING, and after the lookups. */
  readonly rssAtServingMiB: number;
  readonly rssMiB: number;
  /** (RSS after the lookups − the empty store's) / entries. */
  readonly rssDeltaPerEntryBytes: number | null;
  /** Lookups whose candidates above the threshold the guard all refused (server Stats). */
  readonly guardRejections: number;
}

export interface BenchResults {
  readonly createdAt: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly loadAverageAtEnd: readonly number[];
  readonly config: {
    readonly store: string;
    readonly entry: string;
    readonly model: string;
    /** Inference workers (one onnxruntime thread each); raw onnxruntime runs one session with this many threads. */
    readonly embedWorkers: number;
    readonly embedMaxBatch: number;
    readonly guard: string;
    readonly threshold: number;
    readonly transport: string;
    readonly index: typeof DEFAULT_INDEX_PARAMS;
  };
  readonly plan: Plan;
  readonly coldStartEmptyMs: number;
  readonly listeningMs: number;
  readonly latency: { readonly entries: number; readonly exactHit: KindLatency; readonly semanticHit: KindLatency; readonly semanticMiss: KindLatency };
  /** Exact-hit Lookup against the canned-hit connect-node server and under load (bench/exact-hit.ts). */
  readonly exactVsAnchors: ExactHitResults;
  readonly throughput: readonly ThroughputResult[];
  /** Semantic throughput at concurrency 8 and 64 against raw onnxruntime, in alternating blocks. */
  readonly vsRaw: ThroughputVsRaw;
  readonly sizes: readonly SizeResult[];
  readonly memoryPerEntryBytes: number | null;
  readonly serverStats: Record<string, string | number>;
  /** Recall@1 against brute force in one scope of each size (bench/recall.ts). */
  readonly recall: readonly RecallResult[];
  /** Restarts after kill -9 with a stale and with no HNSW snapshot (bench/crash-recovery.ts). */
  readonly recovery: readonly RecoveryResult[];
  readonly totalSeconds: number;
}

/** What the store-size runs need. */
interface SizesContext {
  readonly plan: Plan;
  readonly entry: ServerEntry;
  readonly storeEnv: (dataDir: string) => Record<string, string>;
  readonly target: (dataDir: string, modelId: string, dimension: number) => PreloadTarget;
  readonly modelId: string;
  readonly dimension: number;
  readonly basePrompts: readonly string[];
  readonly baseVectors: readonly Float32Array[];
  readonly misses: readonly string[];
  readonly scratch: string;
}

/** Step 3: an empty store, then each of `plan.sizes` preloaded through the store's batch put, each served and measured. */
async function measureSizes(ctx: SizesContext): Promise<{ sizes: SizeResult[]; memoryPerEntryBytes: number | null }> {
  const { plan, basePrompts, baseVectors, misses, modelId, dimension } = ctx;
  const sizes: SizeResult[] = [];
  let baselineRss = 0;
  for (const entries of [0, ...plan.sizes]) {
    const dir = join(ctx.scratch, `size-${entries}`);
    const where = ctx.target(dir, modelId, dimension);
    let preloadSeconds = 0;
    if (entries > 0) {
      const loaded = await preload(where, basePrompts, baseVectors, entries);
      preloadSeconds = round(loaded.millis / 1000, 1);
      log(`preloaded ${entries} entries in ${preloadSeconds} s`);
    }
    const server = await startServer(ctx.storeEnv(dir), { entry: ctx.entry });
    try {
      const rssAtServing = server.rss();
      const cs = client(server.url);
      const inStore = Math.min(entries, basePrompts.length);
      const hitQueries = (inStore > 0 ? basePrompts.slice(0, inStore) : basePrompts).map(paraphrase);
      const exactQueries = entries > 0 ? Array.from({ length: Math.min(entries, 2000) }, (_, i) => entryPrompt(basePrompts, (i * 7919) % entries)) : basePrompts;
      const semantic = await latencies(cs, hitQueries, plan.sizeSamples, plan.warmup, entries > 0 ? "semantic" : "miss");
      const miss = await latencies(cs, misses, plan.sizeSamples, plan.warmup, "miss");
      const exact = await latencies(cs, exactQueries, plan.sizeSamples, plan.warmup, entries > 0 ? "exact" : "miss");
      const rss = server.rss();
      const sizeStats = await cs.stats({ namespace: BENCH_SCOPE.namespace });
      if (entries === 0) baselineRss = rss;
      const result: SizeResult = {
        entries,
        preloadSeconds,
        coldStartMs: Math.round(server.coldStartMs),
        semanticHit: semantic,
        semanticMiss: miss,
        exactHit: exact,
        rssAtServingMiB: round(rssAtServing / 2 ** 20, 1),
        rssMiB: round(rss / 2 ** 20, 1),
        rssDeltaPerEntryBytes: entries > 0 && baselineRss > 0 ? Math.round((rss - baselineRss) / entries) : null,
        guardRejections: Number(sizeStats.guardRejections),
      };
      sizes.push(result);
      log(
        `${entries} entries: SERVING in ${result.coldStartMs} ms, lookup p50 semantic ${semantic.p50Ms} ms (hits ${semantic.asIntended}), ` +
          `miss ${miss.p50Ms} ms, exact ${exact.p50Ms} ms, RSS ${result.rssMiB} MiB`,
      );
    } finally {
      await server.stop();
    }
    if (where.redisUrl !== undefined) await cleanRedis(where);
    rmSync(dir, { recursive: true, force: true });
  }
  // Least-squares slope of RSS after the lookups against entries, over every size (the empty store included).
  // After, not at SERVING: a snapshot's graph is memory-mapped, and RSS counts its pages only once searches touch them.
  const memoryPerEntryBytes = sizes.length >= 2 ? Math.round(slope(sizes.map((s) => [s.entries, s.rssMiB * 2 ** 20] as const))) : null;
  return { sizes, memoryPerEntryBytes };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { plan, threads } = options;
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = machineInfo();
  log(`${plan.quick ? "quick smoke run" : "full run"} on ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverage.join("/")}`);

  if (options.entry === "dist") buildDist();
  const modelDir = await ensureFixtureModel();
  const scratch = mkdtempSync(join(tmpdir(), "semcache-bench-"));
  const runId = `${Date.now().toString(36)}`;
  const storeEnv = (dataDir: string): Record<string, string> => ({
    SEMCACHE_MODEL_DIR: modelDir,
    SEMCACHE_DATA_DIR: dataDir,
    // The server's default shape on `threads` cores: one inference worker per core, one thread each.
    SEMCACHE_EMBED_WORKERS: String(threads),
    SEMCACHE_EMBED_THREADS: "1",
    ...(options.redisUrl === undefined ? {} : { SEMCACHE_REDIS_URL: options.redisUrl, SEMCACHE_REDIS_KEY_PREFIX: `semcache-bench-${runId}:` }),
  });
  const target = (dataDir: string, modelId: string, dimension: number): PreloadTarget => ({
    modelId,
    dimension,
    index: DEFAULT_INDEX_PARAMS,
    ...(options.redisUrl === undefined ? { dataDir } : { redisUrl: options.redisUrl, redisKeyPrefix: `semcache-bench-${runId}:` }),
  });

  let server: BenchServer | undefined;
  try {
    // Base vectors for the store-size runs, embedded once by the real (fixture) model, before any server runs.
    let t = performance.now();
    const { basePrompts, baseVectors, modelId, dimension } = await embedBasePrompts(modelDir, plan.basePrompts, threads);
    log(`embedded ${basePrompts.length} base prompts in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const misses = Array.from({ length: MISS_PROMPTS }, (_, i) => missPrompt(i));

    if (options.sizesOnly) {
      const measured = await measureSizes({ plan, entry: options.entry, storeEnv, target, modelId, dimension, basePrompts, baseVectors, misses, scratch });
      const markdown = [
        `# Store sizes (${startedAt.toISOString()})`,
        "",
        `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, commit ${machine.gitCommit ?? "?"}; load average at start ${machine.loadAverage.join(" / ")}, ` +
          `at end ${loadavg().map((x) => x.toFixed(2)).join(" / ")}. Server: ${options.entry === "dist" ? "compiled (as npm start)" : "source under tsx"}, fixture model, ` +
          `${options.redisUrl === undefined ? "embedded" : "Redis"} store, entries preloaded as in the full run (one scope).`,
        "",
        ...sizeTable(measured.sizes),
        "",
        `Memory per entry (slope of RSS after the lookups over the sizes): ${measured.memoryPerEntryBytes?.toLocaleString("en-US") ?? "—"} bytes. ` +
          `Preload times: ${measured.sizes.map((x) => `${x.entries.toLocaleString("en-US")}: ${x.preloadSeconds} s`).join(", ")}.`,
        "",
      ].join("\n");
      writeResultFiles(options.out, `sizes-${resultStamp(startedAt)}`, { createdAt: startedAt.toISOString(), machine, plan, ...measured }, markdown);
      process.stdout.write(markdown);
      return;
    }

    // 1. Latency and throughput, on a store filled through the API.
    const apiDir = join(scratch, "api");
    server = await startServer(storeEnv(apiDir), { entry: options.entry });
    const coldStartEmptyMs = server.coldStartMs;
    const listeningMs = server.listeningMs;
    log(`server SERVING in ${Math.round(coldStartEmptyMs)} ms (empty store)`);
    const c = client(server.url);
    const stored = spreadPrompts(plan.apiEntries, 50_000);
    t = performance.now();
    await pool(stored, 8, (prompt) => c.store({ prompt, response: `answer to ${prompt}`, scope: BENCH_SCOPE }));
    log(`stored ${stored.length} entries through the API in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // The load phases (the exact-hit comparison's background, the throughput runs) share one cursor over the load
    // lookups, and the sequential latencies use prompts those never send: no prompt comes back while the memo of
    // recent embeddings may hold it, so each semantic lookup runs the model.
    const lookups = new PromptCursor(lookupQueries(stored));
    const paraphrases = latencyRewordings(stored);
    const apiMisses = latencyMisses(stored.length, plan.latencySamples + plan.warmup);
    const exactHit = await latencies(c, stored, plan.latencySamples, plan.warmup, "exact");
    // Exact hits against a canned-hit connect-node server, and under 32 clients of other work, in alternating blocks.
    const exactVsAnchors = await measureExactHits(server.url, stored, plan.quick ? { blocks: 2, perBlock: 50, loadClients: 32 } : { blocks: 8, perBlock: 100, loadClients: 32 }, log, lookups);
    const semanticHit = await latencies(c, paraphrases, plan.latencySamples, plan.warmup, "semantic");
    const semanticMiss = await latencies(c, apiMisses, plan.latencySamples, plan.warmup, "miss");
    log(`latency p50: exact ${exactHit.p50Ms} ms, semantic hit ${semanticHit.p50Ms} ms, semantic miss ${semanticMiss.p50Ms} ms`);
    const throughputs: ThroughputResult[] = [];
    let vsRaw: ThroughputVsRaw;
    const gen = await startLoadGenerator(server.url, lookups.prompts, BENCH_SCOPE.namespace);
    try {
      for (const concurrency of plan.concurrency) {
        const r = await gen.run(concurrency, plan.throughputSeconds, lookups.position);
        lookups.advance(r.promptsTaken);
        throughputs.push(r);
        log(`concurrency ${concurrency}: ${r.lookupsPerSecond} lookups/s (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors)`);
      }
      // 2. The physical limit: the same model, same thread count, in this process while the server idles, in alternating blocks.
      const raw = await openRawModel(modelDir, lookups.prompts, threads);
      try {
        vsRaw = await measureThroughputVsRaw(gen, { url: server.url, pid: server.process.pid! }, raw, { concurrencies: [8, 64], blocks: plan.vsRawBlocks, seconds: plan.vsRawSeconds }, lookups, log);
      } finally {
        await raw.release();
      }
    } finally {
      await gen.close();
    }
    const statsResponse = await c.stats({ namespace: BENCH_SCOPE.namespace });
    const serverStats = {
      lookups: Number(statsResponse.lookups),
      exactHits: Number(statsResponse.exactHits),
      semanticHits: Number(statsResponse.semanticHits),
      misses: Number(statsResponse.misses),
      guardRejections: Number(statsResponse.guardRejections),
      modelId: statsResponse.modelId,
      storeKind: statsResponse.storeKind,
    };
    await server.stop();
    server = undefined;
    if (options.redisUrl !== undefined) await cleanRedis(target(apiDir, modelId, dimension));

    // 3. Store size: empty baseline, then each size preloaded through the store's batch put.
    const { sizes, memoryPerEntryBytes } = await measureSizes({ plan, entry: options.entry, storeEnv, target, modelId, dimension, basePrompts, baseVectors, misses, scratch });

    // 4. Recall: is a semantic hit the true best entry of its scope?
    const recallStore = recallTarget(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl });
    const recall = await measureRecall(recallStore, plan.sizes, plan.quick ? 50 : 300, log);

    // 5. Crash recovery of the embedded store.
    const recovery =
      options.redisUrl === undefined
        ? await measureCrashRecovery({ sizes: plan.recoverySizes, entry: options.entry, modelDir, modelId, dimension, basePrompts, baseVectors, log })
        : [];

    const results: BenchResults = {
      createdAt: startedAt.toISOString(),
      quick: plan.quick,
      machine,
      loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      config: {
        store: options.redisUrl === undefined ? "embedded (SQLite + HNSW)" : "redis",
        entry: options.entry === "dist" ? "dist/cli/main.js (compiled, as npm start)" : "src/cli/main.ts under tsx",
        model: `${modelId} (fixture model: all-MiniLM-L6-v2's shape and compute cost)`,
        embedWorkers: threads,
        embedMaxBatch: 32,
        guard: "on",
        threshold: 0.9,
        transport: "gRPC (HTTP/2, one connection) over loopback",
        index: DEFAULT_INDEX_PARAMS,
      },
      plan,
      coldStartEmptyMs: Math.round(coldStartEmptyMs),
      listeningMs: Math.round(listeningMs),
      latency: { entries: stored.length, exactHit, semanticHit, semanticMiss },
      exactVsAnchors,
      throughput: throughputs,
      vsRaw,
      sizes,
      memoryPerEntryBytes,
      serverStats,
      recall,
      recovery,
      totalSeconds: Math.round((performance.now() - t0) / 1000),
    };
    const stamp = resultStamp(startedAt);
    const name = `${stamp}${plan.quick ? "-quick" : ""}`;
    const markdown = markdownReport(results) + recallMarkdown(recallStore.kind, recall);
    writeResultFiles(options.out, name, results, markdown, plan.quick ? undefined : "latest.md");
    process.stdout.write(markdown);
    log(`wrote ${join(options.out, `${name}.json`)} and .md${plan.quick ? "" : " and latest.md"} (${results.totalSeconds} s in all)`);
  } finally {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

// `--openai`: only the OpenAI endpoint's benchmark (bench/openai-endpoint.ts); `--exact`: only the exact-hit comparisons
// (bench/exact-hit.ts); `--recovery`: only crash recovery (bench/crash-recovery.ts); `--memo`: only the memo of recent
// embeddings (bench/recent-embeddings.ts).
const run = process.argv.includes("--openai")
  ? () => runOpenAiBench(process.argv.slice(2))
  : process.argv.includes("--throughput")
    ? () => runThroughputBench(process.argv.slice(2))
  : process.argv.includes("--exact")
    ? () => runExactHitBench(process.argv.slice(2))
    : process.argv.includes("--recovery")
      ? () => runRecoveryBench(process.argv.slice(2))
      : process.argv.includes("--memo")
        ? () => runMemoBench(process.argv.slice(2))
        : main;
run().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
