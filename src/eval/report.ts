/**
 * The evaluation report: the sweep of each variant, the operating point,
 * the threshold for a target precision, the guard's effect, and every
 * lookup; as JSON and as a short text summary.
 */
import { meetsThreshold } from "../store/similarity.js";
import { categoryOf, NOTE_CATEGORIES, type Dataset } from "./dataset.js";
import type { EvalObservations, ObservedLookup, VariantName } from "./run.js";
import { bestThreshold, highestPrecision, scoreAt, sweep, type Metrics, type SweepRange } from "./score.js";

/** Human names of the variants. */
export const VARIANT_LABELS: Readonly<Record<VariantName, string>> = {
  guardOff: "guard off",
  guardOn: "guard on",
  server: "server (its own guard setting)",
};

/** One variant's results. */
export interface VariantReport {
  readonly label: string;
  readonly sweep: readonly Metrics[];
  /** At the operating threshold (the server default unless asked otherwise). */
  readonly atOperating: Metrics;
  /** The threshold for the target precision, or null when none reaches it. */
  readonly best: Metrics | null;
  /** The highest precision reached anywhere in the sweep. */
  readonly highestPrecision: Metrics | null;
}

/** What the guard changes at one threshold (guard off → guard on). */
export interface GuardEffect {
  readonly threshold: number;
  readonly correctHits: readonly [number, number];
  readonly falseHits: readonly [number, number];
  readonly falseHitsParas: readonly [number, number];
  readonly falseHitsNears: readonly [number, number];
  readonly hitRate: readonly [number, number];
  readonly falseHitRate: readonly [number, number];
  readonly precision: readonly [number | null, number | null];
  readonly falseHitsByCategory: Readonly<Record<string, readonly [number, number]>>;
  /** Nearest candidates the guard rejected at this threshold, by check: how many were right (a para's own intent) and wrong. */
  readonly rejectionsByCheck: Readonly<Record<string, { readonly right: number; readonly wrong: number }>>;
  /** Paras whose own answer the guard refused at this threshold (its cost), with the reason. */
  readonly parasRefused: readonly { readonly line: number; readonly prompt: string; readonly similarity: number; readonly check: string; readonly reason: string }[];
}

/** The whole report. */
export interface EvalReport {
  readonly name: string;
  readonly createdAt: string;
  readonly data: {
    readonly path: string;
    readonly sha256: string;
    readonly seeds: number;
    readonly paras: number;
    readonly nears: number;
    readonly nearCategories: Readonly<Record<string, number>>;
  };
  readonly model: string;
  readonly target: string;
  readonly searchK: number | null;
  readonly guardChecks: readonly string[] | null;
  readonly serverGuardRejections: number | null;
  readonly sweepRange: SweepRange;
  readonly operatingThreshold: number;
  readonly targetPrecision: number;
  readonly variants: Partial<Record<VariantName, VariantReport>>;
  /** With and without the guard, at the operating threshold and at each variant's calibrated threshold. */
  readonly guardEffect: readonly GuardEffect[] | null;
  readonly lookups: readonly LookupRecord[];
  readonly millis: number;
}

/** One lookup, for reading the report. */
export interface LookupRecord {
  readonly line: number;
  readonly role: string;
  readonly intent: string;
  readonly category?: string;
  readonly prompt: string;
  readonly best: number;
  readonly served: Partial<Record<VariantName, { readonly intent: string; readonly similarity: number } | null>>;
  readonly guardRejected?: { readonly intent: string; readonly similarity: number; readonly check: string; readonly reason: string };
}

/** Inputs of {@link buildReport}. */
export interface ReportInput {
  readonly name: string;
  readonly dataPath: string;
  readonly dataSha256: string;
  readonly dataset: Dataset;
  readonly observations: EvalObservations;
  readonly sweepRange: SweepRange;
  readonly thresholds: readonly number[];
  readonly operatingThreshold: number;
  readonly targetPrecision: number;
}

const pair = <T>(off: Metrics, on: Metrics, f: (m: Metrics) => T): readonly [T, T] => [f(off), f(on)];

function guardEffect(off: readonly ObservedLookup[], on: readonly ObservedLookup[], threshold: number): GuardEffect {
  const a = scoreAt(off, threshold);
  const b = scoreAt(on, threshold);
  const categories = [...new Set([...NOTE_CATEGORIES, ...Object.keys(a.falseHitsByCategory), ...Object.keys(b.falseHitsByCategory)])];
  const rejectionsByCheck: Record<string, { right: number; wrong: number }> = {};
  const parasRefused: GuardEffect["parasRefused"][number][] = [];
  for (const o of on) {
    const r = o.rejected;
    if (r === undefined || !meetsThreshold(r.similarity, threshold)) continue;
    const right = o.line.role === "para" && r.intent === o.line.intent;
    const slot = rejectionsByCheck[r.check] ?? { right: 0, wrong: 0 };
    rejectionsByCheck[r.check] = slot;
    if (right) {
      slot.right++;
      parasRefused.push({ line: o.line.line, prompt: o.line.prompt, similarity: r.similarity, check: r.check, reason: r.reason });
    } else slot.wrong++;
  }
  return {
    threshold,
    correctHits: pair(a, b, (m) => m.correctHits),
    falseHits: pair(a, b, (m) => m.falseHits),
    falseHitsParas: pair(a, b, (m) => m.falseHitsParas),
    falseHitsNears: pair(a, b, (m) => m.falseHitsNears),
    hitRate: pair(a, b, (m) => m.hitRate),
    falseHitRate: pair(a, b, (m) => m.falseHitRate),
    precision: pair(a, b, (m) => m.precision),
    falseHitsByCategory: Object.fromEntries(categories.map((c) => [c, [a.falseHitsByCategory[c] ?? 0, b.falseHitsByCategory[c] ?? 0] as const])),
    rejectionsByCheck,
    parasRefused,
  };
}

/** Builds the report from what a run observed. */
export function buildReport(input: ReportInput): EvalReport {
  const { dataset, observations } = input;
  const variants: Partial<Record<VariantName, VariantReport>> = {};
  for (const [name, observed] of Object.entries(observations.variants) as [VariantName, readonly ObservedLookup[]][]) {
    const metrics = sweep(observed, input.thresholds);
    variants[name] = {
      label: VARIANT_LABELS[name],
      sweep: metrics,
      atOperating: scoreAt(observed, input.operatingThreshold),
      best: bestThreshold(metrics, input.targetPrecision) ?? null,
      highestPrecision: highestPrecision(metrics) ?? null,
    };
  }
  const off = observations.variants.guardOff;
  const on = observations.variants.guardOn;
  let effect: GuardEffect[] | null = null;
  if (off !== undefined && on !== undefined) {
    const points = [input.operatingThreshold, variants.guardOff?.best?.threshold, variants.guardOn?.best?.threshold].filter(
      (t, i, all): t is number => t !== undefined && all.indexOf(t) === i,
    );
    effect = points.map((t) => guardEffect(off, on, t));
  }
  const nearCategories: Record<string, number> = {};
  for (const near of dataset.nears) nearCategories[categoryOf(near)] = (nearCategories[categoryOf(near)] ?? 0) + 1;

  const names = Object.keys(observations.variants) as VariantName[];
  const first = observations.variants[names[0]!]!;
  const lookups: LookupRecord[] = first.map((o, i) => {
    const served: LookupRecord["served"] = {};
    for (const name of names) {
      const s = observations.variants[name]![i]!.served;
      served[name] = s === undefined ? null : { intent: s.intent, similarity: round(s.similarity) };
    }
    const rejected = on?.[i]?.rejected;
    return {
      line: o.line.line,
      role: o.line.role,
      intent: o.line.intent,
      ...(o.line.role === "near" ? { category: categoryOf(o.line) } : {}),
      prompt: o.line.prompt,
      best: round(o.bestSimilarity),
      served,
      ...(rejected === undefined ? {} : { guardRejected: { ...rejected, similarity: round(rejected.similarity) } }),
    };
  });
  return {
    name: input.name,
    createdAt: new Date().toISOString(),
    data: {
      path: input.dataPath,
      sha256: input.dataSha256,
      seeds: dataset.seeds.length,
      paras: dataset.paras.length,
      nears: dataset.nears.length,
      nearCategories,
    },
    model: observations.modelId,
    target: observations.target,
    searchK: observations.searchK ?? null,
    guardChecks: observations.guardChecks === undefined ? null : [...observations.guardChecks],
    serverGuardRejections: observations.serverGuardRejections ?? null,
    sweepRange: input.sweepRange,
    operatingThreshold: input.operatingThreshold,
    targetPrecision: input.targetPrecision,
    variants,
    guardEffect: effect,
    lookups,
    millis: observations.millis,
  };
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;
const pct = (n: number | null): string => (n === null ? "   n/a" : `${(n * 100).toFixed(1).padStart(5)}%`);

function row(m: Metrics): string {
  return `${pct(m.hitRate)}  ${pct(m.falseHitRate)}  ${pct(m.precision)}  ${String(m.falseHits).padStart(4)} (${m.falseHitsParas}p/${m.falseHitsNears}n)`;
}

/** The thresholds printed in the summary table: a few round ones plus the operating and calibrated ones. */
function summaryThresholds(report: EvalReport): number[] {
  const wanted = new Set([0.7, 0.75, 0.8, 0.85, 0.9, 0.95, report.operatingThreshold]);
  for (const v of Object.values(report.variants)) if (v?.best) wanted.add(v.best.threshold);
  return [...wanted].sort((a, b) => a - b);
}

/** A few lines for the terminal. */
export function summaryText(report: EvalReport): string {
  const names = Object.keys(report.variants) as VariantName[];
  const lines: string[] = [];
  lines.push(
    `eval ${report.name}: ${report.data.paras} paras + ${report.data.nears} nears against ${report.data.seeds} seeds · model ${report.model} · ${report.target}` +
      (report.searchK === null ? "" : `, k=${report.searchK}`) +
      (report.guardChecks === null ? "" : ` · guard checks: ${report.guardChecks.join(",")}`),
  );
  const header = names.map((n) => `${VARIANT_LABELS[n].padEnd(42)}`).join(" | ");
  lines.push(`threshold | ${header}`);
  lines.push(`          | ${names.map(() => "hit rate  false-hit  precision  false hits".padEnd(42)).join(" | ")}`);
  for (const t of summaryThresholds(report)) {
    const cells = names.map((n) => {
      const v = report.variants[n]!;
      const m = v.sweep.find((s) => Math.abs(s.threshold - t) < 1e-9) ?? v.atOperating;
      return row(m).padEnd(42);
    });
    const tags = names
      .map((n) => (report.variants[n]!.best?.threshold === t ? `best ${VARIANT_LABELS[n]}` : ""))
      .filter((s) => s !== "")
      .concat(t === report.operatingThreshold ? ["operating"] : []);
    lines.push(`   ${t.toFixed(2)}   | ${cells.join(" | ")}${tags.length > 0 ? `  ← ${tags.join(", ")}` : ""}`);
  }
  for (const n of names) {
    const v = report.variants[n]!;
    if (v.best !== null) {
      lines.push(
        `${v.label}: threshold for precision ≥ ${report.targetPrecision}: ${v.best.threshold.toFixed(2)} ` +
          `(hit rate ${pct(v.best.hitRate).trim()}, false-hit rate ${pct(v.best.falseHitRate).trim()}, precision ${pct(v.best.precision).trim()})`,
      );
    } else {
      const h = v.highestPrecision;
      lines.push(
        `${v.label}: no threshold in the sweep reaches precision ${report.targetPrecision}` +
          (h === null ? "" : ` (highest: ${pct(h.precision).trim()} at ${h.threshold.toFixed(2)})`),
      );
    }
  }
  for (const e of report.guardEffect ?? []) {
    const cats = Object.entries(e.falseHitsByCategory)
      .filter(([, [a, b]]) => a > 0 || b > 0)
      .map(([c, [a, b]]) => `${c} ${a}→${b}`)
      .join(", ");
    lines.push(
      `guard at ${e.threshold.toFixed(2)}: false hits ${e.falseHits[0]}→${e.falseHits[1]} (paras ${e.falseHitsParas[0]}→${e.falseHitsParas[1]}, ` +
        `nears ${e.falseHitsNears[0]}→${e.falseHitsNears[1]}), hit rate ${pct(e.hitRate[0]).trim()}→${pct(e.hitRate[1]).trim()}, ` +
        `precision ${pct(e.precision[0]).trim()}→${pct(e.precision[1]).trim()}; near false hits by category: ${cats || "none"}`,
    );
  }
  if (report.serverGuardRejections !== null) {
    lines.push(`server guard rejections during the run: ${report.serverGuardRejections} (0: its guard is off, or never fired)`);
  }
  return lines.join("\n");
}
