/** Command-line options of `npm run load`. */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { REPO } from "../../bench/lib/server.js";
import { numberAtLeast, parseCommandLine, wholeNumber } from "../lib/command-line.js";

/** The options of a run. */
export interface LoadOptions {
  /** Measured calls (after seeding and warm-up). */
  readonly calls: number;
  readonly concurrency: number;
  /** Hard bound on the whole run, start to report. */
  readonly maxSeconds: number;
  /** Directory of the report files. */
  readonly out: string;
  /** Seed of the mix's PRNG. */
  readonly seed: number;
  /** Delay of every answer of the loopback LLM, to stand in for a real model's latency. */
  readonly llmDelayMs: number;
  /** Growth of the peak RSS allowed from the middle third to the last third, as a fraction. */
  readonly rssTolerance: number;
  /** Timeout of each call. */
  readonly callTimeoutMs: number;
  /** SEMCACHE_EMBED_THREADS of the server. */
  readonly threads: number;
  readonly help: boolean;
}

/** The default number of calls; runs of at least this many also write load-latest.md. */
export const DEFAULT_CALLS = 20_000;

/** Usage text. */
export const HELP = `Usage: npm run load -- [options]

Bounded load test on loopback: starts \`semcache serve\` (embedded store, fixture model)
and a loopback OpenAI-compatible server, runs a mix of Lookup / Store / Ask, checks that
every acknowledged write is still found, and writes bench/results/load-<UTC time>.{json,md}
(and load-latest.md for runs of ${DEFAULT_CALLS} calls or more). Exit code 1 when any call
failed, an acknowledged write was not found, or the server's RSS kept growing.

  --calls N            measured calls (default ${DEFAULT_CALLS})
  --concurrency N      calls in flight (default 64)
  --max-seconds S      hard bound on the whole run (default 900); the load stops issuing
                       calls early enough to leave time for the check and the report
  --out DIR            report directory (default bench/results)
  --seed N             seed of the mix (default 1)
  --llm-delay-ms MS    delay of each loopback LLM answer (default 50)
  --rss-tolerance F    growth of the peak RSS allowed, last third over middle third (default 0.10)
  --call-timeout-ms MS timeout of each call (default 60000)
  --threads N          SEMCACHE_EMBED_THREADS of the server's one inference worker (default: cores)
`;

/** Parses the command line; throws a UsageError naming the bad option. */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const values = parseCommandLine(argv, {
    calls: { type: "string" },
    concurrency: { type: "string" },
    "max-seconds": { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    "llm-delay-ms": { type: "string" },
    "rss-tolerance": { type: "string" },
    "call-timeout-ms": { type: "string" },
    threads: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  return {
    calls: wholeNumber("calls", values.calls, 1, DEFAULT_CALLS),
    concurrency: wholeNumber("concurrency", values.concurrency, 1, 64),
    maxSeconds: wholeNumber("max-seconds", values["max-seconds"], 10, 900),
    out: values.out === undefined ? join(REPO, "bench", "results") : resolve(values.out),
    seed: wholeNumber("seed", values.seed, 0, 1),
    llmDelayMs: wholeNumber("llm-delay-ms", values["llm-delay-ms"], 0, 50),
    rssTolerance: numberAtLeast("rss-tolerance", values["rss-tolerance"], 0, 0.1),
    callTimeoutMs: wholeNumber("call-timeout-ms", values["call-timeout-ms"], 1, 60_000),
    threads: wholeNumber("threads", values.threads, 1, availableParallelism()),
    help: values.help ?? false,
  };
}
