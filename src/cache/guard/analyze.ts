/**
 * What the hard-negative guard reads from a prompt: its words, the numbers
 * and identifiers in it, negations, named entities, "from X to Y"
 * directions, and the language and form the answer is asked in. Pure and
 * cheap: a few regular-expression passes over the text.
 */
import {
  ANTONYMS,
  FORMATS,
  HUMAN_LANGUAGES,
  IN_FORMATS,
  KNOWN_ENTITIES,
  LANGUAGE_MARKERS,
  NEGATIONS,
  NUMBER_SCALES,
  NUMBER_WORDS,
  STOPWORDS,
  UNITS,
} from "./lexicon.js";

/** A number with its unit ("" when none is given). */
export interface Quantity {
  readonly value: number;
  readonly unit: string;
  /** As written, for explanations. */
  readonly text: string;
}

/** One word of a prompt. */
interface Word {
  /** As written (apostrophes straightened). */
  readonly text: string;
  readonly lower: string;
  /** Index of its first character in the prompt. */
  readonly index: number;
  /** First word of a sentence (or of the prompt, or after a colon). */
  readonly initial: boolean;
}

/** The guard's view of one prompt. */
export interface PromptFeatures {
  /** Lower-cased words, in order. */
  readonly words: readonly string[];
  /** The lower-cased words joined by single spaces, with a space at each end (for phrase look-ups). */
  readonly phrase: string;
  /** Every lower-cased word and its stem. */
  readonly vocabulary: ReadonlySet<string>;
  /** Stems of the content words (neither function words nor negations). */
  readonly content: ReadonlySet<string>;
  /** Numbers (digits or spelled out), with units. */
  readonly quantities: readonly Quantity[];
  /**
   * Comparisons with a number on one side, canonical ("7 > 5" and "5 < 7"
   * are both "5<7"; operators: < ≤ = ≠), lower-cased.
   */
  readonly comparisons: ReadonlySet<string>;
  /** Arrows (↑ ↓ → ← ⇒ …), as written. */
  readonly arrows: ReadonlySet<string>;
  /** Tokens mixing letters and digits (E0502, B2, 3f2a1c9, 127.0.0.1), lower-cased. */
  readonly identifiers: ReadonlySet<string>;
  /** How many negating words the prompt has. */
  readonly negations: number;
  /** The stem of the first content word after each negation: what is negated ("can't *log* in", "without *sugar*"). */
  readonly negated: ReadonlySet<string>;
  /** Named entities: capitalised words inside a sentence, acronyms and known names, canonical and lower-cased. */
  readonly entities: ReadonlySet<string>;
  /** Initials of each run of capitalised words, for matching acronyms ("International Space Station" → "iss"). */
  readonly initials: readonly string[];
  /** (source, destination) pairs read from "X to Y", "X into Y" and "from X ... to Y". */
  readonly directions: readonly (readonly [string, string])[];
  /** The human languages the answer is asked in ("in Spanish"); English is never listed. */
  readonly answerLanguages: ReadonlySet<string>;
  /** The forms the answer is asked in ("as a limerick", "in a table"). */
  readonly answerFormats: ReadonlySet<string>;
  /** The language the prompt is written in, when its function words tell ("en", "es", ...). */
  readonly writtenIn: string | undefined;
  /** Number of words. */
  readonly length: number;
  /**
   * In a long prompt (at least {@link LONG_PROMPT_WORDS} words), its opening
   * and closing instruction, read on their own: the first and last paragraph
   * (or sentence) when short, else undefined. A document followed by
   * "Delete all the data described above." embeds almost exactly like the
   * same document followed by "Summarize…"; these parts let the guard see it.
   */
  readonly head: PromptFeatures | undefined;
  readonly tail: PromptFeatures | undefined;
  /** The stems of the content words between {@link head} and {@link tail}: the document itself. */
  readonly body: ReadonlySet<string>;
  /** For each pair of {@link ANTONYMS} the prompt uses: the form it uses of each side (index 0: left, 1: right). */
  readonly opposites: ReadonlyMap<number, readonly [string | undefined, string | undefined]>;
}

/** Every form of {@link ANTONYMS}: which pairs and sides it belongs to. */
const ANTONYM_FORMS: ReadonlyMap<string, readonly (readonly [number, 0 | 1])[]> = (() => {
  const index = new Map<string, [number, 0 | 1][]>();
  ANTONYMS.forEach(([left, right], pair) => {
    for (const [forms, side] of [[left, 0], [right, 1]] as const) {
      for (const form of forms) {
        const list = index.get(form) ?? [];
        list.push([pair, side]);
        index.set(form, list);
      }
    }
  });
  return index;
})();

/** The antonym pairs a prompt uses, from its words, their stems and its two-word phrases. */
function oppositesOf(lower: readonly string[]): Map<number, [string | undefined, string | undefined]> {
  const out = new Map<number, [string | undefined, string | undefined]>();
  const note = (form: string): void => {
    for (const [pair, side] of ANTONYM_FORMS.get(form) ?? []) {
      const sides = out.get(pair) ?? [undefined, undefined];
      sides[side] ??= form;
      out.set(pair, sides);
    }
  };
  lower.forEach((w, i) => {
    note(w);
    const root = stem(w);
    if (root !== w) note(root);
    if (i + 1 < lower.length) note(`${w} ${lower[i + 1]}`);
  });
  return out;
}

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}]+)*/gu;
// Number-like tokens: digits with separators, currency signs, glued units and identifiers.
const TOKEN = /\p{Sc}?[\p{L}\p{N}$]+(?:[.,][\p{N}]+)*(?:[%°][cf]?)?/gu;
const NUMBER = /^(\p{Sc}?)(\d+(?:,\d{3})*(?:\.\d+)?)([a-z%°]*)$/u;
const LEADING_CURRENCY = /^\p{Sc}/u;

const SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻";
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₊₋";
const PLAIN_SCRIPTS = "0123456789+-";
const SCRIPT_RUN = /[⁰¹²³⁴-⁹⁺⁻]+|[₀-₉₊₋]+/gu;
// Vulgar fractions (½ ⅓ ¾ …), with the whole number written before them ("1½").
const FRACTION = /(\d*)([\u00BC-\u00BE\u2150-\u215E\u2189])/gu;
// Digits of other scripts (٣, ५, full-width ５) and numbers such as ① that NFKC turns into digits.
const OTHER_DIGIT = /[\p{Nd}\p{No}]/gu;

/** The value of a decimal digit of any script: its distance from the zero of its run of ten. */
function digitValue(char: string): string | undefined {
  const code = char.codePointAt(0)!;
  let zero = code;
  while (code - zero < 9 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--;
  // Runs longer than ten (mathematical digits: five alphabets of ten in a row) restart every ten.
  return String((code - zero) % 10);
}

/**
 * Writes every number in ASCII so the checks can read it: digits of any
 * script as 0-9, superscripts as "^2" ("x²" → "x^2", "10⁻³" → "10^-3"),
 * subscripts as "_2", vulgar fractions as decimals ("1½" → "1.5", "¾" →
 * "0.75"), and anything NFKC makes digits of ("①" → "1").
 */
export function foldNumerals(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, control characters included, is what "plain ASCII" means here
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  return text
    .replace(SCRIPT_RUN, (run) => {
      const superscript = SUPERSCRIPTS.includes(run[0]!);
      const table = superscript ? SUPERSCRIPTS : SUBSCRIPTS;
      return (superscript ? "^" : "_") + [...run].map((c) => PLAIN_SCRIPTS[table.indexOf(c)]).join("");
    })
    .replace(FRACTION, (_, whole: string, fraction: string) => {
      const [numerator = "", denominator = ""] = fraction.normalize("NFKC").split("\u2044");
      const value = Number(whole === "" ? 0 : whole) + Number(numerator) / Number(denominator);
      return Number.isFinite(value) ? String(Math.round(value * 1e6) / 1e6) : whole + fraction;
    })
    .replace(OTHER_DIGIT, (char) => {
      if (/[0-9]/.test(char)) return char;
      if (/\p{Nd}/u.test(char)) return digitValue(char) ?? char;
      const folded = char.normalize("NFKC");
      return /^\d+$/.test(folded) ? folded : char;
    });
}

// A comparison operator with a number (or a word) on each side, one of them a number: "7 > 5", "x ≤ 10", "n != 0"
// (not a spreadsheet's "=B2/C2").
const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const COMPARISON = /([\p{L}\p{N}_.]+)\s*(<=|>=|!=|==|=|<|>|≤|≥|≠|⩽|⩾)\s*(-?[\p{L}\p{N}_.]+)/gu;
const OPERATORS: ReadonlyMap<string, string> = new Map([
  ["<", "<"], [">", ">"], ["<=", "≤"], ["≤", "≤"], ["⩽", "≤"], [">=", "≥"], ["≥", "≥"], ["⩾", "≥"],
  ["=", "="], ["==", "="], ["!=", "≠"], ["≠", "≠"],
]);

/** Comparisons between a number and something, canonical so the same statement written either way reads alike. */
function comparisonsOf(lower: string): Set<string> {
  const out = new Set<string>();
  for (const [, left = "", written = "", right = ""] of lower.matchAll(COMPARISON)) {
    if (!NUMERIC.test(left) && !NUMERIC.test(right)) continue;
    const op = OPERATORS.get(written)!;
    if (op === ">" || op === "≥") out.add(`${right}${op === ">" ? "<" : "≤"}${left}`);
    else if (op === "=" || op === "≠") out.add([left, right].sort().join(op));
    else out.add(`${left}${op}${right}`);
  }
  return out;
}

const POWER = /([\p{L}\p{N})]+)\s*([\^_])([-+]?\d+)/gu;
const ARROW = /[\u2190-\u21FF\u27F0-\u27FF\u2900-\u297F\u2B00-\u2B11\u2B60-\u2BFF]/gu;
const ORDINAL = /^(st|nd|rd|th)$/;

/** Crude English stemming, applied the same way to both prompts. */
export function stem(word: string): string {
  let w = word.replace(/'s$/, "");
  if (w.length > 4 && w.endsWith("ies")) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && /(?:ss|x|z|ch|sh)es$/.test(w)) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us") && !w.endsWith("is")) w = w.slice(0, -1);
  else if (w.length > 5 && w.endsWith("ing")) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith("ed")) w = w.slice(0, -2);
  // share / sharing / shared → shar.
  if (w.length > 3 && w.endsWith("e")) w = w.slice(0, -1);
  return w;
}

function isNegation(lower: string): boolean {
  return NEGATIONS.has(lower) || lower.endsWith("n't");
}

/**
 * A negating word, unless it is a capitalised name inside a sentence (Rust's
 * `None`, Haskell's `Nothing`) or opens a negative question ("Isn't Mercury
 * closer?" asks what "Is Mercury closer?" asks).
 */
function negates(word: Word): boolean {
  if (!isNegation(word.lower)) return false;
  if (word.initial) return !(word.lower.endsWith("n't") || /^[a-z]+nt$/.test(word.lower));
  return !/^\p{Lu}/u.test(word.text);
}

function splitWords(text: string): Word[] {
  const words: Word[] = [];
  for (const match of text.matchAll(WORD)) {
    const index = match.index;
    // Sentence-initial: nothing but quotes or brackets between it and the start or the last . ? ! : ; or bullet.
    let k = index - 1;
    while (k >= 0 && /[\s"'“”‘’`([{*_-]/u.test(text[k]!)) k--;
    const initial = k < 0 || /[.?!:;¿¡>|]/u.test(text[k]!);
    words.push({ text: match[0], lower: match[0].toLowerCase(), index, initial });
  }
  return words;
}

function unitOf(spelling: string | undefined): string | undefined {
  return spelling === undefined ? undefined : UNITS.get(spelling);
}

/** Index of the first word starting at or after `offset` (binary search; words.length when none). */
function firstWordFrom(words: readonly Word[], offset: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (words[mid]!.index < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Numbers written with digits, with their units, and tokens that mix letters and digits. */
function digitsAndIdentifiers(text: string, words: readonly Word[]): { quantities: Quantity[]; identifiers: Set<string> } {
  const quantities: Quantity[] = [];
  const identifiers = new Set<string>();
  const lower = text.toLowerCase();
  for (const match of lower.matchAll(TOKEN)) {
    const token = match[0];
    if (!/\d/.test(token)) continue;
    const parsed = NUMBER.exec(token);
    const dots = (token.match(/\./g) ?? []).length;
    if (parsed === null || dots > 1) {
      identifiers.add(token.replace(LEADING_CURRENCY, ""));
      // 2FA, 3D, 1080p: the number is part of what is said ("two-factor").
      const lead = /^(\d+)\p{L}+$/u.exec(token);
      if (lead !== null) quantities.push({ value: Number(lead[1]), unit: "", text: token });
      continue;
    }
    const [, currency = "", digits = "", suffix = ""] = parsed;
    let value = Number(digits.replaceAll(",", ""));
    let unit = "";
    if (suffix === "k") unit = "k"; // 5K: a race distance, or thousands; see sameQuantity
    else if (suffix === "s" && value >= 1000) unit = ""; // the 1990s
    else if (ORDINAL.test(suffix)) unit = "";
    else if (suffix !== "") {
      const glued = unitOf(suffix);
      if (glued === undefined) {
        identifiers.add(token);
        quantities.push({ value, unit: "", text: token });
        continue;
      }
      unit = glued;
    }
    // A currency sign is a unit whether or not semcache knows its name: £5 and ¥5 differ.
    if (currency !== "") unit = unitOf(currency) ?? currency;
    const end = match.index + token.length;
    // A currency sign after the number: "5€", "5 €".
    const after = /^\s?(\p{Sc})/u.exec(lower.slice(end, end + 2));
    if (unit === "" && after !== null) unit = unitOf(after[1]!) ?? after[1]!;
    if (unit === "") {
      // A unit in the next word or two: "5 miles", "8-year-old", "95 percent", "5 percentage points".
      const next = words[firstWordFrom(words, end)];
      if (next !== undefined) {
        const gap = lower.slice(end, next.index);
        if (/^[\s-]*$/.test(gap)) unit = unitOf(next.lower) ?? (next.lower === "percentage" ? "%" : "");
        else if (/^\s*%/.test(gap)) unit = "%";
        else if (/^\s*°\s*$/.test(gap)) unit = next.lower === "c" || next.lower === "f" ? next.lower : "deg";
      }
    }
    quantities.push({ value, unit, text: token });
  }
  // Powers and indices (folded from ² ₂, or typed): "10^-3" and "10^3" name different numbers.
  for (const [, base = "", mark = "", power = ""] of lower.matchAll(POWER)) identifiers.add(`${base}${mark}${power}`);
  return { quantities, identifiers };
}

/** Spelled-out numbers: "three", "twenty-five", "two hundred and five", "a dozen", "nineteen eighty-four". */
function spelledNumbers(words: readonly Word[]): Quantity[] {
  const out: Quantity[] = [];
  let i = 0;
  while (i < words.length) {
    const first = words[i]!.lower;
    const before = words[i - 1]?.lower;
    const startsNumber = NUMBER_WORDS.has(first) || (NUMBER_SCALES.has(first) && (before === "a" || before === "one"));
    // "between two dates" names a pair, not a count.
    if (!startsNumber || (before === "between" && first === "two")) {
      i++;
      continue;
    }
    let total = 0;
    let current = 0;
    const start = i;
    for (; i < words.length; i++) {
      const w = words[i]!.lower;
      const small = NUMBER_WORDS.get(w);
      const scale = NUMBER_SCALES.get(w);
      if (small !== undefined) {
        // "nineteen eighty": a year said in two pairs of digits.
        current = current >= 10 && current < 100 && small >= 10 ? current * 100 + small : current + small;
      } else if (scale !== undefined) {
        current = (current === 0 ? 1 : current) * scale;
        if (scale >= 1000) {
          total += current;
          current = 0;
        }
      } else if (w === "and" && i > start && NUMBER_WORDS.has(words[i + 1]?.lower ?? "")) continue;
      else break;
    }
    const unit = unitOf(words[i]?.lower) ?? "";
    out.push({ value: total + current, unit, text: words.slice(start, i).map((w) => w.text).join(" ") });
  }
  return out;
}

function isEntityWord(word: Word): boolean {
  const { text } = word;
  if (text.length < 2 || /^I('|$)/.test(text) || /\d/.test(text)) return false;
  const letters = text.replace(/'.*$/, "");
  const allCaps = letters.length >= 2 && letters === letters.toUpperCase() && letters !== letters.toLowerCase();
  if (allCaps) return !NUMBER_WORDS.has(word.lower) && !STOPWORDS.has(word.lower);
  return !word.initial && /^\p{Lu}/u.test(text) && !STOPWORDS.has(word.lower);
}

function entitiesOf(words: readonly Word[]): { entities: Set<string>; initials: string[] } {
  const entities = new Set<string>();
  const initials: string[] = [];
  let run = "";
  for (const word of words) {
    const known = KNOWN_ENTITIES.get(word.lower);
    if (known !== undefined && (word.lower !== "go" || /^G/.test(word.text))) entities.add(known);
    else if (word.text === "US" || word.text === "U.S") entities.add("usa");
    else if (isEntityWord(word)) entities.add(word.lower === "go" ? "go" : stem(word.lower));
    if (/^\p{Lu}/u.test(word.text) && !/^I('|$)/.test(word.text)) run += word.lower[0];
    else {
      if (run.length >= 2) initials.push(run);
      run = "";
    }
  }
  if (run.length >= 2) initials.push(run);
  return { entities, initials };
}

function negatedWords(words: readonly Word[], lower: readonly string[]): Set<string> {
  const out = new Set<string>();
  words.forEach((word, i) => {
    if (!negates(word)) return;
    const next = contentNeighbour(lower, i, 1);
    if (next !== undefined) out.add(next);
  });
  return out;
}

const CONTENT_LOOKAROUND = 3;

function contentNeighbour(words: readonly string[], from: number, step: 1 | -1): string | undefined {
  for (let k = 1, j = from + step; k <= CONTENT_LOOKAROUND && j >= 0 && j < words.length; k++, j += step) {
    const w = words[j]!;
    if (!STOPWORDS.has(w) && !isNegation(w)) return stem(w);
  }
  return undefined;
}

function directionsOf(words: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  words.forEach((w, i) => {
    if (w === "to" || w === "into") {
      const before = contentNeighbour(words, i, -1);
      const after = contentNeighbour(words, i, 1);
      if (before !== undefined && after !== undefined && before !== after) pairs.push([before, after]);
    } else if (w === "from") {
      const source = contentNeighbour(words, i, 1);
      let to = i + 1;
      while (to < words.length && to - i <= 6 && words[to] !== "to") to++;
      const destination = words[to] === "to" && to - i <= 6 ? contentNeighbour(words, to, 1) : undefined;
      if (source !== undefined && destination !== undefined && source !== destination) pairs.push([source, destination]);
    }
  });
  return pairs;
}

/** Words of `vocabulary` asked for: preceded within `reach` words by a lead word ("in Spanish", "as a limerick"). */
function requested(
  words: readonly string[],
  vocabulary: ReadonlySet<string>,
  leads: ReadonlyMap<string, ReadonlySet<string> | undefined>,
  reach: number,
  endsClause: boolean,
): Set<string> {
  const out = new Set<string>();
  words.forEach((w, i) => {
    if (!vocabulary.has(w)) return;
    // "in Spanish?" or "in German what..." asks for a language; "in Greek mythology" does not.
    const next = words[i + 1];
    if (endsClause && next !== undefined && !STOPWORDS.has(next)) return;
    for (let j = Math.max(0, i - reach); j < i; j++) {
      const lead = words[j]!;
      if (!leads.has(lead)) continue;
      const only = leads.get(lead);
      if (only === undefined || only.has(w)) {
        out.add(w);
        return;
      }
    }
  });
  return out;
}

const LANGUAGE_LEADS = new Map<string, ReadonlySet<string> | undefined>([["in", undefined], ["into", undefined], ["to", undefined], ["using", undefined]]);
const FORMAT_LEADS = new Map<string, ReadonlySet<string> | undefined>([
  ["as", undefined],
  ["write", undefined],
  ["compose", undefined],
  ["in", IN_FORMATS],
  ["into", IN_FORMATS],
]);

/** {@link LANGUAGE_MARKERS} as sets, built once: every lookup that reaches the guard reads its query through them. */
const LANGUAGE_MARKER_SETS: readonly (readonly [string, ReadonlySet<string>])[] = Object.entries(LANGUAGE_MARKERS).map(([language, markers]) => [language, new Set(markers)]);

function writtenIn(words: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestCount = 0;
  let tie = false;
  for (const [language, set] of LANGUAGE_MARKER_SETS) {
    const count = words.filter((w) => set.has(w)).length;
    if (count > bestCount) {
      best = language;
      bestCount = count;
      tie = false;
    } else if (count === bestCount) tie = true;
  }
  return bestCount >= 2 && !tie ? best : undefined;
}

/** Prompts from this many words have their opening and closing instructions read apart ({@link PromptFeatures.tail}). */
export const LONG_PROMPT_WORDS = 40;
/** Longest opening or closing part, in words, that is read as an instruction (and at most a quarter of the prompt). */
export const INSTRUCTION_MAX_WORDS = 40;

const PARAGRAPH_BREAK = /\n[^\S\n]*\n/u;
const SENTENCE_END = /(?<=[.!?…])\s+(?=\S)/u;

function wordCount(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

/** The first (end 0) or last (end -1) paragraph of a long text, or its sentence, when short enough to be an instruction. */
function instructionPart(text: string, words: number, end: 0 | -1): string | undefined {
  const limit = Math.min(INSTRUCTION_MAX_WORDS, Math.floor(words / 4));
  const pick = (parts: string[]): string | undefined => (parts.length > 1 ? parts.at(end) : undefined);
  for (const part of [pick(text.split(PARAGRAPH_BREAK)), pick(text.split(SENTENCE_END))]) {
    if (part === undefined) continue;
    const count = wordCount(part);
    if (count > 0 && count <= limit) return part.trim();
  }
  return undefined;
}

/** Reads the guard's features from a (normalised) prompt. */
export function analyzePrompt(prompt: string): PromptFeatures {
  const base = analyzeText(prompt);
  if (base.length < LONG_PROMPT_WORDS) return base;
  const head = instructionPart(prompt, base.length, 0);
  const tail = instructionPart(prompt, base.length, -1);
  if (head === undefined && tail === undefined) return base;
  const body = prompt.slice(head === undefined ? 0 : prompt.indexOf(head) + head.length, tail === undefined ? undefined : prompt.lastIndexOf(tail));
  return {
    ...base,
    head: head === undefined ? undefined : analyzeText(head),
    tail: tail === undefined ? undefined : analyzeText(tail),
    body: contentOf((body.replace(/[’‘]/g, "'").match(WORD) ?? []).map((w) => w.toLowerCase())),
  };
}

/** Stems of the words that carry content: neither function words, negations nor numbers. */
function contentOf(lower: readonly string[]): Set<string> {
  return new Set(lower.filter((w) => !STOPWORDS.has(w) && !isNegation(w) && !/^\d+$/.test(w) && !NUMBER_WORDS.has(w)).map(stem));
}

function analyzeText(prompt: string): PromptFeatures {
  const text = foldNumerals(prompt.replace(/[’‘]/g, "'"));
  const words = splitWords(text);
  const lower = words.map((w) => w.lower);
  const vocabulary = new Set<string>();
  for (const w of lower) vocabulary.add(w).add(stem(w));
  const content = contentOf(lower);
  const { quantities, identifiers } = digitsAndIdentifiers(text, words);
  const { entities, initials } = entitiesOf(words);
  return {
    words: lower,
    phrase: ` ${lower.join(" ")} `,
    vocabulary,
    content,
    quantities: [...quantities, ...spelledNumbers(words)],
    identifiers,
    comparisons: comparisonsOf(text.toLowerCase()),
    arrows: new Set(text.match(ARROW) ?? []),
    negations: words.filter(negates).length,
    negated: negatedWords(words, lower),
    entities,
    initials,
    directions: directionsOf(lower),
    answerLanguages: requested(lower, HUMAN_LANGUAGES, LANGUAGE_LEADS, 1, true),
    answerFormats: requested(lower, FORMATS, FORMAT_LEADS, 3, false),
    writtenIn: writtenIn(lower),
    length: words.length,
    opposites: oppositesOf(lower),
    head: undefined,
    tail: undefined,
    body: content,
  };
}
