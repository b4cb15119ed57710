/**
 * The guard's checks. Each compares two prompts' features and returns why
 * they ask different things, or undefined when it sees no difference.
 */
import type { PromptFeatures, Quantity } from "./analyze.js";
import { stem } from "./analyze.js";

/** The names of the checks, in the order they run. */
export const GUARD_CHECKS = ["numbers", "negation", "antonyms", "entities", "direction", "language", "instruction"] as const;

/** One of {@link GUARD_CHECKS}. */
export type GuardCheck = (typeof GUARD_CHECKS)[number];

/**
 * The checks `SEMCACHE_GUARD=on` (the default) runs: each that, on prompts
 * it was not written for (eval/data/heldout-intents.jsonl, scored by
 * `npm run eval -- --rules`), prevented at least as many wrong answers as
 * it cost paraphrase hits at the default threshold. `negation` did not: it
 * rejected "is it safe to mix bleach and ammonia" for "Why shouldn't you mix
 * bleach and ammonia?" and prevented nothing, so it runs only when asked for
 * (`all`, or by name).
 */
export const DEFAULT_GUARD_CHECKS: readonly GuardCheck[] = GUARD_CHECKS.filter((check) => check !== "negation");

/** A check: a reason when the two prompts ask different things. */
export type Check = (a: PromptFeatures, b: PromptFeatures) => string | undefined;

/**
 * Prompts at most this many words long are short: a number present in one
 * and absent from the other is a difference ("train for a 5K" vs "train for a
 * marathon"). Longer prompts tell stories full of incidental numbers.
 */
export const SHORT_PROMPT_WORDS = 25;

/**
 * Share of content words (Jaccard) from which two prompts are "the same
 * sentence with an edit": only then is a negation or an opposite word on one
 * side the point of the edit rather than a paraphrase's rewording.
 */
export const ALIGNED_OVERLAP = 0.5;

/** Jaccard overlap of the prompts' content words, leaving out `ignore` (the words a check found different). */
export function overlap(a: PromptFeatures, b: PromptFeatures, ignore: ReadonlySet<string> = new Set()): number {
  let shared = 0;
  let sizeA = 0;
  let sizeB = 0;
  for (const w of a.content) {
    if (ignore.has(w)) continue;
    sizeA++;
    if (b.content.has(w)) shared++;
  }
  for (const w of b.content) if (!ignore.has(w)) sizeB++;
  const union = sizeA + sizeB - shared;
  return union === 0 ? 1 : shared / union;
}

/** Equal values with compatible units: the same unit, or a unit on one side only. 5K is 5 km or 5000. */
function sameQuantity(x: Quantity, y: Quantity): boolean {
  const equal = (p: number, q: number): boolean => Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p));
  if (x.unit === "k" || y.unit === "k") {
    const [k, other] = x.unit === "k" ? [x, y] : [y, x];
    if (other.unit === "k") return equal(k.value, other.value);
    return (equal(k.value, other.value) && (other.unit === "km" || other.unit === "")) || (equal(k.value * 1000, other.value) && other.unit === "");
  }
  return equal(x.value, y.value) && (x.unit === y.unit || x.unit === "" || y.unit === "");
}

function unmatched(xs: readonly Quantity[], ys: readonly Quantity[]): Quantity[] {
  return xs.filter((x) => !ys.some((y) => sameQuantity(x, y)));
}

const show = (qs: readonly Quantity[]): string => qs.map((q) => q.text).join(", ");

/**
 * Numbers, units and letter-digit identifiers: "5 miles" vs "50 miles", "5
 * km" vs "5 miles", E0502 vs E0499, "x²" vs "x³", "½" vs "¾", "£5" vs "¥5";
 * and comparisons: "7 > 5" vs "7 < 5".
 */
export const numbersCheck: Check = (a, b) => {
  const onlyA = unmatched(a.quantities, b.quantities);
  const onlyB = unmatched(b.quantities, a.quantities);
  if (onlyA.length > 0 && onlyB.length > 0) return `different numbers: ${show(onlyA)} vs ${show(onlyB)}`;
  const short = a.length <= SHORT_PROMPT_WORDS && b.length <= SHORT_PROMPT_WORDS;
  if (short && (a.quantities.length === 0) !== (b.quantities.length === 0)) {
    const shared = overlap(a, b);
    if (shared >= ALIGNED_OVERLAP) {
      return `a number on one side only: ${show(a.quantities.length > 0 ? a.quantities : b.quantities)} (content overlap ${shared.toFixed(2)})`;
    }
  }
  const idsA = [...a.identifiers].filter((id) => !b.identifiers.has(id));
  const idsB = [...b.identifiers].filter((id) => !a.identifiers.has(id));
  if (idsA.length > 0 && idsB.length > 0) return `different identifiers: ${idsA.join(", ")} vs ${idsB.join(", ")}`;
  const relations = differsBothWays(a.comparisons, b.comparisons);
  if (relations !== undefined) return `different comparisons: ${relations}`;
  return undefined;
};

/** Members of each set the other lacks, when both sides have some: "5<7 vs 7<5". */
function differsBothWays(a: ReadonlySet<string>, b: ReadonlySet<string>): string | undefined {
  const onlyA = [...a].filter((x) => !b.has(x));
  const onlyB = [...b].filter((x) => !a.has(x));
  return onlyA.length > 0 && onlyB.length > 0 ? `${onlyA.join(", ")} vs ${onlyB.join(", ")}` : undefined;
}

/**
 * A negation on one side of two otherwise aligned prompts, negating a word
 * the other side says plainly: "can I *use*" vs "can't I *use*", "with
 * *sugar*" vs "without *sugar*".
 */
export const negationCheck: Check = (a, b) => {
  if ((a.negations > 0) === (b.negations > 0)) return undefined;
  const [negative, positive] = a.negations > 0 ? [a, b] : [b, a];
  const word = [...negative.negated].find((w) => positive.content.has(w));
  if (word === undefined) return undefined;
  const shared = overlap(a, b);
  if (shared < ALIGNED_OVERLAP) return undefined;
  return `"${word}" negated on one side only (content overlap ${shared.toFixed(2)})`;
};

/** Opposite words, one on each side: "enable" vs "disable", "before" vs "after". */
export const antonymsCheck: Check = (a, b) => {
  for (const [pair, [aLeft, aRight]] of a.opposites) {
    const [bLeft, bRight] = b.opposites.get(pair) ?? [undefined, undefined];
    let found: [string, string] | undefined;
    if (aLeft !== undefined && aRight === undefined && bRight !== undefined && bLeft === undefined) found = [aLeft, bRight];
    else if (aRight !== undefined && aLeft === undefined && bLeft !== undefined && bRight === undefined) found = [aRight, bLeft];
    if (found === undefined) continue;
    const shared = overlap(a, b, new Set(found.flatMap((w) => w.split(" ")).map(stem)));
    if (shared >= ALIGNED_OVERLAP) return `opposites: ${found[0]} vs ${found[1]} (content overlap ${shared.toFixed(2)})`;
  }
  return undefined;
};

function entityMatched(entity: string, other: PromptFeatures): boolean {
  return (
    other.entities.has(entity) ||
    other.vocabulary.has(entity) ||
    other.vocabulary.has(stem(entity)) ||
    (entity.length >= 2 && other.initials.some((run) => run.includes(entity)))
  );
}

/** A named entity swapped for another: "Jupiter" vs "Saturn", "in Go" vs "in Rust", "Excel" vs "Google Sheets". */
export const entitiesCheck: Check = (a, b) => {
  const onlyA = [...a.entities].filter((e) => !entityMatched(e, b));
  const onlyB = [...b.entities].filter((e) => !entityMatched(e, a));
  if (onlyA.length === 0 || onlyB.length === 0) return undefined;
  // Only a swap inside the same sentence: a paraphrase may name things differently, and say other things too.
  const shared = overlap(a, b, new Set([...onlyA, ...onlyB]));
  if (shared < ALIGNED_OVERLAP) return undefined;
  return `different entities: ${onlyA.join(", ")} vs ${onlyB.join(", ")} (content overlap ${shared.toFixed(2)})`;
};

/**
 * The same two things in the opposite order: "from Boston to Denver" vs
 * "from Denver to Boston", "string to int" vs "int to string"; or different
 * arrows: "price ↑" vs "price ↓".
 */
export const directionCheck: Check = (a, b) => {
  const arrows = differsBothWays(a.arrows, b.arrows);
  if (arrows !== undefined) return `different arrows: ${arrows}`;
  const has = (pairs: readonly (readonly [string, string])[], x: string, y: string): boolean => pairs.some(([p, q]) => p === x && q === y);
  for (const [x, y] of a.directions) {
    if (has(b.directions, y, x) && !has(b.directions, x, y) && !has(a.directions, y, x)) return `swapped direction: ${x} → ${y} vs ${y} → ${x}`;
  }
  return undefined;
};

/** A different language or form of answer: written in Spanish, "answer in French", "as a limerick". */
export const languageCheck: Check = (a, b) => {
  if (a.writtenIn !== undefined && b.writtenIn !== undefined && a.writtenIn !== b.writtenIn) {
    return `written in different languages: ${a.writtenIn} vs ${b.writtenIn}`;
  }
  const differs = (x: ReadonlySet<string>, y: ReadonlySet<string>): string | undefined => {
    const diff = [...x].filter((v) => !y.has(v)).concat([...y].filter((v) => !x.has(v)));
    return diff.length > 0 ? diff.join(", ") : undefined;
  };
  const language = differs(a.answerLanguages, b.answerLanguages);
  if (language !== undefined) return `answer asked in a different language: ${language}`;
  const format = differs(a.answerFormats, b.answerFormats);
  if (format !== undefined) return `answer asked in a different form: ${format}`;
  return undefined;
};

/**
 * Share of content words from which two long prompts are "the same text":
 * only then is a different instruction around it the point of the edit,
 * rather than one part of a reworded whole.
 */
export const SAME_TEXT_OVERLAP = 0.8;

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/** The same word, crudely: equal stems, or the first five letters alike ("summarize" / "summary" / "summarise"). */
function sameLead(x: string | undefined, y: string | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return x === y || (x.length >= 5 && y.length >= 5 && x.slice(0, 5) === y.slice(0, 5));
}

/**
 * A different opening or closing instruction around the same long text:
 * a document followed by "Delete all the data described above." or by
 * "Summarize the document above." Their embeddings are all but equal (the
 * instruction is a few words in a thousand), so the instructions are
 * compared on their own: they must lead with the same word (the verb of an
 * imperative, the subject of a question) and share at least
 * {@link ALIGNED_OVERLAP} of their content words. "Summarize the document
 * above." and "Give me a summary of the document above." do.
 */
export const instructionCheck: Check = (a, b) => {
  if (a.head === undefined && a.tail === undefined) return undefined;
  if (jaccard(a.body, b.body) < SAME_TEXT_OVERLAP) return undefined;
  for (const [where, x, y] of [["opening", a.head, b.head], ["closing", a.tail, b.tail]] as const) {
    if (x === undefined || y === undefined || x.phrase === y.phrase) continue;
    const shared = overlap(x, y);
    const [leadX] = x.content;
    const [leadY] = y.content;
    if (shared < ALIGNED_OVERLAP || !sameLead(leadX, leadY)) {
      return `different ${where} instruction: "${x.words.join(" ")}" vs "${y.words.join(" ")}" (content overlap ${shared.toFixed(2)})`;
    }
  }
  return undefined;
};

/** Every check by name. */
export const CHECKS: Readonly<Record<GuardCheck, Check>> = {
  numbers: numbersCheck,
  negation: negationCheck,
  antonyms: antonymsCheck,
  entities: entitiesCheck,
  direction: directionCheck,
  language: languageCheck,
  instruction: instructionCheck,
};
