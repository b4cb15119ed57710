/**
 * What the memo of recent embeddings (src/cache/recent-embeddings.ts) saves
 * a client that calls the LLM itself: Lookup misses, then Store sends the
 * same prompt. Measured on one server, in alternating short blocks so that
 * background load falls on both sides alike:
 *
 * - subject: Lookup(p) then Store(p), so Store finds p's embedding kept;
 * - anchor: Lookup(p) then Store(q), q another new prompt, so Store runs
 *   the model: what every Store cost before the memo.
 *
 * Both sides send the same calls with new prompts of the same kind; only
 * whether Store's prompt was just embedded differs. Reported: Store p50,
 * the server's CPU and the texts the model embedded per pair.
 *
 * `npm run bench -- --memo [--source] [--blocks N] [--per-block N] [--out DIR]`
 * writes bench/results/memo-<time>.md and .json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RECENT_EMBEDDINGS } from "../src/cache/recent-embeddings.js";
import { textsEmbedded } from "../test/support/embedding-metrics.js";
import { cpuMsOf } from "../test/support/proc.js";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { parseCommandLine, wholeNumber } from "../tools/lib/command-line.js";
import { client } from "./exact-hit.js";
import { BENCH_SCOPE } from "./lib/preload.js";
import { spreadPrompts } from "./lib/prompts.js";
import { startServer } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";
import { beginStandaloneRun, finishStandaloneRun, serverEntryText } from "./lib/standalone-run.js";

/** One side of the comparison, over all its blocks. */
export interface MemoSide {
  /** Store latency, client-side. */
  readonly store: LatencySummary;
  /** Lookup + Store, client-side. */
  readonly pair: LatencySummary;
  /** The server process's CPU (all threads) per pair, in milliseconds. */
  readonly serverCpuMsPerPair: number;
  /** Texts the model embedded per pair (the server's embedding batch-size sum). */
  readonly textsPerPair: number;
}

/** The alternating-block comparison. */
export interface MemoResults {
  readonly samePrompt: MemoSide;
  readonly otherPrompt: MemoSide;
  /** Store p50, other prompt / same prompt. */
  readonly storeSpeedup: number;
  /** Server CPU per pair, same prompt / other prompt. */
  readonly cpuRatio: number;
  readonly blocks: number;
  readonly perBlock: number;
  readonly loadAverage: readonly [number, number];
}

/**
 * `blocks` alternating blocks of `perBlock` sequential pairs each, first the
 * same-prompt side, then the other; every prompt is new to the server.
 */
export async function measureMemo(url: string, pid: number, plan: { blocks: number; perBlock: number }, log: (message: string) => void): Promise<MemoResults> {
  const c = client(url);
  // Per block, one new prompt a same-prompt pair and two an other-prompt pair; then the warm-up's.
  const warmup = 20;
  const prompts = spreadPrompts(plan.blocks * plan.perBlock * 3 + warmup, 90_000);
  let next = 0;
  const take = (): string => {
    const prompt = prompts[next++];
    if (prompt === undefined) throw new Error("measureMemo ran out of prompts");
    return prompt;
  };
  // Warm-up, not counted: the first calls pay for connections and code not yet compiled.
  for (let i = 0; i < warmup; i++) {
    const p = take();
    await c.lookup({ prompt: p, scope: BENCH_SCOPE });
    await c.store({ prompt: p, response: `answer to ${p}`, scope: BENCH_SCOPE });
  }
  const load0 = round(loadavg()[0]!, 2);
  const tally = () => ({ store: [] as number[], pair: [] as number[], cpuMs: 0, texts: 0, pairs: 0 });
  const sides = { same: tally(), other: tally() };
  for (let b = 0; b < plan.blocks; b++) {
    for (const side of ["same", "other"] as const) {
      const acc = sides[side];
      const cpu0 = cpuMsOf(pid);
      const texts0 = await textsEmbedded(url);
      for (let i = 0; i < plan.perBlock; i++) {
        const asked = take();
        const stored = side === "same" ? asked : take();
        const t0 = performance.now();
        await c.lookup({ prompt: asked, scope: BENCH_SCOPE });
        const t1 = performance.now();
        await c.store({ prompt: stored, response: `answer to ${stored}`, scope: BENCH_SCOPE });
        const t2 = performance.now();
        acc.store.push(t2 - t1);
        acc.pair.push(t2 - t0);
      }
      acc.cpuMs += cpuMsOf(pid) - cpu0;
      acc.texts += (await textsEmbedded(url)) - texts0;
      acc.pairs += plan.perBlock;
    }
    log(`block ${b + 1}/${plan.blocks}: Store p50 same prompt ${summarize(sides.same.store).p50Ms} ms, other ${summarize(sides.other.store).p50Ms} ms`);
  }
  const side = (s: ReturnType<typeof tally>): MemoSide => ({
    store: summarize(s.store),
    pair: summarize(s.pair),
    serverCpuMsPerPair: round(s.cpuMs / s.pairs, 2),
    textsPerPair: round(s.texts / s.pairs, 2),
  });
  const same = side(sides.same);
  const other = side(sides.other);
  return {
    samePrompt: same,
    otherPrompt: other,
    storeSpeedup: round(other.store.p50Ms / same.store.p50Ms, 2),
    cpuRatio: round(same.serverCpuMsPerPair / other.serverCpuMsPerPair, 2),
    blocks: plan.blocks,
    perBlock: plan.perBlock,
    loadAverage: [load0, round(loadavg()[0]!, 2)],
  };
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The comparison as markdown table rows (| Measure | Result |). */
export function memoRows(r: MemoResults): string[] {
  const s = r.samePrompt;
  const o = r.otherPrompt;
  return [
    `| Store p50 / p99 right after a Lookup of the same prompt vs of another, ${r.blocks} alternating blocks of ${r.perBlock} pairs | ${ms(s.store.p50Ms)} / ${ms(s.store.p99Ms)} ms vs ${ms(o.store.p50Ms)} / ${ms(o.store.p99Ms)} ms: **${r.storeSpeedup.toFixed(2)}× faster** (load ${r.loadAverage.join(" → ")}) |`,
    `| Lookup + Store, per pair: server CPU / texts the model embedded / p50 | same prompt ${s.serverCpuMsPerPair.toFixed(2)} ms / ${s.textsPerPair} / ${ms(s.pair.p50Ms)} ms; other prompt ${o.serverCpuMsPerPair.toFixed(2)} ms / ${o.textsPerPair} / ${ms(o.pair.p50Ms)} ms: CPU **${r.cpuRatio.toFixed(2)}×** |`,
  ];
}

/** `npm run bench -- --memo [--source] [--blocks N] [--per-block N] [--out DIR]`: only this comparison. */
export async function runMemoBench(argv: readonly string[]): Promise<void> {
  const values = parseCommandLine(argv, {
    memo: { type: "boolean" },
    source: { type: "boolean" },
    blocks: { type: "string" },
    "per-block": { type: "string" },
    out: { type: "string" },
  });
  const plan = { blocks: wholeNumber("blocks", values.blocks, 1, 8), perBlock: wholeNumber("per-block", values["per-block"], 1, 40) };
  const run = beginStandaloneRun("memo", values);
  const { entry, log } = run;
  const scratch = mkdtempSync(join(tmpdir(), "semcache-bench-memo-"));
  const server = await startServer({ SEMCACHE_MODEL_DIR: await ensureFixtureModel(), SEMCACHE_DATA_DIR: scratch }, { entry });
  try {
    const results = await measureMemo(server.url, server.process.pid!, plan, log);
    finishStandaloneRun(run, {
      name: "memo",
      title: "The memo of recent embeddings: Store after a Lookup of the same prompt",
      setup: `Server: ${serverEntryText(entry)}, fixture model, embedded store, SEMCACHE_EMBED_MEMO_ENTRIES=${DEFAULT_RECENT_EMBEDDINGS} (the default); generated client over gRPC, one pair at a time; every prompt new to the server.`,
      rows: memoRows(results),
      data: { plan, results },
    });
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
