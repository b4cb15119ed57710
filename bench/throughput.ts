/**
 * Semantic-lookup throughput against the physical limit: onnxruntime-node
 * alone on the same model, same thread count, in this process while the
 * server is idle. The two are measured in alternating short blocks (raw,
 * then semcache at each concurrency, repeated), so that background load on
 * the shared machine falls on both alike; each ratio is the subject's rate
 * over the whole run against raw's, with the median of the per-block ratios
 * beside it. semcache's lookups come from bench/loadgen, a grpc-go client
 * far lighter on the shared cores than a Node one (lib/load-generator.ts).
 *
 * `npm run bench -- --throughput` runs only this
 * (bench/results/throughput-<time>.md); the full `npm run bench` runs it too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { parseCommandLine, wholeNumber } from "../tools/lib/command-line.js";
import { client } from "./exact-hit.js";
import { startLoadGenerator, type LoadGenerator } from "./lib/load-generator.js";
import { pool } from "./lib/pool.js";
import { BENCH_SCOPE } from "./lib/preload.js";
import { lookupQueries, PromptCursor, spreadPrompts } from "./lib/prompts.js";
import { openRawModel, type RawModel } from "./lib/raw-onnx.js";
import { embeddingsReused } from "../test/support/embedding-metrics.js";
import { cpuMsOf } from "../test/support/proc.js";
import { startServer, type BenchServer } from "./lib/server.js";
import { percentile, round } from "./lib/stats.js";
import { beginStandaloneRun, finishStandaloneRun, serverEntryText } from "./lib/standalone-run.js";

/** Goals of issue 14 (goal 3): semcache's rate over raw's, by concurrency. */
export const THROUGHPUT_GOALS: Readonly<Record<number, number>> = { 8: 0.75, 64: 0.9 };

/** semcache at one concurrency against raw onnxruntime, over all blocks. */
export interface VsRaw {
  readonly concurrency: number;
  readonly lookupsPerSecond: number;
  /** lookupsPerSecond / the raw rate over all raw blocks. */
  readonly ratio: number;
  /** Median over blocks of (this block's rate / the raw block's rate just before it). */
  readonly ratioBlockMedian: number;
  readonly errors: number;
  /** The server process's CPU (all its threads) per lookup, in milliseconds. */
  readonly serverCpuMsPerLookup: number;
  /** The load generator's own CPU per call, in milliseconds. */
  readonly clientCpuMsPerCall: number;
  /** The goal for this concurrency, when issue 14 sets one. */
  readonly goal: number | null;
}

/** The alternating-block comparison. */
export interface ThroughputVsRaw {
  readonly blocks: number;
  readonly secondsPerBlock: number;
  readonly raw: { readonly threads: number; readonly batchSize: number; readonly meanTokens: number; readonly textsPerSecond: number };
  readonly byConcurrency: readonly VsRaw[];
  /** Lookups sent during the counted blocks (each run's warm-up included), and how many took their embedding from the memo of recent embeddings instead of the model (0 when the prompts are new, as meant). */
  readonly memo: { readonly lookups: number; readonly embeddingsReused: number };
  /** Load average (1 min) when the comparison began and ended. */
  readonly loadAverage: readonly [number, number];
}

/**
 * Alternates `blocks` times: raw onnxruntime for `seconds`, then semcache
 * (whose store is warm and idle meanwhile) at each of `concurrencies` for
 * `seconds`. One block of each, not counted, goes first: a fresh server's
 * first seconds of lookups run code the JIT has not compiled yet. The load
 * generator reads the prompts of `lookups` (the list it was started with)
 * from the cursor's position on, and the cursor moves past what it took.
 */
export async function measureThroughputVsRaw(
  gen: LoadGenerator,
  server: { readonly url: string; readonly pid: number },
  raw: RawModel,
  plan: { readonly concurrencies: readonly number[]; readonly blocks: number; readonly seconds: number },
  lookups: PromptCursor,
  log: (message: string) => void,
): Promise<ThroughputVsRaw> {
  const load0 = round(loadavg()[0]!, 2);
  let rawTexts = 0;
  let rawSeconds = 0;
  const perConcurrency = plan.concurrencies.map(() => ({ calls: 0, seconds: 0, errors: 0, serverCpuMs: 0, clientCpuMs: 0, blockRatios: [] as number[] }));
  await raw.run(plan.seconds);
  for (const concurrency of plan.concurrencies) lookups.advance((await gen.run(concurrency, plan.seconds, lookups.position)).promptsTaken);
  log("warm-up block done (not counted)");
  const reused0 = await embeddingsReused(server.url);
  const sent0 = lookups.position;
  for (let b = 0; b < plan.blocks; b++) {
    const r = await raw.run(plan.seconds);
    rawTexts += r.texts;
    rawSeconds += r.seconds;
    const rawRate = r.texts / r.seconds;
    const rates: string[] = [];
    for (const [i, concurrency] of plan.concurrencies.entries()) {
      const cpu0 = cpuMsOf(server.pid);
      const s = await gen.run(concurrency, plan.seconds, lookups.position);
      const serverCpuMs = cpuMsOf(server.pid) - cpu0;
      lookups.advance(s.promptsTaken);
      const acc = perConcurrency[i]!;
      acc.calls += s.count;
      acc.seconds += s.seconds;
      acc.errors += s.errors;
      // The server's CPU over the run includes its warm-up's, a few dozen lookups: slightly high, never low.
      acc.serverCpuMs += serverCpuMs;
      acc.clientCpuMs += s.clientCpuMsPerCall * s.count;
      acc.blockRatios.push(s.lookupsPerSecond / rawRate);
      rates.push(`c${concurrency} ${s.lookupsPerSecond}/s`);
    }
    log(`block ${b + 1}/${plan.blocks}: raw ${rawRate.toFixed(1)} texts/s, ${rates.join(", ")}`);
  }
  const memo = { lookups: lookups.position - sent0, embeddingsReused: (await embeddingsReused(server.url)) - reused0 };
  const rawRate = rawTexts / rawSeconds;
  const byConcurrency = plan.concurrencies.map((concurrency, i): VsRaw => {
    const acc = perConcurrency[i]!;
    const rate = acc.calls / acc.seconds;
    return {
      concurrency,
      lookupsPerSecond: round(rate, 1),
      ratio: round(rate / rawRate),
      ratioBlockMedian: round(percentile(acc.blockRatios, 0.5)),
      errors: acc.errors,
      serverCpuMsPerLookup: round(acc.serverCpuMs / Math.max(1, acc.calls)),
      clientCpuMsPerCall: round(acc.clientCpuMs / Math.max(1, acc.calls)),
      goal: THROUGHPUT_GOALS[concurrency] ?? null,
    };
  });
  return {
    blocks: plan.blocks,
    secondsPerBlock: plan.seconds,
    raw: { threads: raw.threads, batchSize: raw.batchSize, meanTokens: raw.meanTokens, textsPerSecond: round(rawRate, 1) },
    byConcurrency,
    memo,
    loadAverage: [load0, round(loadavg()[0]!, 2)],
  };
}

/** The comparison as markdown table rows (| Measure | Result |). */
export function throughputVsRawRows(r: ThroughputVsRaw): string[] {
  return [
    `| Physical limit: onnxruntime-node alone, same model, batches of ${r.raw.batchSize}, ${r.raw.threads} threads (mean ${r.raw.meanTokens} tokens), ${r.blocks} blocks of ${r.secondsPerBlock} s alternating with semcache's | ${r.raw.textsPerSecond.toFixed(0)} texts/s |`,
    ...r.byConcurrency.map(
      (v) =>
        `| Semantic lookups at concurrency ${v.concurrency} vs the physical limit, alternating blocks | ${v.lookupsPerSecond.toFixed(0)} vs ${r.raw.textsPerSecond.toFixed(0)} per s: **${v.ratio.toFixed(2)}×** (median of block ratios ${v.ratioBlockMedian.toFixed(2)}×${v.goal === null ? "" : `; goal ≥ ${v.goal.toFixed(2)}×`}; ${v.errors} errors; CPU per lookup: server ${v.serverCpuMsPerLookup.toFixed(2)} ms, load generator ${v.clientCpuMsPerCall.toFixed(2)} ms; load ${r.loadAverage.join(" → ")}) |`,
    ),
    `| Lookups during the counted blocks (the load generator's warm-ups included) whose prompt embedding came from the memo of recent embeddings instead of the model (the memo at its default; 0 means every lookup ran the model, as the anchor's texts do) | ${r.memo.embeddingsReused.toLocaleString("en-US")} of ${r.memo.lookups.toLocaleString("en-US")} |`,
  ];
}

/** `npm run bench -- --throughput [--source] [--threads N] [--blocks N] [--seconds N] [--out DIR]`: only semantic throughput against the physical limit. */
export async function runThroughputBench(argv: readonly string[]): Promise<void> {
  const values = parseCommandLine(argv, {
    throughput: { type: "boolean" },
    source: { type: "boolean" },
    threads: { type: "string" },
    blocks: { type: "string" },
    seconds: { type: "string" },
    out: { type: "string" },
  });
  const threads = wholeNumber("threads", values.threads, 1, availableParallelism());
  const plan = {
    concurrencies: [8, 64],
    blocks: wholeNumber("blocks", values.blocks, 1, 6),
    seconds: wholeNumber("seconds", values.seconds, 1, 4),
  };
  const run = beginStandaloneRun("throughput", values);
  const { entry, log } = run;
  const modelDir = await ensureFixtureModel();
  const scratch = mkdtempSync(join(tmpdir(), "semcache-bench-throughput-"));
  let server: BenchServer | undefined;
  let raw: RawModel | undefined;
  let gen: LoadGenerator | undefined;
  try {
    server = await startServer({ SEMCACHE_MODEL_DIR: modelDir, SEMCACHE_DATA_DIR: scratch, SEMCACHE_EMBED_WORKERS: String(threads), SEMCACHE_EMBED_THREADS: "1" }, { entry });
    const c = client(server.url);
    const stored = spreadPrompts(500, 50_000);
    await pool(stored, 8, (prompt) => c.store({ prompt, response: `answer to ${prompt}`, scope: BENCH_SCOPE }));
    const lookups = new PromptCursor(lookupQueries(stored));
    gen = await startLoadGenerator(server.url, lookups.prompts, BENCH_SCOPE.namespace);
    raw = await openRawModel(modelDir, lookups.prompts, threads);
    log(`stored ${stored.length} entries; alternating ${plan.blocks} blocks of ${plan.seconds} s`);
    const results = await measureThroughputVsRaw(gen, { url: server.url, pid: server.process.pid! }, raw, plan, lookups, log);
    finishStandaloneRun(run, {
      name: "throughput",
      title: "Semantic throughput against the physical limit",
      withCommit: true,
      setup:
        `Server: ${serverEntryText(entry)}, fixture model, SEMCACHE_EMBED_WORKERS=${threads} (one onnxruntime thread each, the default shape), embedded store, ${stored.length} entries; ` +
        "load from bench/loadgen (the generated Go client, grpc-go, one HTTP/2 connection, on the same cores: its CPU per call is in the table); lookups are half paraphrases of stored prompts, half other-domain misses, none sent twice within 9,000 (so none is in the memo of recent embeddings).",
      rows: throughputVsRawRows(results),
      data: { threads, ...results },
    });
  } finally {
    await gen?.close();
    await raw?.release();
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
