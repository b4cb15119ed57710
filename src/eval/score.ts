/**
 * Scoring of an intents evaluation, threshold by threshold, from one lookup
 * per prompt made at a threshold as low as the API allows.
 *
 * Why one lookup is enough: a lookup walks its k nearest candidates, best
 * first, stops at the first one below the threshold, skips the ones the
 * guard rejects, and serves the first one left. So at threshold t it serves
 * the first guard-accepted candidate if that candidate's similarity is at
 * least t, and nothing otherwise; the very-low-threshold lookup returns
 * exactly that candidate (or nothing, when the guard rejected all k). The
 * same holds without a guard, where that candidate is simply the nearest.
 */
import { meetsThreshold } from "../store/similarity.js";
import { categoryOf, NOTE_CATEGORIES, type IntentLine } from "./dataset.js";

/** What one lookup of a para or near line served, at the lowest threshold. */
export interface Observation {
  readonly line: IntentLine;
  /** The served entry's intent (its stored response) and similarity; undefined when nothing was served. */
  readonly served?: { readonly intent: string; readonly similarity: number; readonly kind: "exact" | "semantic" };
  /** Best similarity seen, served or not. */
  readonly bestSimilarity: number;
}

/** The scores at one threshold. */
export interface Metrics {
  readonly threshold: number;
  readonly paras: number;
  readonly nears: number;
  /** Paras served their own intent. */
  readonly correctHits: number;
  /** Paras served another intent, plus nears served anything. */
  readonly falseHits: number;
  readonly falseHitsParas: number;
  readonly falseHitsNears: number;
  /** Near false hits by the category of the near's note. */
  readonly falseHitsByCategory: Readonly<Record<string, number>>;
  /** Paras served nothing. */
  readonly paraMisses: number;
  /** correct hits / paras. */
  readonly hitRate: number;
  /** false hits / (paras + nears). */
  readonly falseHitRate: number;
  /** correct hits / all hits; null when nothing was served. */
  readonly precision: number | null;
}

/** Whether an observation is a hit at `threshold`. */
export function servedAt(observation: Observation, threshold: number): boolean {
  const served = observation.served;
  if (served === undefined) return false;
  return served.kind === "exact" || meetsThreshold(served.similarity, threshold);
}

/** Scores the observations at one threshold, following the intents file's rules. */
export function scoreAt(observations: readonly Observation[], threshold: number): Metrics {
  let paras = 0;
  let nears = 0;
  let correctHits = 0;
  let falseHitsParas = 0;
  let falseHitsNears = 0;
  let paraMisses = 0;
  const byCategory: Record<string, number> = Object.fromEntries(NOTE_CATEGORIES.map((c) => [c, 0]));
  for (const o of observations) {
    const hit = servedAt(o, threshold);
    if (o.line.role === "para") {
      paras++;
      if (!hit) paraMisses++;
      else if (o.served?.intent === o.line.intent) correctHits++;
      else falseHitsParas++;
    } else if (o.line.role === "near") {
      nears++;
      if (hit) {
        falseHitsNears++;
        const category = categoryOf(o.line);
        byCategory[category] = (byCategory[category] ?? 0) + 1;
      }
    }
  }
  const falseHits = falseHitsParas + falseHitsNears;
  const hits = correctHits + falseHits;
  return {
    threshold,
    paras,
    nears,
    correctHits,
    falseHits,
    falseHitsParas,
    falseHitsNears,
    falseHitsByCategory: byCategory,
    paraMisses,
    hitRate: paras === 0 ? 0 : correctHits / paras,
    falseHitRate: paras + nears === 0 ? 0 : falseHits / (paras + nears),
    precision: hits === 0 ? null : correctHits / hits,
  };
}

/** A threshold sweep: from, to (inclusive) and step. */
export interface SweepRange {
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

/** The default sweep, 0.50 to 0.99 by 0.01. */
export const DEFAULT_SWEEP: SweepRange = { from: 0.5, to: 0.99, step: 0.01 };

/** The thresholds of a sweep, rounded so that 0.1 + 0.2 style drift never shows. */
export function thresholdsOf(range: SweepRange): number[] {
  const { from, to, step } = range;
  if (!(step > 0) || !(from > 0) || !(to <= 1) || from > to) {
    throw new RangeError(`a sweep needs 0 < from <= to <= 1 and step > 0 (got ${from}:${to}:${step})`);
  }
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => Math.round((from + i * step) * 1e6) / 1e6);
}

/** Parses "from:to:step" (e.g. "0.5:0.99:0.01"). */
export function parseSweep(text: string): SweepRange {
  const parts = text.split(":").map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) {
    throw new RangeError(`--sweep must be from:to:step, such as 0.5:0.99:0.01 (got ${JSON.stringify(text)})`);
  }
  const [from, to, step] = parts as [number, number, number];
  thresholdsOf({ from, to, step });
  return { from, to, step };
}

/** Scores at every threshold. */
export function sweep(observations: readonly Observation[], thresholds: readonly number[]): Metrics[] {
  return thresholds.map((t) => scoreAt(observations, t));
}

/**
 * The threshold to set for a target precision: among the thresholds whose
 * precision reaches the target (with at least one hit), the one with the
 * highest hit rate; ties go to fewer false hits, then to the higher
 * (safer) threshold. Undefined when none reaches it.
 */
export function bestThreshold(metrics: readonly Metrics[], targetPrecision: number): Metrics | undefined {
  let best: Metrics | undefined;
  for (const m of metrics) {
    if (m.precision === null || m.precision + 1e-12 < targetPrecision) continue;
    if (
      best === undefined ||
      m.correctHits > best.correctHits ||
      (m.correctHits === best.correctHits && (m.falseHits < best.falseHits || (m.falseHits === best.falseHits && m.threshold > best.threshold)))
    ) {
      best = m;
    }
  }
  return best;
}

/** The highest precision any threshold reaches, and where (for "no threshold reaches it" messages). */
export function highestPrecision(metrics: readonly Metrics[]): Metrics | undefined {
  let best: Metrics | undefined;
  for (const m of metrics) {
    if (m.precision === null) continue;
    if (best === undefined || m.precision > best.precision! || (m.precision === best.precision && m.correctHits > best.correctHits)) best = m;
  }
  return best;
}
