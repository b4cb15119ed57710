/**
 * `npm run load [-- --calls N --concurrency N --max-seconds S --out DIR]`
 *
 * The bounded load test, all on loopback: starts the OpenAI-compatible test
 * server (test/support/openai-server.ts) in this process and `semcache serve`
 * as a child (bench/lib/server.ts) with the fixture model, an empty embedded
 * store and SEMCACHE_LLM_BASE_URL pointing at the test server; seeds every
 * namespace, warms up, then runs the mix of tools/load/mix.ts (Lookup, Store,
 * Ask over gRPC, Connect and gRPC-Web) while sampling the server's RSS;
 * afterwards looks up every acknowledged write, and writes the report
 * (tools/load/report.ts). Exit code 0 only when no call failed, every call
 * ran, nothing acknowledged was lost and the RSS did not keep growing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { machineInfo } from "../../bench/lib/machine.js";
import { rng } from "../../bench/lib/prompts.js";
import { startServer, type BenchServer } from "../../bench/lib/server.js";
import { round } from "../../bench/lib/stats.js";
import { ensureFixtureModel } from "../fixture-model/index.js";
import { clientFor, PROTOCOLS, type CacheClient, type Protocol } from "../../test/support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../../test/support/openai-server.js";
import { verdict } from "./checks.js";
import { readHeap } from "./heap.js";
import { Ledger } from "./ledger.js";
import { LOAD_MODEL, MIX, NAMESPACES, planCall, PROTOCOL_MIX, type PlannedCall } from "./mix.js";
import { UsageError } from "../lib/command-line.js";
import { DEFAULT_CALLS, HELP, parseLoadArgs, type LoadOptions } from "./options.js";
import { runPool } from "./pool.js";
import { Recorder } from "./recorder.js";
import { writeReports } from "./report.js";
import { statsView, type LoadResults, type PhaseResult, type StatsView } from "./results.js";
import { RssSampler } from "./rss.js";
import { MixRunner } from "./runner.js";
import { verifyAcknowledged } from "./verify.js";

/**
 * Entries stored in each namespace before the warm-up, so that the first hits
 * have something to hit: 100, fewer for short runs (one per 20 calls, at
 * least 10), which exist to check the tool rather than to measure.
 */
const seedPerNamespace = (calls: number): number => Math.min(100, Math.max(10, Math.ceil(calls / 20)));
/** Concurrency of the seeding and of the check afterwards (not measured). */
const SIDE_CONCURRENCY = 16;

const log = (message: string): void => {
  process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

const STORE_NEW = MIX.find((op) => op.kind === "store-new")!;

/** Runs `count` planned calls at `concurrency` and summarises them as a phase. */
async function phase(runner: MixRunner, count: number, concurrency: number, deadline: number, plan: (i: number) => PlannedCall): Promise<PhaseResult> {
  const recorder = new Recorder();
  const pool = await runPool(count, concurrency, deadline, async (i) => recorder.record(await runner.run(plan(i))));
  return { calls: recorder.calls, errors: recorder.errors, seconds: round(pool.seconds, 1), summary: recorder.summary() };
}

/** The whole run; resolves with the exit code. */
async function runLoad(options: LoadOptions): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  const hardDeadline = t0 + options.maxSeconds * 1000;
  // Time kept back from the load for the check, Stats, shutdown and the report.
  const loadDeadline = hardDeadline - Math.min(120_000, options.maxSeconds * 200);
  let server: BenchServer | undefined;
  let llm: OpenAiTestServer | undefined;
  const scratch = mkdtempSync(join(tmpdir(), "semcache-load-"));
  // The last resort of "stops by itself": everything else ends before this fires.
  const watchdog = setTimeout(() => {
    log(`the --max-seconds bound (${options.maxSeconds} s) was reached before the report was written: stopping`);
    server?.process.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
    process.exit(1);
  }, options.maxSeconds * 1000);
  watchdog.unref();

  const machine = machineInfo();
  log(`${options.calls} calls at concurrency ${options.concurrency} on ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverage.join("/")}`);
  try {
    const modelDir = await ensureFixtureModel();
    llm = await startOpenAiServer();
    llm.setBehaviour({ delayMs: options.llmDelayMs });
    server = await startServer(
      {
        SEMCACHE_MODEL_DIR: modelDir,
        SEMCACHE_DATA_DIR: join(scratch, "data"),
        // One worker with --threads intra-op threads: the configuration these results have always used.
      SEMCACHE_EMBED_WORKERS: "1",
      SEMCACHE_EMBED_THREADS: String(options.threads),
        SEMCACHE_LLM_BASE_URL: llm.url,
        SEMCACHE_LLM_MODEL: LOAD_MODEL,
      },
      { timeoutMs: Math.max(10_000, loadDeadline - performance.now()) },
    );
    const coldStartMs = Math.round(server.coldStartMs);
    log(`server SERVING at ${server.url} in ${coldStartMs} ms; loopback LLM at ${llm.url}`);
    const url = server.url;
    const clients = Object.fromEntries(PROTOCOLS.map((p) => [p, clientFor(p, url)])) as Record<Protocol, CacheClient>;
    const ledger = new Ledger(NAMESPACES.length);
    // Two streams: the plan (which operations, in which order) stays the same whatever the timing.
    const planRandom = rng(options.seed);
    const runner = new MixRunner(clients, ledger, rng(options.seed + 0x9e3779b9), options.callTimeoutMs);

    const seedCount = seedPerNamespace(options.calls) * NAMESPACES.length;
    const seeding = await phase(runner, seedCount, SIDE_CONCURRENCY, loadDeadline, (i) => ({
      operation: STORE_NEW,
      namespace: i % NAMESPACES.length,
      protocol: "grpc",
    }));
    log(`seeded ${seeding.calls} entries in ${seeding.seconds} s (${seeding.errors} errors)`);
    // Warm-up at full concurrency, so the embedder's batch sizes and every protocol's connections exist before RSS "start".
    const warmupCalls = Math.max(64, 2 * options.concurrency);
    const warmup = await phase(runner, warmupCalls, options.concurrency, loadDeadline, () => planCall(planRandom));
    const warmupAnswers = runner.takeCounts();
    log(`warm-up: ${warmup.calls} calls in ${warmup.seconds} s (${warmup.errors} errors)`);

    const recorder = new Recorder();
    const sampler = new RssSampler(() => server!.rss(), () => readHeap(url), options.calls);
    sampler.sample(0);
    const step = Math.max(1, Math.ceil(options.calls / 10));
    const pool = await runPool(options.calls, options.concurrency, loadDeadline, async () => {
      recorder.record(await runner.run(planCall(planRandom)));
      const done = recorder.calls;
      sampler.progress(done);
      if (done % step === 0) log(`${done}/${options.calls} calls, ${recorder.errors} errors, server RSS ${(server!.rss() / 2 ** 20).toFixed(0)} MiB`);
    });
    sampler.sample(recorder.calls);
    const loadAnswers = runner.takeCounts();
    const rss = await sampler.report(options.rssTolerance);
    const summary = recorder.summary();
    log(
      `load: ${summary.calls} calls in ${pool.seconds.toFixed(1)} s, ${summary.errors} errors, p50 ${summary.overall.p50Ms} ms, p99 ${summary.overall.p99Ms} ms; ` +
        `RSS ${(rss.startBytes / 2 ** 20).toFixed(0)} → ${(rss.middleBytes / 2 ** 20).toFixed(0)} → ${(rss.endBytes / 2 ** 20).toFixed(0)} MiB`,
    );

    // The check may use the reserve, less a little for Stats, shutdown and the report.
    const verification = await verifyAcknowledged(clients.grpc, ledger, SIDE_CONCURRENCY, hardDeadline - Math.min(15_000, options.maxSeconds * 50));
    log(`check: ${verification.found} of ${verification.acknowledged} acknowledged writes found (${verification.seconds} s)`);

    let serverStats: LoadResults["serverStats"] = null;
    try {
      const overall = statsView(await clients.grpc.stats({}));
      const byNamespace: Record<string, StatsView> = {};
      for (const ns of NAMESPACES) byNamespace[ns.namespace] = statsView(await clients.grpc.stats({ namespace: ns.namespace }));
      serverStats = { overall, byNamespace };
    } catch (error) {
      log(`Stats failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const llmCounts = llm.counts();
    const llmAnswersSeen = [warmupAnswers, loadAnswers, runner.takeCounts()].reduce((sum, c) => sum + (c.askSources["LLM"] ?? 0), 0);
    await server.stop();
    server = undefined;
    await llm.close();
    llm = undefined;

    const checks = verdict({ seeding, warmup, summary, pool, options, verification, rss, loadAnswers, serverStats, llmCounts, llmAnswersSeen, ledgerSize: ledger.size });
    const results: LoadResults = {
      createdAt: startedAt.toISOString(),
      // A run cut short by the bound is not a full-size one either, whatever it planned.
      short: summary.calls < DEFAULT_CALLS,
      machine,
      loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      config: {
        store: "embedded (SQLite + HNSW)",
        entry: "src/cli/main.ts under tsx",
        model: "the fixture model (all-MiniLM-L6-v2's shape and compute cost)",
        embedThreads: options.threads,
        guard: "on",
        threshold: 0.9,
        llm: "the OpenAI-compatible test server (test/support/openai-server.ts) in the load process, over loopback HTTP",
        llmDelayMs: options.llmDelayMs,
        calls: options.calls,
        concurrency: options.concurrency,
        maxSeconds: options.maxSeconds,
        seed: options.seed,
        callTimeoutMs: options.callTimeoutMs,
        seedEntriesPerNamespace: seedPerNamespace(options.calls),
        warmupCalls,
      },
      mix: { operations: MIX, namespaces: NAMESPACES, protocols: PROTOCOL_MIX },
      coldStartMs,
      seeding,
      warmup,
      load: {
        planned: options.calls,
        completed: summary.calls,
        stoppedByDeadline: pool.stoppedByDeadline,
        seconds: round(pool.seconds, 1),
        callsPerSecond: round(summary.calls / pool.seconds, 1),
        summary,
        answers: loadAnswers,
      },
      rss,
      verification,
      llm: { requestsReceived: llmCounts.total, completed: llmCounts.completed, closedEarly: llmCounts.closedEarly, llmAnswersSeen },
      serverStats,
      checks,
      passed: checks.every((c) => c.passed || !c.fatal),
      totalSeconds: Math.round((performance.now() - t0) / 1000),
    };
    const paths = writeReports(results, options.out);
    for (const c of checks) log(`${c.passed ? "pass" : "FAIL"}${c.fatal ? "" : " (informational)"}: ${c.name}: ${c.detail}`);
    log(`wrote ${paths.join(", ")} (${results.totalSeconds} s in all)`);
    return results.passed ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await server?.stop();
    await llm?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const options = parseLoadArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  return runLoad(options);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const text = error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`load: ${text}\n`);
    process.exit(1);
  },
);
