/**
 * What each hard-negative guard rule costs and buys, measured on an intents
 * file: every (para or near, seed) pair whose similarity reaches a floor is
 * a candidate match the guard may be asked about; a pair is *right* when a
 * para meets its own seed, *wrong* otherwise. A rule that rejects a right
 * pair costs a paraphrase hit (one LLM call); one that rejects a wrong pair
 * prevents a wrong answer. A rule that rejects more right pairs than wrong
 * ones, on prompts it was not written for, does more harm than good.
 *
 * Every pair above the floor counts, not only each prompt's nearest: the
 * guard is asked about each candidate a lookup walks, and under an error
 * budget about candidates at any similarity. Each rule is scored alone, and
 * by what it alone rejects when all the others are on (its share of the
 * guard's work that no other rule would do).
 */
import { CHECKS, GUARD_CHECKS, type GuardCheck } from "../cache/guard/checks.js";
import { analyzePrompt, type PromptFeatures } from "../cache/guard/analyze.js";
import { normalizePrompt } from "../cache/normalize.js";
import { meetsThreshold } from "../store/similarity.js";
import { cosineSimilarity } from "../embedder/pooling.js";
import type { Dataset, IntentLine } from "./dataset.js";

/** One rule's counts at one floor. */
export interface RuleScore {
  readonly rule: GuardCheck;
  /** Right pairs (a para and its own seed) the rule rejects: paraphrase hits it costs. */
  readonly rejectsRight: number;
  /** Wrong pairs the rule rejects: wrong answers it prevents. */
  readonly rejectsWrong: number;
  /** Right pairs only this rule rejects among all of them. */
  readonly onlyRight: number;
  /** Wrong pairs only this rule rejects among all of them. */
  readonly onlyWrong: number;
  /** Whether it prevents at least as many wrong answers as it costs paraphrase hits. */
  readonly worthIt: boolean;
}

/** The rules' scores over the pairs at or above one similarity floor. */
export interface FloorScores {
  readonly floor: number;
  readonly rightPairs: number;
  readonly wrongPairs: number;
  readonly rules: readonly RuleScore[];
}

/** Embeds prompts (already normalised), in order. */
export type EmbedAll = (prompts: readonly string[]) => Promise<readonly Float32Array[]>;

interface Pair {
  readonly right: boolean;
  readonly similarity: number;
  /** The rules that reject this pair. */
  readonly rejectedBy: ReadonlySet<GuardCheck>;
}

/**
 * Scores every guard rule on `dataset` at each floor.
 *
 * @param embed the embedder the cache would use (the guard judges pairs the embedder calls similar)
 */
export async function scoreGuardRules(dataset: Dataset, embed: EmbedAll, floors: readonly number[]): Promise<FloorScores[]> {
  const lowest = Math.min(...floors);
  const queries: readonly IntentLine[] = [...dataset.paras, ...dataset.nears];
  const seedTexts = dataset.seeds.map((line) => normalizePrompt(line.prompt));
  const queryTexts = queries.map((line) => normalizePrompt(line.prompt));
  const vectors = await embed([...seedTexts, ...queryTexts]);
  const seedVectors = vectors.slice(0, seedTexts.length);
  const queryVectors = vectors.slice(seedTexts.length);
  const features = new Map<string, PromptFeatures>();
  const featuresOf = (text: string): PromptFeatures => {
    const known = features.get(text);
    if (known !== undefined) return known;
    const analysed = analyzePrompt(text);
    features.set(text, analysed);
    return analysed;
  };

  const pairs: Pair[] = [];
  queries.forEach((query, q) => {
    dataset.seeds.forEach((seed, s) => {
      const similarity = cosineSimilarity(queryVectors[q]!, seedVectors[s]!);
      if (!meetsThreshold(similarity, lowest)) return;
      const stored = featuresOf(seedTexts[s]!);
      const asked = featuresOf(queryTexts[q]!);
      const rejectedBy = new Set(GUARD_CHECKS.filter((rule) => CHECKS[rule](asked, stored) !== undefined));
      pairs.push({ right: query.role === "para" && query.intent === seed.intent, similarity, rejectedBy });
    });
  });

  return floors.map((floor) => {
    const above = pairs.filter((p) => meetsThreshold(p.similarity, floor));
    const rules = GUARD_CHECKS.map((rule): RuleScore => {
      const count = (right: boolean, only: boolean): number =>
        above.filter((p) => p.right === right && p.rejectedBy.has(rule) && (!only || p.rejectedBy.size === 1)).length;
      const rejectsRight = count(true, false);
      const rejectsWrong = count(false, false);
      return { rule, rejectsRight, rejectsWrong, onlyRight: count(true, true), onlyWrong: count(false, true), worthIt: rejectsWrong >= rejectsRight };
    });
    return { floor, rightPairs: above.filter((p) => p.right).length, wrongPairs: above.filter((p) => !p.right).length, rules };
  });
}

/** The scores as a Markdown table per floor. */
export function guardRulesMarkdown(name: string, scores: readonly FloorScores[]): string {
  const lines = [`Guard rules on ${name}: each rule alone, on every (para or near, seed) pair at or above the floor`, ""];
  for (const s of scores) {
    lines.push(`Floor ${s.floor.toFixed(2)}: ${s.rightPairs} right pairs (a para and its seed), ${s.wrongPairs} wrong pairs`, "");
    lines.push("| Rule | Paraphrase hits lost | Wrong answers prevented | Only this rule: lost / prevented | Verdict |", "|---|---|---|---|---|");
    for (const r of s.rules) {
      lines.push(`| ${r.rule} | ${r.rejectsRight} | ${r.rejectsWrong} | ${r.onlyRight} / ${r.onlyWrong} | ${r.worthIt ? "keep" : "costs more than it buys"} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
