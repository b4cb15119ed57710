/**
 * The hard-negative guard: a cheap check, run on each semantic candidate
 * before it is served, that rejects matches whose prompts differ in what
 * sentence embeddings blur: numbers and units, negation and opposites, named
 * entities, direction ("from A to B" vs "from B to A"), and the language or
 * form the answer is asked in.
 *
 *   const guard = createMatchGuard();          // every check
 *   guard("walk 5 miles", "walk 50 miles");    // false: rejected
 *
 * Pure functions of the two (normalised) prompts; the analysis of recently
 * seen prompts is memoised, since one lookup checks the same query against
 * several candidates.
 */
import type { MatchGuard } from "../semantic-cache.js";
import { analyzePrompt, type PromptFeatures } from "./analyze.js";
import { CHECKS, GUARD_CHECKS, type GuardCheck } from "./checks.js";

export { analyzePrompt, type PromptFeatures, type Quantity } from "./analyze.js";
export { ALIGNED_OVERLAP, GUARD_CHECKS, SHORT_PROMPT_WORDS, overlap, type GuardCheck } from "./checks.js";

/** Why the guard rejects a pair of prompts. */
export interface GuardRejection {
  readonly check: GuardCheck;
  readonly reason: string;
}

const MEMO_ENTRIES = 512;
// Total prompt characters the memo may hold (long prompts are the costly ones to analyse again).
const MEMO_CHARS = 1 << 20;

/** A small least-recently-used memo of prompt analyses, bounded in entries and in characters. */
class AnalysisMemo {
  private readonly entries = new Map<string, PromptFeatures>();
  private chars = 0;

  get(prompt: string): PromptFeatures {
    const hit = this.entries.get(prompt);
    if (hit !== undefined) {
      this.entries.delete(prompt);
      this.entries.set(prompt, hit);
      return hit;
    }
    const features = analyzePrompt(prompt);
    if (prompt.length <= MEMO_CHARS / 8) {
      this.entries.set(prompt, features);
      this.chars += prompt.length;
      while (this.entries.size > MEMO_ENTRIES || this.chars > MEMO_CHARS) {
        const oldest = this.entries.keys().next().value!;
        this.entries.delete(oldest);
        this.chars -= oldest.length;
      }
    }
    return features;
  }
}

/** The first check (in {@link GUARD_CHECKS} order) that finds the two prompts asking different things. */
export function explainMismatch(
  queryPrompt: string | PromptFeatures,
  storedPrompt: string | PromptFeatures,
  checks: readonly GuardCheck[] = GUARD_CHECKS,
): GuardRejection | undefined {
  const a = typeof queryPrompt === "string" ? analyzePrompt(queryPrompt) : queryPrompt;
  const b = typeof storedPrompt === "string" ? analyzePrompt(storedPrompt) : storedPrompt;
  for (const check of GUARD_CHECKS) {
    if (!checks.includes(check)) continue;
    const reason = CHECKS[check](a, b);
    if (reason !== undefined) return { check, reason };
  }
  return undefined;
}

/**
 * A {@link MatchGuard} running the given checks (default: all): true lets
 * the match be served, false rejects it.
 */
export function createMatchGuard(checks: readonly GuardCheck[] = GUARD_CHECKS): MatchGuard {
  const enabled = GUARD_CHECKS.filter((c) => checks.includes(c));
  const memo = new AnalysisMemo();
  return (queryPrompt, storedPrompt) => {
    if (queryPrompt === storedPrompt) return true;
    return explainMismatch(memo.get(queryPrompt), memo.get(storedPrompt), enabled) === undefined;
  };
}

/**
 * Parses SEMCACHE_GUARD: `on` (every check), `off`, or a comma-separated
 * list of checks. Returns the canonical form: "on", "off", or the checks in
 * their fixed order.
 */
export function parseGuardSetting(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (["on", "true", "1", "yes", "all"].includes(value)) return "on";
  if (["off", "false", "0", "no", "none"].includes(value)) return "off";
  const parts = value.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const unknown = parts.filter((p) => !(GUARD_CHECKS as readonly string[]).includes(p));
  if (parts.length === 0 || unknown.length > 0) {
    throw new Error(`must be on, off, or a comma-separated list of checks from ${GUARD_CHECKS.join(", ")}`);
  }
  const chosen = GUARD_CHECKS.filter((c) => parts.includes(c));
  return chosen.length === GUARD_CHECKS.length ? "on" : chosen.join(",");
}

/** The checks a (parsed) SEMCACHE_GUARD value turns on; empty for "off". */
export function guardChecksOf(setting: string): GuardCheck[] {
  const canonical = parseGuardSetting(setting);
  if (canonical === "on") return [...GUARD_CHECKS];
  if (canonical === "off") return [];
  return canonical.split(",") as GuardCheck[];
}

/** The guard a SEMCACHE_GUARD value asks for, or undefined when it is off. */
export function guardFromSetting(setting: string): MatchGuard | undefined {
  const checks = guardChecksOf(setting);
  return checks.length === 0 ? undefined : createMatchGuard(checks);
}
