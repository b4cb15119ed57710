/**
 * The hard-negative guard: a cheap check, run on each semantic candidate
 * before it is served, that rejects matches whose prompts differ in what
 * sentence embeddings blur: numbers and units, negation and opposites, named
 * entities, direction ("from A to B" vs "from B to A"), the language or
 * form the answer is asked in, and the instruction around a long document.
 *
 * Before those checks, always (even with SEMCACHE_GUARD=off), the identity
 * rule: prompts that differ only in what the embedder cannot see (accents,
 * symbols it reads as unknown, white space; see ../indistinguishable.ts)
 * are never served on similarity alone. It is not a heuristic that trades
 * hit rate for precision: for such a pair the similarity carries no
 * evidence at all, so switching it off could only serve answers to prompts
 * nobody asked.
 *
 *   const guard = createMatchGuard(GUARD_CHECKS, embedder);
 *   guard("walk 5 miles", "walk 50 miles");    // false: rejected
 *
 * Pure functions of the two (normalised) prompts; the analysis of recently
 * seen prompts is memoised, since one lookup checks the same query against
 * several candidates.
 */
import { invisibleDifference, viewText, type TextView, type WordPieces } from "../indistinguishable.js";
import type { MatchGuard } from "../semantic-cache.js";
import { analyzePrompt, type PromptFeatures } from "./analyze.js";
import { CHECKS, DEFAULT_GUARD_CHECKS, GUARD_CHECKS, type GuardCheck } from "./checks.js";

export { analyzePrompt, type PromptFeatures, type Quantity } from "./analyze.js";
export { ALIGNED_OVERLAP, DEFAULT_GUARD_CHECKS, GUARD_CHECKS, SHORT_PROMPT_WORDS, overlap, type GuardCheck } from "./checks.js";
export type { WordPieces } from "../indistinguishable.js";

/** Whatever knows the model's tokens: the embedder (Embedder.wordPieces), or nothing. */
export interface TokenSource {
  wordPieces?(text: string): readonly string[];
}

function piecesOf(model: TokenSource | undefined): WordPieces | undefined {
  return model?.wordPieces === undefined ? undefined : (text) => model.wordPieces!(text);
}

/** The name of the always-on identity rule in a {@link GuardRejection}. */
export const IDENTITY_RULE = "indistinguishable";

/** Why the guard rejects a pair of prompts. */
export interface GuardRejection {
  readonly check: GuardCheck | typeof IDENTITY_RULE;
  readonly reason: string;
}

const MEMO_ENTRIES = 512;
// Total prompt characters the memo may hold (long prompts are the costly ones to analyse again).
const MEMO_CHARS = 1 << 20;

/** What the guard reads of one prompt: its view for the identity rule, and its features once a check needs them. */
class Analysis {
  private features: PromptFeatures | undefined;
  readonly view: TextView;
  constructor(readonly prompt: string) {
    this.view = viewText(prompt);
  }
  get checked(): PromptFeatures {
    this.features ??= analyzePrompt(this.prompt);
    return this.features;
  }
}

/** A small least-recently-used memo of prompt analyses, bounded in entries and in characters. */
class AnalysisMemo {
  private readonly entries = new Map<string, Analysis>();
  private chars = 0;

  get(prompt: string): Analysis {
    const hit = this.entries.get(prompt);
    if (hit !== undefined) {
      this.entries.delete(prompt);
      this.entries.set(prompt, hit);
      return hit;
    }
    const analysis = new Analysis(prompt);
    if (prompt.length <= MEMO_CHARS / 8) {
      this.entries.set(prompt, analysis);
      this.chars += prompt.length;
      while (this.entries.size > MEMO_ENTRIES || this.chars > MEMO_CHARS) {
        const oldest = this.entries.keys().next().value!;
        this.entries.delete(oldest);
        this.chars -= oldest.length;
      }
    }
    return analysis;
  }
}

/**
 * The identity rule alone: why two (normalised) prompts differ only in what
 * the model cannot see, or undefined. For callers that need the answer
 * without the heuristic checks (an uncertain match to verify rather than
 * serve).
 */
export function explainInvisibleDifference(queryPrompt: string, storedPrompt: string, model?: TokenSource): string | undefined {
  if (queryPrompt === storedPrompt) return undefined;
  return invisibleDifference(viewText(queryPrompt), viewText(storedPrompt), piecesOf(model));
}

/**
 * The first check (in {@link GUARD_CHECKS} order) that finds the two prompts
 * asking different things; given both prompts as text, the identity rule
 * runs first (reading them as `model`'s tokenizer does, when given).
 */
export function explainMismatch(
  queryPrompt: string | PromptFeatures,
  storedPrompt: string | PromptFeatures,
  checks: readonly GuardCheck[] = GUARD_CHECKS,
  model?: TokenSource,
): GuardRejection | undefined {
  if (typeof queryPrompt === "string" && typeof storedPrompt === "string") {
    const reason = explainInvisibleDifference(queryPrompt, storedPrompt, model);
    if (reason !== undefined) return { check: IDENTITY_RULE, reason };
  }
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
 * A {@link MatchGuard}: the identity rule (always), then the given checks
 * (default: all; none is allowed). True lets the match be served, false
 * rejects it. `model` (the embedder) lends its tokenizer to the identity
 * rule; without one the rule sees only white-space differences.
 */
export function createMatchGuard(checks: readonly GuardCheck[] = GUARD_CHECKS, model?: TokenSource): MatchGuard {
  const wordPieces = piecesOf(model);
  const enabled = GUARD_CHECKS.filter((c) => checks.includes(c));
  const memo = new AnalysisMemo();
  return (queryPrompt, storedPrompt) => {
    if (queryPrompt === storedPrompt) return true;
    const a = memo.get(queryPrompt);
    const b = memo.get(storedPrompt);
    if (invisibleDifference(a.view, b.view, wordPieces) !== undefined) return false;
    return enabled.length === 0 || explainMismatch(a.checked, b.checked, enabled) === undefined;
  };
}

/**
 * Parses SEMCACHE_GUARD: `on` ({@link DEFAULT_GUARD_CHECKS}), `all` (every
 * check), `off`, or a comma-separated list of checks. Returns the checks it turns on, in their fixed order
 * (empty for "off"); {@link guardSettingOf} writes them back as text.
 */
export function parseGuardSetting(raw: string): readonly GuardCheck[] {
  const value = raw.trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(value)) return DEFAULT_GUARD_CHECKS;
  if (value === "all") return GUARD_CHECKS;
  if (["off", "false", "0", "no", "none"].includes(value)) return [];
  const parts = value.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const unknown = parts.filter((p) => !(GUARD_CHECKS as readonly string[]).includes(p));
  if (parts.length === 0 || unknown.length > 0) {
    throw new Error(`must be on, off, all, or a comma-separated list of checks from ${GUARD_CHECKS.join(", ")}`);
  }
  return GUARD_CHECKS.filter((c) => parts.includes(c));
}

/** The canonical SEMCACHE_GUARD text of a set of checks: "on" (the default ones), "all", "off" (none), or the checks in their fixed order. */
export function guardSettingOf(checks: readonly GuardCheck[]): string {
  const chosen = GUARD_CHECKS.filter((c) => checks.includes(c));
  if (chosen.length === GUARD_CHECKS.length) return "all";
  if (chosen.length === DEFAULT_GUARD_CHECKS.length && chosen.every((c) => DEFAULT_GUARD_CHECKS.includes(c))) return "on";
  return chosen.length === 0 ? "off" : chosen.join(",");
}
