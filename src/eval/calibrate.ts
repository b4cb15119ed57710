/**
 * `semcache calibrate --data FILE [--precision 0.95]`: the threshold to set
 * for a target precision on an intents file, with the model and guard the
 * server would use (its settings: flags, environment, .env), or against a
 * running server (`--url`). Prints `SEMCACHE_THRESHOLD=<t>` on stdout (the
 * details go to stderr), or says that no threshold reaches the precision
 * and exits with 1.
 */
import { GUARD_CHECKS, guardSettingOf } from "../cache/guard/index.js";
import { indexParamsOf } from "../app/open-store.js";
import { ConfigError, loadConfig } from "../config/load-config.js";
import { embedderOptionsOf } from "../app/load-cache.js";
import { loadOnnxEmbedder } from "../embedder/load.js";
import { evaluate, parseEvalFlags, UsageError, writeReport, type EvalSubject } from "./command.js";
import type { VariantName } from "./run.js";

/** Default target precision of `semcache calibrate` and `npm run eval`. */
export const DEFAULT_TARGET_PRECISION = 0.95;

export const CALIBRATE_HELP = `Usage: semcache calibrate --data FILE [options] [server options]

Finds the similarity threshold that reaches a target precision on an intents
file (see eval/data/README.md): stores its seeds, looks up its paras and nears,
and picks the threshold with the highest hit rate whose precision reaches the
target. Uses the model and guard the server would use (SEMCACHE_MODEL_DIR,
SEMCACHE_GUARD, ... as flags, environment or .env), on a temporary store.

  --data FILE        intents file (JSON lines: intent, role seed|para|near, prompt, note)
  --precision P      target precision, in (0, 1] (default ${DEFAULT_TARGET_PRECISION})
  --sweep A:B:S      thresholds to try (default 0.5:0.99:0.01)
  --url URL          calibrate a running server instead (its own model and guard)
  --out DIR          also write <name>.json and <name>.svg there
  --name NAME        report name (default: <data file>-<model>)

Prints SEMCACHE_THRESHOLD=<t> on stdout (details on stderr); exits with 1
when no threshold in the sweep reaches the precision.
`;

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};


/** Runs `semcache calibrate`; resolves with the exit code. */
export async function calibrateCommand(argv: readonly string[]): Promise<number> {
  let embedder: Awaited<ReturnType<typeof loadOnnxEmbedder>> | undefined;
  try {
    const flags = parseEvalFlags(argv, { precision: DEFAULT_TARGET_PRECISION });
    if (flags.help) {
      process.stdout.write(CALIBRATE_HELP);
      return 0;
    }
    if (flags.data === undefined) throw new UsageError("--data FILE is required");
    if (flags.threshold !== undefined) flags.rest.push("--threshold", String(flags.threshold));
    const config = loadConfig({ argv: flags.rest });
    let subject: EvalSubject;
    let variant: VariantName;
    if (flags.url !== undefined) {
      subject = { kind: "server", url: flags.url };
      variant = "server";
    } else {
      embedder = await loadOnnxEmbedder(embedderOptionsOf(config));
      const checks = config.guard;
      subject = { kind: "in-process", embedder, guardChecks: checks.length > 0 ? checks : GUARD_CHECKS, index: indexParamsOf(config) };
      variant = checks.length > 0 ? "guardOn" : "guardOff";
    }
    const report = await evaluate({
      dataPath: flags.data,
      subject,
      sweep: flags.sweep,
      operatingThreshold: config.threshold,
      targetPrecision: flags.precision,
      ...(flags.name === undefined ? {} : { name: flags.name }),
    });
    const chosen = report.variants[variant]!;
    const pct = (n: number | null): string => (n === null ? "n/a" : `${(n * 100).toFixed(1)}%`);
    say(
      `semcache calibrate: ${flags.data} (${report.data.paras} paras, ${report.data.nears} nears, ${report.data.seeds} seeds) · ` +
        `model ${report.model} · ${variant === "server" ? `server ${flags.url}` : `guard ${guardSettingOf(config.guard)}`}`,
    );
    const now = chosen.atOperating;
    say(`now (threshold ${config.threshold}): hit rate ${pct(now.hitRate)}, false-hit rate ${pct(now.falseHitRate)}, precision ${pct(now.precision)}`);
    if (flags.out !== undefined) {
      const files = writeReport(report, flags.out);
      say(`wrote ${files.json} and ${files.svg}`);
    }
    const other = variant === "guardOn" ? report.variants.guardOff : variant === "guardOff" ? report.variants.guardOn : undefined;
    if (other !== undefined) {
      say(
        `(with the guard ${variant === "guardOn" ? "off" : "on"}: ` +
          (other.best === null ? "no threshold reaches it" : `${other.best.threshold.toFixed(2)}, hit rate ${pct(other.best.hitRate)}`) +
          ")",
      );
    }
    if (chosen.best === null) {
      const h = chosen.highestPrecision;
      say(
        `no threshold in ${flags.sweep.from}..${flags.sweep.to} reaches precision ${flags.precision}` +
          (h === null ? " (nothing was ever served)" : ` (highest: ${pct(h.precision)} at ${h.threshold.toFixed(2)}, hit rate ${pct(h.hitRate)})`),
      );
      return 1;
    }
    const best = chosen.best;
    say(
      `precision ≥ ${flags.precision}: threshold ${best.threshold.toFixed(2)} ` +
        `(hit rate ${pct(best.hitRate)}, false-hit rate ${pct(best.falseHitRate)}, precision ${pct(best.precision)})`,
    );
    process.stdout.write(`SEMCACHE_THRESHOLD=${best.threshold.toFixed(2)}\n`);
    return 0;
  } catch (error) {
    const known = error instanceof UsageError || error instanceof ConfigError || (error instanceof Error && /Error$/.test(error.name));
    say(`semcache calibrate: ${known ? (error as Error).message : String(error)}`);
    if (error instanceof UsageError) say("(semcache calibrate --help for usage)");
    return 2;
  } finally {
    await embedder?.close();
  }
}
