/**
 * Crash recovery of the embedded store (issue 14, goal 5): a store of N
 * entries whose server is killed with SIGKILL after writes made its HNSW
 * snapshot stale, then the same with no snapshot at all. Measures, from the
 * restart's spawn: SERVING (/healthz 200), and right answers (an exact hit on
 * an old entry, on one written just before the kill, on a replaced one, and a
 * semantic hit on a rewording of an old one); then semantic-hit latency right
 * after, and, when the restart had to rebuild the graph in the background
 * (no usable snapshot), how long that rebuild took.
 *
 * `npm run bench -- --recovery [--entries 100000,1000000] [--source] [--out DIR]`;
 * the full `npm run bench` runs it at 100,000 entries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MatchKind } from "../src/gen/semcache/v1/semantic_cache_pb.js";
import { DEFAULT_INDEX_PARAMS } from "../src/store/embedded/index.js";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { parseCommandLine, wholeNumbers } from "../tools/lib/command-line.js";
import { client } from "./exact-hit.js";
import { BENCH_SCOPE, embedBasePrompts, entryPrompt, preload } from "./lib/preload.js";
import { letters, paraphrase, rewording } from "./lib/prompts.js";
import { startServer, type BenchServer, type ServerEntry } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";
import { beginStandaloneRun, finishStandaloneRun, serverEntryText } from "./lib/standalone-run.js";

/** One restart after a kill -9. */
export interface RecoveryRun {
  /** What the HNSW snapshot was at the restart. */
  readonly snapshot: "stale" | "missing";
  /** Spawn to /healthz 200. */
  readonly servingMs: number;
  /** Spawn to every check answered right (see the module comment). */
  readonly correctMs: number;
  /** Checks answered right, of `checks`. */
  readonly correct: number;
  readonly checks: number;
  /** The checks answered wrong, with what came back. */
  readonly wrong: readonly string[];
  /** Whether the restart rebuilds the graph in the background (no usable snapshot): lookups are exact searches meanwhile. */
  readonly rebuilding: boolean;
  /** Semantic-hit Lookups right after the checks (during the rebuild, if any). */
  readonly semanticAfterRestart: LatencySummary & { readonly hits: number };
  /** Wall time of the background rebuild, from the server's log; null when not waited for. */
  readonly rebuildMs: number | null;
  /** Semantic-hit Lookups once the graph is back; null when not waited for. */
  readonly semanticAfterRebuild: (LatencySummary & { readonly hits: number }) | null;
}

/** Crash recovery at one store size. */
export interface RecoveryResult {
  readonly entries: number;
  /** Spawn to SERVING on the store as the preload closed it cleanly (snapshots saved), before any crash. */
  readonly cleanColdStartMs: number;
  /** SIGTERM to exit of that server, which had only served reads (its snapshots unchanged). */
  readonly cleanStopMs: number;
  readonly runs: readonly RecoveryRun[];
}

/** What the measurement needs from its caller. */
export interface RecoveryPlan {
  readonly sizes: readonly number[];
  readonly entry: ServerEntry;
  readonly modelDir: string;
  readonly modelId: string;
  readonly dimension: number;
  readonly basePrompts: readonly string[];
  readonly baseVectors: readonly Float32Array[];
  readonly log: (message: string) => void;
  /** Where the clean cold start's server writes its CPU profile (`--cpu-prof-dir`), when set. */
  readonly cpuProfileDir?: string;
}

/** Background rebuilds are waited for up to this size; above it one takes many minutes, and the scenario's point is what comes before. */
const WAIT_FOR_REBUILD_UP_TO = 200_000;

/** What the server logs when a large scope opens for exact search while its graph is rebuilt. */
const NO_USABLE_SNAPSHOT = /no usable HNSW snapshot/;
const GRAPH_BUILT = /graph built in the background.*?"ms":(\d+)|"ms":(\d+).*?graph built in the background/;
const SAMPLES = 100;

/** Runs the kill -9 scenarios at each size; each size gets its own scratch store, removed after. */
export async function measureCrashRecovery(plan: RecoveryPlan): Promise<RecoveryResult[]> {
  const results: RecoveryResult[] = [];
  for (const entries of plan.sizes) {
    const dir = mkdtempSync(join(tmpdir(), "semcache-bench-recovery-"));
    let server: BenchServer | undefined;
    try {
      const loaded = await preload({ dataDir: dir, modelId: plan.modelId, dimension: plan.dimension, index: DEFAULT_INDEX_PARAMS }, plan.basePrompts, plan.baseVectors, entries);
      plan.log(`recovery: preloaded ${entries} entries in ${(loaded.millis / 1000).toFixed(1)} s (clean close: a snapshot)`);
      const env = { SEMCACHE_MODEL_DIR: plan.modelDir, SEMCACHE_DATA_DIR: dir };
      // A cold start from a clean shutdown (the preload's close saved the snapshots), stopped gracefully so the snapshots stay fresh.
      const profile = plan.cpuProfileDir === undefined ? {} : { extraNodeArgs: ["--cpu-prof", "--cpu-prof-dir", plan.cpuProfileDir] };
      server = await startServer(env, { entry: plan.entry, ...profile });
      const cleanColdStartMs = server.coldStartMs;
      plan.log(`recovery at ${entries}: clean cold start to SERVING ${round(cleanColdStartMs / 1000, 2)} s`);
      const stopping = performance.now();
      await server.stop();
      const cleanStopMs = performance.now() - stopping;
      plan.log(`recovery at ${entries}: graceful stop with unchanged snapshots ${round(cleanStopMs / 1000, 2)} s`);
      // Writes after the snapshot, one of them replacing a row it holds: the snapshot no longer matches.
      server = await startServer(env, { entry: plan.entry });
      const c = client(server.url);
      // Unlike any preloaded prompt (those come from spreadPrompts), so they replace nothing.
      const fresh = Array.from({ length: 50 }, (_, i) => `Crash probe ${letters(i + 1)}: which key opens locker ${letters(i + 7)}?`);
      for (const prompt of fresh) await c.store({ prompt, response: `fresh: ${prompt}`, scope: BENCH_SCOPE });
      const replaced = entryPrompt(plan.basePrompts, 11);
      await c.store({ prompt: replaced, response: "replaced before the crash", scope: BENCH_SCOPE });
      await kill9(server);
      server = undefined;

      const runs: RecoveryRun[] = [];
      for (const snapshot of ["stale", "missing"] as const) {
        if (snapshot === "missing") rmSync(join(dir, "hnsw"), { recursive: true, force: true });
        server = await startServer(env, { entry: plan.entry });
        const run = await afterRestart(server, snapshot, plan, fresh, replaced, entries <= WAIT_FOR_REBUILD_UP_TO);
        runs.push(run);
        plan.log(
          `recovery at ${entries} (${snapshot} snapshot): SERVING ${round(run.servingMs / 1000, 2)} s, ${run.correct}/${run.checks} right at ${round(run.correctMs / 1000, 2)} s${run.wrong.length > 0 ? ` (wrong: ${run.wrong.join("; ")})` : ""}, ` +
            `semantic p50 ${run.semanticAfterRestart.p50Ms} ms ${run.rebuilding ? "while rebuilding" : "on the snapshot's graph"}` +
            (run.rebuildMs === null ? "" : `, rebuilt in ${round(run.rebuildMs / 1000, 1)} s, then p50 ${run.semanticAfterRebuild?.p50Ms} ms`),
        );
        await kill9(server);
        server = undefined;
      }
      results.push({ entries, cleanColdStartMs, cleanStopMs, runs });
    } finally {
      if (server !== undefined) await kill9(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

async function afterRestart(
  server: BenchServer,
  snapshot: RecoveryRun["snapshot"],
  plan: RecoveryPlan,
  fresh: readonly string[],
  replaced: string,
  waitForRebuild: boolean,
): Promise<RecoveryRun> {
  const c = client(server.url);
  const checksStarted = performance.now();
  const wrong: string[] = [];
  let checks = 0;
  const check = async (name: string, prompt: string, kind: MatchKind, response: string): Promise<void> => {
    checks++;
    const r = await c.lookup({ prompt, scope: BENCH_SCOPE });
    if (!(r.hit && r.kind === kind && r.entry?.response === response)) {
      wrong.push(`${name}: ${r.hit ? `${MatchKind[r.kind]} hit "${r.entry?.response}" at ${r.similarity.toFixed(3)}` : "miss"}`);
    }
  };
  for (const i of [0, 1234, 2999]) await check(`old entry ${i}`, entryPrompt(plan.basePrompts, i), MatchKind.EXACT, `answer ${i}`);
  for (const prompt of [fresh[0]!, fresh.at(-1)!]) await check("entry written before the kill", prompt, MatchKind.EXACT, `fresh: ${prompt}`);
  await check("entry replaced before the kill", replaced, MatchKind.EXACT, "replaced before the crash");
  // A rewording of an old entry: served semantically, by the entry it rewords.
  await check("rewording of old entry 7", paraphrase(plan.basePrompts[7]!), MatchKind.SEMANTIC, "answer 7");
  const correct = checks - wrong.length;
  const correctMs = server.coldStartMs + (performance.now() - checksStarted);
  // Another ending than the check's rewording above, so no timed lookup finds its embedding in the memo of recent embeddings.
  const rewordings = plan.basePrompts.slice(0, 1000).map((prompt) => rewording(prompt, 1));
  const semanticAfterRestart = await semanticLatency(c, rewordings, 0);
  const rebuilding = NO_USABLE_SNAPSHOT.test(server.stderr());
  let rebuildMs: number | null = null;
  let semanticAfterRebuild: RecoveryRun["semanticAfterRebuild"] = null;
  if (rebuilding && waitForRebuild) {
    for (;;) {
      const match = GRAPH_BUILT.exec(server.stderr());
      if (match !== null) {
        rebuildMs = Number(match[1] ?? match[2]);
        break;
      }
      if (server.process.exitCode !== null) throw new Error(`server exited while rebuilding:\n${server.stderr()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    semanticAfterRebuild = await semanticLatency(c, rewordings, SAMPLES);
  }
  return { snapshot, servingMs: server.coldStartMs, correctMs, correct, checks, wrong, rebuilding, semanticAfterRestart, rebuildMs, semanticAfterRebuild };
}

async function semanticLatency(c: ReturnType<typeof client>, prompts: readonly string[], offset: number): Promise<LatencySummary & { hits: number }> {
  const times: number[] = [];
  let hits = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    const r = await c.lookup({ prompt: prompts[(offset + i) % prompts.length]!, scope: BENCH_SCOPE });
    times.push(performance.now() - t);
    if (r.hit && r.kind === MatchKind.SEMANTIC) hits++;
  }
  return { ...summarize(times), hits: round(hits / SAMPLES) };
}

async function kill9(server: BenchServer): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((r) => server.process.once("exit", r));
  server.process.kill("SIGKILL");
  await exited;
}

/** The results as markdown table rows (| Measure | Result |). */
export function recoveryRows(results: readonly RecoveryResult[]): string[] {
  return results.flatMap((r) => [
    `| Cold start to SERVING at ${r.entries.toLocaleString("en-US")} entries after a clean shutdown (snapshots fresh); then SIGTERM to exit, nothing written meanwhile | ${(r.cleanColdStartMs / 1000).toFixed(2)} s; stop ${(r.cleanStopMs / 1000).toFixed(2)} s |`,
    ...r.runs.map(
      (run) =>
        `| After \`kill -9\` at ${r.entries.toLocaleString("en-US")} entries, ${run.snapshot} snapshot: SERVING / right answers (${run.checks} checks) | ` +
        `${(run.servingMs / 1000).toFixed(2)} s / **${(run.correctMs / 1000).toFixed(2)} s** (${run.correct}/${run.checks} right; goal ≤ 10 s). ` +
        `Semantic-hit p50 ${run.rebuilding ? "while the graph is rebuilt (exact search)" : "on the snapshot's graph (no rebuild)"} ${run.semanticAfterRestart.p50Ms} ms (${Math.round(run.semanticAfterRestart.hits * 100)}% hits)` +
        (run.rebuildMs === null ? "" : `; rebuilt in the background in ${(run.rebuildMs / 1000).toFixed(0)} s, then p50 ${run.semanticAfterRebuild?.p50Ms} ms`) +
        " |",
    ),
  ]);
}

/** `npm run bench -- --recovery [--entries 100000] [--source] [--cpu-prof-dir DIR] [--out DIR]`: only the crash-recovery measurement. */
export async function runRecoveryBench(argv: readonly string[]): Promise<void> {
  const values = parseCommandLine(argv, {
    recovery: { type: "boolean" },
    source: { type: "boolean" },
    entries: { type: "string" },
    out: { type: "string" },
    "cpu-prof-dir": { type: "string" },
  });
  const profileDir = values["cpu-prof-dir"];
  const sizes = wholeNumbers("entries", values.entries, 1, 1_000_000, [100_000]);
  const run = beginStandaloneRun("recovery", values);
  const { entry, log } = run;
  const modelDir = await ensureFixtureModel();
  const { basePrompts, baseVectors, modelId, dimension } = await embedBasePrompts(modelDir, 3000, availableParallelism());
  const results = await measureCrashRecovery({
    sizes,
    entry,
    modelDir,
    modelId,
    dimension,
    basePrompts,
    baseVectors,
    log,
    ...(profileDir === undefined ? {} : { cpuProfileDir: resolve(profileDir) }),
  });
  finishStandaloneRun(run, {
    name: "recovery",
    title: "Crash recovery of the embedded store",
    setup: `Server: ${serverEntryText(entry)}, fixture model, one scope, entries made as in the store-size runs.`,
    rows: recoveryRows(results),
    data: { results },
  });
}
