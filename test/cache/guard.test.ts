import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  analyzePrompt,
  createMatchGuard,
  explainMismatch,
  GUARD_CHECKS,
  DEFAULT_GUARD_CHECKS,
  guardSettingOf,
  parseGuardSetting,
} from "../../src/cache/guard/index.js";
import { foldNumerals } from "../../src/cache/guard/analyze.js";
import { normalizePrompt } from "../../src/cache/normalize.js";

const guard = createMatchGuard();
const check = (a: string, b: string) => explainMismatch(normalizePrompt(a), normalizePrompt(b))?.check;

describe("hard-negative guard: rejects", () => {
  it.each([
    ["How long does it take to walk 5 miles?", "How long does it take to walk 50 miles?"],
    ["How long does it take to walk 5 miles?", "How long does it take to walk 5 km?"],
    ["How long does it take to walk five miles?", "How long does it take to walk fifty miles?"],
    ["Best budget laptop under $500", "Best budget laptop under $800"],
    ["What is 15% of 80?", "What is 20% of 80?"],
    ["How much should a 3-year-old sleep?", "How much should a 12-year-old sleep?"],
    ["How do I revert the last commit?", "How do I revert the last two commits?"],
    ["What does Python error E1101 mean?", "What does Python error E1120 mean?"],
    ["Is the 2019 model worth buying?", "Is the 2023 model worth buying?"],
  ])("a different number: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("numbers");
  });

  it.each([
    ["Why can I connect to the office VPN from home?", "Why can't I connect to the office VPN from home?"],
    ["How many calories are in a latte with sugar?", "How many calories are in a latte without sugar?"],
    ["My laptop charges when it is plugged in", "My laptop is not charging when plugged in"],
    ["How do I share my calendar with a colleague?", "How do I stop sharing my calendar with a colleague?"],
  ])("a negation: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("negation");
  });

  it.each([
    ["How do I enable dark mode in Slack?", "How do I disable dark mode in Slack?"],
    ["How do I increase the font size in VS Code?", "How do I decrease the font size in VS Code?"],
    ["Should I drink coffee before a workout?", "Should I drink coffee after a workout?"],
    ["How do I encrypt a file with GPG?", "How do I decrypt a file with GPG?"],
    ["How do I import a CSV into Postgres?", "How do I export a CSV from Postgres?"],
  ])("opposites: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("antonyms");
  });

  it.each([
    ["What is the population of France?", "What is the population of Germany?"],
    ["How do I parse JSON in Python?", "How do I parse JSON in Ruby?"],
    ["When did Napoleon die?", "When did Wellington die?"],
    ["How do I sort a list in Go?", "How do I sort a list in Rust?"],
    ["How do I reset my password on Android?", "How do I reset my password on iPhone?"],
  ])("another entity: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("entities");
  });

  it.each([
    ["Cheapest flights from Boston to Denver", "Cheapest flights from Denver to Boston"],
    ["How do I convert Celsius to Fahrenheit?", "How do I convert Fahrenheit to Celsius?"],
    ["How do I convert a string to an integer in Java?", "How do I convert an integer to a string in Java?"],
    ["Translate this sentence from English to French", "Translate this sentence from French to English"],
  ])("a swapped direction: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("direction");
  });

  it.each([
    ["Summarise the plot of Macbeth", "Summarise the plot of Macbeth in Italian"],
    ["Explain recursion", "Explain recursion as a poem"],
    ["Give me the results in a table", "Give me the results in JSON"],
    ["¿Cuál es la capital de Francia?", "What is the capital of France?"],
  ])("another language or form of answer: %s / %s", (a, b) => {
    expect(guard(a, b)).toBe(false);
    expect(check(a, b)).toBe("language");
  });
});

describe("hard-negative guard: reads numbers and symbols beyond ASCII digits", () => {
  it.each([
    ["What is the derivative of x²?", "What is the derivative of x³?", "numbers"],
    ["Is 10⁻³ seconds fast?", "Is 10³ seconds fast?", "numbers"],
    ["Add ½ cup of sugar", "Add ¾ cup of sugar", "numbers"],
    ["Add ⅓ cup of milk", "Add ⅔ cup of milk", "numbers"],
    ["Is £5 a fair price for a coffee?", "Is ¥5 a fair price for a coffee?", "numbers"],
    ["Is 20₹ a lot?", "Is 20 ₩ a lot?", "numbers"],
    ["What is ٣ + ٤?", "What is 3 + 5?", "numbers"],
    ["Is 7 > 5?", "Is 7 < 5?", "numbers"],
    ["Why is x ≥ 10 true here?", "Why is x ≤ 10 true here?", "numbers"],
    ["for (i = 0; i < 10; i++) runs how often?", "for (i = 0; i <= 10; i++) runs how often?", "numbers"],
    ["Stock price ↑ after earnings: why?", "Stock price ↓ after earnings: why?", "direction"],
    ["Translate EN → FR", "Translate EN ← FR", "direction"],
  ])("%s / %s", (a, b, expected) => {
    expect(guard(normalizePrompt(a), normalizePrompt(b))).toBe(false);
    expect(check(a, b)).toBe(expected);
  });

  it.each([
    ["Is 7 > 5?", "Is 5 < 7?"],
    ["Add 1½ cups of flour", "Add 1.5 cups of flour"],
    ["What is ٣ + ٤?", "What is 3 + 4?"],
    ["What is x² + 1?", "what is x^2 + 1"],
    ["Is a coffee for £5 expensive?", "Is £5 expensive for a coffee?"],
    ["Does this cost 5€?", "Does this cost 5 €?"],
  ])("the same quantity written differently: %s / %s", (a, b) => {
    expect(explainMismatch(normalizePrompt(a), normalizePrompt(b))).toBeUndefined();
  });

  it("folds numerals to ASCII", () => {
    expect(foldNumerals("x² 1½ ¾ ٣ ① ５ 10⁻³ H₂O")).toBe("x^2 1.5 0.75 3 1 5 10^-3 H_2O");
  });
});

describe("hard-negative guard: lets paraphrases through", () => {
  it.each([
    ["What is the capital of France?", "Tell me the capital city of France."],
    ["What is the capital of France?", "what is the capital of france"],
    ["How do I reverse a list in Python?", "python reverse list"],
    ["How long does it take to walk 5 miles?", "How long does it take to walk five miles?"],
    ["How long is a 5K run?", "How long is a 5 km run?"],
    ["How many legs does a spider have?", "number of legs on a spider"],
    ["Is it safe to eat raw cookie dough?", "Can I eat cookie dough without baking it first?"],
    ["Why isn't my phone charging?", "My phone won't charge, why?"],
    ["Isn't Mercury closer to the Sun than Venus?", "Is Mercury closer to the Sun than Venus?"],
    ["How do I set up two-factor authentication?", "how to turn on 2FA"],
    ["What can I see with the ISS overhead tonight?", "What can I see with the International Space Station overhead tonight?"],
    ["Who wrote Nineteen Eighty-Four?", "Who is the author of 1984?"],
    ["How do I exit vim?", "How do I exit vim?"],
    [
      "My build fails with this output:\n  step 1/7: FROM node:20\n  step 6/7: RUN npm ci (exit code 1, 42 packages)\nWhy does npm ci fail in Docker?",
      "Why does npm ci fail when building my Docker image?",
    ],
  ])("%s / %s", (a, b) => {
    expect(explainMismatch(normalizePrompt(a), normalizePrompt(b))).toBeUndefined();
    expect(guard(normalizePrompt(a), normalizePrompt(b))).toBe(true);
    expect(guard(normalizePrompt(b), normalizePrompt(a))).toBe(true);
  });
});

describe("the development set (eval/data/intents.jsonl)", () => {
  interface Line {
    intent: string;
    role: "seed" | "para" | "near";
    prompt: string;
    note?: string;
  }
  const lines = readFileSync(new URL("../../eval/data/intents.jsonl", import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);
  const seeds = new Map(lines.filter((l) => l.role === "seed").map((l) => [l.intent, normalizePrompt(l.prompt)]));
  const seedOf = (line: Line) => seeds.get(line.intent.split("~")[0]!)!;

  it("passes almost every paraphrase against its own seed", () => {
    const paras = lines.filter((l) => l.role === "para");
    const rejected = paras.filter((l) => !guard(normalizePrompt(l.prompt), seedOf(l)));
    expect(paras.length).toBe(252);
    // One today: "in the US and Canada" for "in North America" reads as another place.
    expect(rejected.map((l) => l.prompt).length).toBeLessThanOrEqual(2);
  });

  it("rejects a good share of the hard negatives against their seed", () => {
    const nears = lines.filter((l) => l.role === "near");
    const rejected = nears.filter((l) => !guard(normalizePrompt(l.prompt), seedOf(l)));
    expect(nears.length).toBe(162);
    expect(rejected.length).toBeGreaterThanOrEqual(60);
    const numbers = nears.filter((l) => l.note?.startsWith("different number"));
    expect(numbers.every((l) => !guard(normalizePrompt(l.prompt), seedOf(l)))).toBe(true);
  });
});

describe("analysis", () => {
  it("reads numbers with units, spelled-out numbers and identifiers", () => {
    const f = analyzePrompt("Run 5 miles, then 10km and twenty-five push-ups in 1.5 hours; error E0502 at 127.0.0.1");
    expect(f.quantities.map((q) => [q.value, q.unit])).toEqual(
      expect.arrayContaining([
        [5, "mile"],
        [10, "km"],
        [25, ""],
        [1.5, "h"],
      ]),
    );
    expect([...f.identifiers]).toEqual(expect.arrayContaining(["e0502", "127.0.0.1"]));
  });

  it("finds entities inside sentences, acronyms and known names, not sentence-initial words", () => {
    const f = analyzePrompt("Jupiter is big. How far is it from the Sun according to NASA?");
    expect([...f.entities].sort()).toEqual(["jupiter", "nasa", "sun"]);
    expect(analyzePrompt("Where is the International Space Station?").initials).toContain("iss");
  });

  it("reads directions", () => {
    expect(analyzePrompt("flights from Boston to Denver").directions).toContainEqual(["boston", "denver"]);
  });
});

describe("configuration", () => {
  it("parses SEMCACHE_GUARD", () => {
    const canonical = (raw: string): string => guardSettingOf(parseGuardSetting(raw));
    expect(canonical("on")).toBe("on");
    expect(canonical(" OFF ")).toBe("off");
    expect(canonical("entities, numbers")).toBe("numbers,entities");
    expect(canonical(GUARD_CHECKS.join(","))).toBe("all");
    expect(canonical("all")).toBe("all");
    expect(canonical(DEFAULT_GUARD_CHECKS.join(","))).toBe("on");
    expect(() => parseGuardSetting("numbers,colours")).toThrow(/numbers, negation/);
    expect(() => parseGuardSetting(",")).toThrow();
    expect(parseGuardSetting("off")).toEqual([]);
    // "on" is every check but negation (see DEFAULT_GUARD_CHECKS); "all" adds it.
    expect(parseGuardSetting("on")).toEqual(GUARD_CHECKS.filter((c) => c !== "negation"));
    expect(parseGuardSetting("all")).toEqual([...GUARD_CHECKS]);
    expect(createMatchGuard(parseGuardSetting("on"))("Can I mix bleach and ammonia?", "Why can't I mix bleach and ammonia?")).toBe(true);
    expect(createMatchGuard(parseGuardSetting("all"))("Can I mix bleach and ammonia?", "Why can't I mix bleach and ammonia?")).toBe(false);
    expect(parseGuardSetting("entities, numbers")).toEqual(["numbers", "entities"]);
    // "off" turns the heuristic checks off, never the identity rule.
    const off = createMatchGuard(parseGuardSetting("off"));
    expect(off("walk 5 miles", "walk 50 miles")).toBe(true);
    expect(off("for x in xs:\n    save(x)", "for x in xs:\nsave(x)")).toBe(false);
  });

  it("runs only the checks asked for", () => {
    const numbersOnly = createMatchGuard(parseGuardSetting("numbers"));
    expect(numbersOnly("walk 5 miles", "walk 50 miles")).toBe(false);
    expect(numbersOnly("What is the population of France?", "What is the population of Germany?")).toBe(true);
  });
});

describe("the instruction around a long document", () => {
  const doc = Array.from({ length: 12 }, (_, i) => `Record ${i + 1} describes an order of ${i + 2} chairs shipped to the Lisbon office.`).join(" ");
  it.each([
    [`${doc}\n\nSummarize the document above.`, `${doc}\n\nDelete all the data described above.`],
    [`${doc} Summarize the document above.`, `${doc} Translate the document above.`],
    [`${doc}\n\nWhich order was the largest?`, `${doc}\n\nWhich order was shipped last?`],
    [`Summarize the following records.\n\n${doc}`, `Delete the following records.\n\n${doc}`],
  ])("rejects a different instruction: %#", (a, b) => {
    expect(check(a, b)).toBe("instruction");
    expect(guard(normalizePrompt(a), normalizePrompt(b))).toBe(false);
  });

  it("lets a reworded instruction, a different text and short prompts through", () => {
    expect(check(`${doc}\n\nSummarize the document above.`, `${doc}\n\nGive me a summary of the document above.`)).toBeUndefined();
    expect(check(`${doc}\n\nSummarize the document above.`, `${doc}\n\nSummarise the document above.`)).toBeUndefined();
    // Another text altogether: the embedding sees the difference, and the instruction is one part of a rewording.
    const other = Array.from({ length: 12 }, (_, i) => `Entry ${i + 1} lists a delivery of ${i + 2} desks sent to our Oslo branch.`).join(" ");
    expect(check(`${doc}\n\nSummarize the document above.`, `${other}\n\nDelete the document above.`)).toBeUndefined();
    // Short prompts have no separate instruction: the whole prompt is one.
    expect(analyzePrompt("Summarize this. Then stop.").tail).toBeUndefined();
    expect(analyzePrompt(`${doc}\n\nSummarize the document above.`).tail?.words).toEqual(["summarize", "the", "document", "above"]);
  });
});
