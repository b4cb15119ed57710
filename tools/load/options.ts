/** Command-line options of `npm run load`. */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { REPO } from "../../bench/lib/server.js";

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

/** A bad command line: reported by its message alone, without a stack. */
export class LoadUsageError extends Error {}

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
  --threads N          SEMCACHE_EMBED_THREADS of the server (default: cores)
`;

/** Parses the command line; throws a LoadUsageError naming the bad option. */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const options = {
    calls: DEFAULT_CALLS,
    concurrency: 64,
    maxSeconds: 900,
    out: join(REPO, "bench", "results"),
    seed: 1,
    llmDelayMs: 50,
    rssTolerance: 0.1,
    callTimeoutMs: 60_000,
    threads: availableParallelism(),
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag = "", inline] = argv[i]!.split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new LoadUsageError(`${flag} needs a value`);
      return v;
    };
    const whole = (min: number): number => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min) throw new LoadUsageError(`${flag} must be a whole number ≥ ${min}, not ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (flag === "--calls") options.calls = whole(1);
    else if (flag === "--concurrency") options.concurrency = whole(1);
    else if (flag === "--max-seconds") options.maxSeconds = whole(10);
    else if (flag === "--out") options.out = resolve(value());
    else if (flag === "--seed") options.seed = whole(0);
    else if (flag === "--llm-delay-ms") options.llmDelayMs = whole(0);
    else if (flag === "--call-timeout-ms") options.callTimeoutMs = whole(1);
    else if (flag === "--threads") options.threads = whole(1);
    else if (flag === "--rss-tolerance") {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new LoadUsageError(`${flag} must be a fraction ≥ 0, such as 0.1`);
      options.rssTolerance = v;
    } else if (flag === "--help" || flag === "-h") options.help = true;
    else throw new LoadUsageError(`unknown option ${flag} (see --help)`);
  }
  return options;
}
