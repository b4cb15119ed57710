/**
 * The evaluation as a command: argument parsing, the run, and the files.
 * Used by `npm run eval` (tools/eval/main.ts, which defaults to the fixture
 * model) and by `semcache calibrate` (calibrate.ts, which uses the server's
 * configuration).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { GuardCheck } from "../cache/guard/index.js";
import type { Embedder } from "../embedder/embedder.js";
import type { IndexParams } from "../store/cache-store.js";
import { parseDataset } from "./dataset.js";
import { renderPlot, type PlotSeries } from "./plot.js";
import { buildReport, VARIANT_LABELS, type EvalReport } from "./report.js";
import { observeInProcess, observeServer, type VariantName } from "./run.js";
import { DEFAULT_SWEEP, parseSweep, thresholdsOf, type SweepRange } from "./score.js";

/** A bad command line; the message says what. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Flags shared by `npm run eval` and `semcache calibrate`. */
export interface EvalFlags {
  data?: string;
  url?: string;
  precision: number;
  sweep: SweepRange;
  threshold?: number;
  name?: string;
  out?: string;
  help: boolean;
  /** Arguments not recognised here, in order (handed on to the server's settings by calibrate). */
  rest: string[];
}

const numberIn = (flag: string, raw: string, min: number, max: number): number => {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value <= min || value > max) {
    throw new UsageError(`${flag} must be a number greater than ${min} and at most ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
};

/**
 * Parses the evaluation flags (`--flag value` or `--flag=value`); anything
 * else is returned in `rest`.
 */
export function parseEvalFlags(argv: readonly string[], defaults: { precision: number }): EvalFlags {
  const flags: EvalFlags = { precision: defaults.precision, sweep: DEFAULT_SWEEP, help: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      flags.help = true;
      continue;
    }
    const [flag = "", inline] = arg.split(/=(.*)/s, 2);
    const known = ["--data", "--url", "--precision", "--sweep", "--threshold", "--name", "--out"];
    if (!known.includes(flag)) {
      flags.rest.push(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case "--data":
        flags.data = value;
        break;
      case "--url":
        flags.url = value;
        break;
      case "--precision":
        flags.precision = numberIn(flag, value, 0, 1);
        break;
      case "--sweep":
        try {
          flags.sweep = parseSweep(value);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        break;
      case "--threshold":
        flags.threshold = numberIn(flag, value, 0, 1);
        break;
      case "--name":
        if (!/^[\w.-]+$/.test(value)) throw new UsageError(`--name must be letters, digits, '.', '_' or '-' (got ${JSON.stringify(value)})`);
        flags.name = value;
        break;
      case "--out":
        flags.out = value;
        break;
    }
  }
  return flags;
}

/** What to evaluate against: an embedder for an in-process cache, or a server URL. */
export type EvalSubject =
  | { readonly kind: "in-process"; readonly embedder: Embedder; readonly guardChecks: readonly GuardCheck[]; readonly index?: Partial<IndexParams>; readonly searchK?: number }
  | { readonly kind: "server"; readonly url: string };

/** Runs the evaluation of one intents file and builds its report. */
export async function evaluate(options: {
  readonly dataPath: string;
  readonly subject: EvalSubject;
  readonly sweep: SweepRange;
  readonly operatingThreshold: number;
  readonly targetPrecision: number;
  readonly name?: string;
}): Promise<EvalReport> {
  let text: string;
  try {
    text = readFileSync(options.dataPath, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the intents file ${options.dataPath}: ${(error as Error).message}`);
  }
  const dataset = parseDataset(text, options.dataPath);
  const thresholds = thresholdsOf(options.sweep);
  if (!thresholds.some((t) => Math.abs(t - options.operatingThreshold) < 1e-9)) {
    // Keep the operating point on the curve too.
    thresholds.push(options.operatingThreshold);
    thresholds.sort((a, b) => a - b);
  }
  const observations =
    options.subject.kind === "in-process"
      ? await observeInProcess(dataset, {
          embedder: options.subject.embedder,
          guardChecks: options.subject.guardChecks,
          ...(options.subject.index === undefined ? {} : { index: options.subject.index }),
          ...(options.subject.searchK === undefined ? {} : { searchK: options.subject.searchK }),
        })
      : await observeServer(dataset, { url: options.subject.url });
  const dataName = basename(options.dataPath, extname(options.dataPath));
  const subjectName = options.subject.kind === "server" ? "server" : observations.modelId;
  return buildReport({
    name: options.name ?? `${dataName}-${subjectName}`.replace(/[^\w.-]+/g, "_"),
    dataPath: options.dataPath,
    dataSha256: createHash("sha256").update(text).digest("hex"),
    dataset,
    observations,
    sweepRange: options.sweep,
    thresholds,
    operatingThreshold: options.operatingThreshold,
    targetPrecision: options.targetPrecision,
  });
}

const COLORS: Readonly<Record<VariantName, string>> = { guardOff: "#888888", guardOn: "#1f6fd1", server: "#2a9d4a" };

/** The precision/hit-rate plot of a report. */
export function plotReport(report: EvalReport): string {
  const series: PlotSeries[] = (Object.keys(report.variants) as VariantName[]).map((name) => {
    const v = report.variants[name]!;
    const marks = [{ threshold: report.operatingThreshold, label: "operating" }];
    if (v.best !== null) marks.push({ threshold: v.best.threshold, label: `best for ${report.targetPrecision}` });
    return { label: VARIANT_LABELS[name], color: COLORS[name], points: v.sweep, marks };
  });
  return renderPlot({
    title: `semcache eval: ${report.name}`,
    subtitle: `${report.data.paras} paras, ${report.data.nears} nears, ${report.data.seeds} seeds · model ${report.model} · thresholds ${report.sweepRange.from}–${report.sweepRange.to}`,
    series,
    targetPrecision: report.targetPrecision,
  });
}

/** Writes `<dir>/<name>.json` and `<dir>/<name>.svg`; returns their paths. */
export function writeReport(report: EvalReport, dir: string): { json: string; svg: string } {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const json = join(out, `${report.name}.json`);
  const svg = join(out, `${report.name}.svg`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svg, plotReport(report));
  return { json, svg };
}
