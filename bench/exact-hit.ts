/**
 * Exact-hit Lookup against its anchors, in alternating short blocks so that
 * background load on the shared machine falls on both sides alike:
 *
 * - against the RPC floor: the same Lookups sent to a minimal connect-node
 *   server that answers a canned hit of the same size (anchor/), same
 *   transport, same generated client (goal: p50 ≤ 1.3×);
 * - against itself idle: exact hits while 32 other clients run semantic
 *   lookups and Stores, against exact hits with nothing else running
 *   (goal: p50 ≤ 1.5×).
 *
 * `npm run bench -- --exact` runs only this (bench/results/exact-<time>.md);
 * the full `npm run bench` runs it too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LookupResponseSchema, MatchKind, SemanticCacheService } from "../src/gen/semcache/v1/semantic_cache_pb.js";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { parseCommandLine, wholeNumber } from "../tools/lib/command-line.js";
import { startAnchorServer } from "./anchor/anchor-process.js";
import { BENCH_SCOPE } from "./lib/preload.js";
import { lookupQueries, PromptCursor, spreadPrompts, storeOnlyPrompt } from "./lib/prompts.js";
import { startServer, type BenchServer } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";
import { beginStandaloneRun, finishStandaloneRun, serverEntryText } from "./lib/standalone-run.js";

type CacheClient = Client<typeof SemanticCacheService>;

/** Alternating-block comparison of a subject with its anchor. */
export interface Comparison {
  readonly subject: LatencySummary;
  readonly anchor: LatencySummary;
  /** subject p50 / anchor p50. */
  readonly ratioP50: number;
  /** Median over blocks of (subject block p50 / anchor block p50 just before it): robust to drift between blocks. */
  readonly ratioBlockMedian: number;
  readonly blocks: number;
  readonly perBlock: number;
  /** Load average (1 min) when the comparison began and ended. */
  readonly loadAverage: readonly [number, number];
}

export interface ExactHitResults {
  /** Exact-hit Lookup on semcache vs the canned-hit connect-node server. */
  readonly vsRpcFloor: Comparison;
  /** Exact-hit Lookup while 32 clients run semantic lookups and Stores vs idle. */
  readonly underLoad: Comparison & { readonly loadClients: number; readonly backgroundCalls: number; readonly backgroundErrors: number };
  /** Bytes of the canned LookupResponse the anchor answers. */
  readonly cannedBytes: number;
}

export const client = (url: string): CacheClient => createClient(SemanticCacheService, createGrpcTransport({ baseUrl: url }));

/** Sequential exact-hit lookups; pushes latencies (ms) into `into`; throws if one is not an exact hit. */
async function exactBlock(c: CacheClient, prompts: readonly string[], from: number, count: number, into: number[], check: boolean): Promise<void> {
  for (let i = 0; i < count; i++) {
    const prompt = prompts[(from + i) % prompts.length]!;
    const t = performance.now();
    const r = await c.lookup({ prompt, scope: BENCH_SCOPE });
    into.push(performance.now() - t);
    if (check && (!r.hit || r.kind !== MatchKind.EXACT)) throw new Error(`exact-hit lookup was not an exact hit: ${prompt}`);
  }
}

const median = (xs: readonly number[]): number => summarize(xs).p50Ms;
const load1 = (): number => round(loadavg()[0]!, 2);

/**
 * Runs `blocks` pairs of (anchor block, subject block) of `perBlock`
 * sequential calls each; `before`/`after` wrap each subject block (to start
 * and stop background load).
 */
async function alternate(
  anchor: (from: number, into: number[]) => Promise<void>,
  subject: (from: number, into: number[]) => Promise<void>,
  blocks: number,
  perBlock: number,
): Promise<Comparison> {
  const startLoad = load1();
  const a: number[] = [];
  const s: number[] = [];
  const blockRatios: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const ab: number[] = [];
    const sb: number[] = [];
    // Alternate which side goes first, so neither always follows the other's warm caches.
    if (b % 2 === 0) {
      await anchor(b * perBlock, ab);
      await subject(b * perBlock, sb);
    } else {
      await subject(b * perBlock, sb);
      await anchor(b * perBlock, ab);
    }
    a.push(...ab);
    s.push(...sb);
    blockRatios.push(median(sb) / median(ab));
  }
  const subjectSummary = summarize(s);
  const anchorSummary = summarize(a);
  return {
    subject: subjectSummary,
    anchor: anchorSummary,
    ratioP50: round(subjectSummary.p50Ms / anchorSummary.p50Ms, 2),
    ratioBlockMedian: round([...blockRatios].sort((x, y) => x - y)[Math.floor(blockRatios.length / 2)]!, 2),
    blocks,
    perBlock,
    loadAverage: [startLoad, load1()],
  };
}

/**
 * Background work: `clients` callers looping over semantic lookups taken from `lookups` and Stores of new prompts
 * (storeOnlyPrompt from `firstStore` on, so a later background stores none twice) until stopped.
 */
function backgroundLoad(c: CacheClient, lookups: PromptCursor, clients: number, firstStore: number): { stop(): Promise<{ calls: number; errors: number; stores: number }> } {
  let running = true;
  let calls = 0;
  let errors = 0;
  let stores = 0;
  let n = 0;
  const workers = Array.from({ length: clients }, async () => {
    while (running) {
      const i = n++;
      try {
        // Three in four: semantic lookups, half rewordings of stored prompts, half misses; one in four: a Store of a new prompt.
        if (i % 4 === 3) await c.store({ prompt: storeOnlyPrompt(firstStore + stores++), response: `answer ${i}`, scope: BENCH_SCOPE });
        else await c.lookup({ prompt: lookups.take(), scope: BENCH_SCOPE });
        calls++;
      } catch {
        errors++;
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { calls, errors, stores };
    },
  };
}

/**
 * Measures exact-hit Lookup on `server` (whose store holds `stored` in
 * BENCH_SCOPE) against the canned-hit anchor and against itself under load,
 * whose semantic lookups come from `lookups` (by default lookupQueries(stored)
 * from the start; a run that loads the server again afterwards passes the
 * cursor it goes on with).
 */
export async function measureExactHits(
  serverUrl: string,
  stored: readonly string[],
  plan: { readonly blocks: number; readonly perBlock: number; readonly loadClients: number },
  log: (message: string) => void,
  lookups: PromptCursor = new PromptCursor(lookupQueries(stored)),
): Promise<ExactHitResults> {
  const c = client(serverUrl);
  const sample = await c.lookup({ prompt: stored[0]!, scope: BENCH_SCOPE });
  if (!sample.hit || sample.kind !== MatchKind.EXACT) throw new Error("the first stored prompt is not an exact hit");
  const canned = toBinary(LookupResponseSchema, sample);
  const anchorServer = await startAnchorServer(canned);
  try {
    const a = client(anchorServer.url);
    // Warm-up: connections, JIT on both sides.
    await exactBlock(a, stored, 0, 200, [], false);
    await exactBlock(c, stored, 0, 200, [], true);
    const vsRpcFloor = await alternate(
      (from, into) => exactBlock(a, stored, from, plan.perBlock, into, false),
      (from, into) => exactBlock(c, stored, from, plan.perBlock, into, true),
      plan.blocks,
      plan.perBlock,
    );
    log(`exact hit p50 ${vsRpcFloor.subject.p50Ms} ms vs canned connect-node ${vsRpcFloor.anchor.p50Ms} ms: ${vsRpcFloor.ratioP50}× (block median ${vsRpcFloor.ratioBlockMedian}×)`);
    let backgroundCalls = 0;
    let backgroundErrors = 0;
    let backgroundStores = 0;
    const loaded = await alternate(
      (from, into) => exactBlock(c, stored, from, plan.perBlock, into, true),
      async (from, into) => {
        const background = backgroundLoad(c, lookups, plan.loadClients, backgroundStores);
        // Let the background reach its steady state (batches forming) before timing.
        await new Promise((r) => setTimeout(r, 300));
        try {
          await exactBlock(c, stored, from, plan.perBlock, into, true);
        } finally {
          const done = await background.stop();
          backgroundCalls += done.calls;
          backgroundErrors += done.errors;
          backgroundStores += done.stores;
        }
      },
      plan.blocks,
      plan.perBlock,
    );
    log(`exact hit p50 with ${plan.loadClients} clients of semantic lookups and Stores ${loaded.subject.p50Ms} ms vs idle ${loaded.anchor.p50Ms} ms: ${loaded.ratioP50}×`);
    return {
      vsRpcFloor,
      underLoad: { ...loaded, loadClients: plan.loadClients, backgroundCalls, backgroundErrors },
      cannedBytes: canned.length,
    };
  } finally {
    await anchorServer.stop();
  }
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The two comparisons as markdown table rows (| Measure | Result |). */
export function exactHitRows(r: ExactHitResults): string[] {
  const f = r.vsRpcFloor;
  const l = r.underLoad;
  return [
    `| Exact-hit Lookup p50 / p99 vs a minimal connect-node server answering a canned hit (${r.cannedBytes} B), ${f.blocks} alternating blocks of ${f.perBlock} | ${ms(f.subject.p50Ms)} / ${ms(f.subject.p99Ms)} ms vs ${ms(f.anchor.p50Ms)} / ${ms(f.anchor.p99Ms)} ms: **${f.ratioP50.toFixed(2)}×** (median of block ratios ${f.ratioBlockMedian.toFixed(2)}×; goal ≤ 1.3×; load ${f.loadAverage.join(" → ")}) |`,
    `| Exact-hit Lookup p50 / p99 while ${l.loadClients} clients run semantic lookups and Stores vs idle, ${l.blocks} alternating blocks of ${l.perBlock} | ${ms(l.subject.p50Ms)} / ${ms(l.subject.p99Ms)} ms vs ${ms(l.anchor.p50Ms)} / ${ms(l.anchor.p99Ms)} ms: **${l.ratioP50.toFixed(2)}×** (median of block ratios ${l.ratioBlockMedian.toFixed(2)}×; goal ≤ 1.5×; ${l.backgroundCalls} background calls, ${l.backgroundErrors} errors; load ${l.loadAverage.join(" → ")}) |`,
  ];
}

/** `npm run bench -- --exact [--source] [--blocks N] [--per-block N] [--load-clients N] [--cpu-prof-dir DIR] [--out DIR]`: only the exact-hit comparisons. */
export async function runExactHitBench(argv: readonly string[]): Promise<void> {
  const values = parseCommandLine(argv, {
    exact: { type: "boolean" },
    source: { type: "boolean" },
    blocks: { type: "string" },
    "per-block": { type: "string" },
    "load-clients": { type: "string" },
    out: { type: "string" },
    "cpu-prof-dir": { type: "string" },
  });
  const profileDir = values["cpu-prof-dir"];
  const plan = {
    blocks: wholeNumber("blocks", values.blocks, 1, 20),
    perBlock: wholeNumber("per-block", values["per-block"], 1, 100),
    loadClients: wholeNumber("load-clients", values["load-clients"], 1, 32),
  };
  const run = beginStandaloneRun("exact", values);
  const { entry, log } = run;
  const scratch = mkdtempSync(join(tmpdir(), "semcache-bench-exact-"));
  let server: BenchServer | undefined;
  try {
    server = await startServer({ SEMCACHE_MODEL_DIR: await ensureFixtureModel(), SEMCACHE_DATA_DIR: scratch }, {
      entry,
      // The server's CPU profile (written when it exits), to see where an exact hit's time goes.
      ...(profileDir === undefined ? {} : { extraNodeArgs: ["--cpu-prof", "--cpu-prof-dir", resolve(profileDir)] }),
    });
    const c = client(server.url);
    const stored = spreadPrompts(500, 50_000);
    for (let i = 0; i < stored.length; i += 16) {
      await Promise.all(stored.slice(i, i + 16).map((prompt) => c.store({ prompt, response: `answer to ${prompt}`, scope: BENCH_SCOPE })));
    }
    log(`stored ${stored.length} entries`);
    const results = await measureExactHits(server.url, stored, plan, log);
    finishStandaloneRun(run, {
      name: "exact",
      title: "Exact-hit Lookup against its anchors",
      setup: `Server: ${serverEntryText(entry)}, fixture model, embedded store, ${stored.length} entries; generated client over gRPC (one HTTP/2 connection each).`,
      rows: exactHitRows(results),
      data: { plan, results },
    });
  } finally {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
