/**
 * `npm run bench:fleet [-- --blocks N] [--per-block N] [--out DIR]`
 *
 * What the fleet adds per call, on a real redis-server on loopback (started
 * here; `redis-server` must be on PATH), each figure against its anchor,
 * measured in alternating blocks (anchor, fleet, anchor, ...) so that drift
 * on a shared machine hits both alike:
 *
 * - an Ask that calls the LLM: the fleet's claim, its re-read of the entry
 *   and the (unawaited) release, against what a lone server does there (one
 *   re-read of the entry); the "LLM" answers at once, so only coordination
 *   is timed;
 * - the rate limit decision: FleetRateLimiter.take (synchronous, its Redis
 *   script not awaited) against RateLimiter.take;
 * - counting: FleetCounters.add (batched) against Counters.add.
 *
 * Writes bench/results/fleet-<UTC time>.json and .md, and fleet-latest.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { RateLimiter } from "../src/auth/rate-limiter.js";
import { Counters } from "../src/cache/counters.js";
import { FleetCounters } from "../src/fleet/fleet-counters.js";
import { FleetLink } from "../src/fleet/fleet-link.js";
import { FleetRateLimiter } from "../src/fleet/fleet-rate-limiter.js";
import { FleetSingleFlight } from "../src/fleet/fleet-single-flight.js";
import { RedisConnection } from "../src/store/redis/connection.js";
import { RedisTestServer } from "../test/support/redis-server.js";
import { parseCommandLine, wholeNumber } from "../tools/lib/command-line.js";
import { machineInfo } from "./lib/machine.js";
import { REPO } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";

interface Options {
  readonly blocks: number;
  readonly perBlock: number;
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const values = parseCommandLine(argv, { blocks: { type: "string" }, "per-block": { type: "string" }, out: { type: "string" } });
  return {
    blocks: wholeNumber("blocks", values.blocks, 2, 6),
    perBlock: wholeNumber("per-block", values["per-block"], 10, 500),
    out: values.out === undefined ? join(REPO, "bench", "results") : resolve(values.out),
  };
}

const log = (message: string): void => {
  process.stderr.write(`[bench fleet ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** One pair of figures measured in alternating blocks. */
interface Pair {
  readonly name: string;
  /** "call": one latency per call, in ms; "block": per-call means of whole blocks, in ns (the summaries' "Ms" fields hold ns then). */
  readonly mode: "call" | "block";
  readonly anchorName: string;
  readonly fleetName: string;
  readonly anchor: LatencySummary;
  readonly fleet: LatencySummary;
  /** Mean fleet / mean anchor. */
  readonly ratio: number;
}

/**
 * Latencies (ms) of `count` sequential calls: one sample per call, or for
 * calls far below the timer's resolution ("block"), one sample per block,
 * the block's time divided by its calls.
 */
async function timeCalls(count: number, call: (i: number) => Promise<void> | void, into: number[], mode: "call" | "block"): Promise<void> {
  const blockStarted = performance.now();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call(i);
    if (mode === "call") into.push(performance.now() - started);
    // Lets unawaited replies (releases, rate-limit scripts) land between calls, as between requests; their handling
    // is part of the fleet's cost.
    if (i % 50 === 49) await yieldToLoop();
  }
  // In nanoseconds: the summaries round to three decimals.
  if (mode === "block") into.push(((performance.now() - blockStarted) / count) * 1e6);
}

async function alternate(
  options: Options,
  name: string,
  anchorName: string,
  anchor: (i: number) => Promise<void> | void,
  fleetName: string,
  fleet: (i: number) => Promise<void> | void,
  mode: "call" | "block" = "call",
): Promise<Pair> {
  const a: number[] = [];
  const f: number[] = [];
  // One warm-up block each, not kept.
  // Sub-microsecond calls: blocks 100 times larger, so each block's time is well above the timer's resolution.
  const count = mode === "block" ? options.perBlock * 100 : options.perBlock;
  await timeCalls(count, anchor, [], mode);
  await timeCalls(count, fleet, [], mode);
  for (let b = 0; b < options.blocks; b++) {
    await timeCalls(count, anchor, a, mode);
    await timeCalls(count, fleet, f, mode);
  }
  const anchorSummary = summarize(a);
  const fleetSummary = summarize(f);
  log(`${name}: ${anchorName} mean ${anchorSummary.meanMs} ms, ${fleetName} mean ${fleetSummary.meanMs} ms`);
  return { name, mode, anchorName, fleetName, anchor: anchorSummary, fleet: fleetSummary, ratio: round(fleetSummary.meanMs / anchorSummary.meanMs, 2) };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const startMachine = machineInfo();
  const startedAt = new Date().toISOString();
  const redis = await RedisTestServer.start();
  const connection = await RedisConnection.open({ url: redis.url, commandTimeoutMs: 1000, connectTimeoutMs: 1000, startupTimeoutMs: 5000, maxReconnectDelayMs: 500, onError: () => undefined });
  const link = FleetLink.over(connection, "bench-fleet:");
  const pairs: Pair[] = [];
  try {
    // An entry hash like the store's, read the way the exact layer reads it (HMGET of a few fields).
    const entryKey = "bench-fleet:entry:missing";
    const readEntry = async (): Promise<undefined> => {
      await connection.command(["HMGET", entryKey, "prompt", "response", "ns", "scope", "expires"]);
      return undefined;
    };
    const flights = new FleetSingleFlight(link);
    const signal = new AbortController().signal;
    pairs.push(
      await alternate(
        options,
        "Ask that calls the LLM: coordination before the call",
        "lone server (re-read of the entry)",
        () => readEntry(),
        "fleet (claim, re-read, release)",
        (i) => flights.run(`k${i}`, signal, { stored: readEntry, run: async () => undefined }),
      ),
    );

    const limit = { requestsPerSecond: 1_000_000, burst: 1_000_000 };
    const local = new RateLimiter();
    const shared = new FleetRateLimiter(link);
    pairs.push(
      await alternate(
        options,
        "Rate limit decision (one key)",
        "RateLimiter.take",
        () => void local.take("key", limit),
        "FleetRateLimiter.take",
        () => void shared.take("key", limit),
        "block",
      ),
    );

    const counters = new Counters();
    const fleetCounters = new FleetCounters(link);
    const batched = new Counters(fleetCounters);
    pairs.push(
      await alternate(
        options,
        "Counting one event",
        "Counters.add",
        (i) => counters.add(`ns${i % 4}`, "lookups"),
        "Counters.add with FleetCounters",
        (i) => batched.add(`ns${i % 4}`, "lookups"),
        "block",
      ),
    );
    await fleetCounters.close();
  } finally {
    await connection.close();
    await redis.stop();
  }
  const endMachine = machineInfo();
  const stamp = new Date().toISOString().replace(/[-:]/gu, "").replace(/\.\d+Z$/u, "Z");
  const result = { kind: "fleet", startedAt, options, machine: startMachine, loadAverageAtEnd: endMachine.loadAverage, pairs };
  const md = [
    `# semcache fleet overhead, ${result.startedAt.slice(0, 16).replace("T", " ")} UTC`,
    "",
    `**Machine:** ${startMachine.cpuModel}, ${startMachine.cores} cores, Node ${startMachine.node}, commit ${startMachine.gitCommit ?? "unknown"}.`,
    `**Load average** (1/5/15 min) at start ${startMachine.loadAverage.join(" / ")}, at end ${endMachine.loadAverage.join(" / ")}.`,
    `**Method:** a redis-server on loopback; ${options.blocks} alternating blocks per figure (anchor, fleet, anchor, ...) after one warm-up block each: ${options.perBlock} sequential calls per block for the Ask (latency per call, client-side), ${options.perBlock * 100} for the synchronous decisions (time per block divided by its calls; the handling of the fleet's unawaited replies included).`,
    "",
    "| What | Anchor | Anchor mean / p50 / p99 | Fleet | Fleet mean / p50 / p99 | Fleet / anchor (means) |",
    "|---|---|---:|---|---:|---:|",
    ...pairs.map(
      (p) =>
        p.mode === "call"
          ? `| ${p.name} | ${p.anchorName} | ${fmt(p.anchor.meanMs)} / ${fmt(p.anchor.p50Ms)} / ${fmt(p.anchor.p99Ms)} ms | ${p.fleetName} | ${fmt(p.fleet.meanMs)} / ${fmt(p.fleet.p50Ms)} / ${fmt(p.fleet.p99Ms)} ms | ${p.ratio}× |`
          : `| ${p.name} | ${p.anchorName} | ${ns(p.anchor.meanMs)} per call (mean of ${p.anchor.count} blocks) | ${p.fleetName} | ${ns(p.fleet.meanMs)} per call | ${p.ratio}× |`,
    ),
    "",
    "Exact hits are not in the table: the fleet sends no command on them. Reproduce: `npm run bench:fleet`.",
    "",
  ].join("\n");
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, `fleet-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(options.out, `fleet-${stamp}.md`), md);
  writeFileSync(join(options.out, "fleet-latest.md"), md);
  process.stdout.write(md);
}

function ns(value: number): string {
  return `${Math.round(value)} ns`;
}

function fmt(ms: number): string {
  return ms < 0.1 ? ms.toFixed(4) : ms.toFixed(3);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench fleet failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
