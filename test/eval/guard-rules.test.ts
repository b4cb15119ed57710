/** The guard-rule scorer on the tiny intents file, with the fixture model's similarities. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainMismatch, GUARD_CHECKS } from "../../src/cache/guard/index.js";
import { normalizePrompt } from "../../src/cache/normalize.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import type { OnnxEmbedder } from "../../src/embedder/onnx-embedder.js";
import { cosineSimilarity } from "../../src/embedder/pooling.js";
import { parseDataset } from "../../src/eval/dataset.js";
import { guardRulesMarkdown, scoreGuardRules } from "../../src/eval/guard-rules.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { TINY_INTENTS } from "./support/tiny.js";

let embedder: OnnxEmbedder;
const embedAll = (prompts: readonly string[]): Promise<Float32Array[]> => Promise.all(prompts.map((p) => embedder.embed(p)));

beforeAll(async () => {
  embedder = await loadOnnxEmbedder({ modelDir: await fixtureModelDir(), threads: 1 });
});
afterAll(async () => {
  await embedder.close();
});

describe("scoreGuardRules", () => {
  it("counts, per rule, the right and wrong pairs above each floor it rejects, as the guard itself judges them", async () => {
    const dataset = parseDataset(TINY_INTENTS);
    const [low, high] = await scoreGuardRules(dataset, embedAll, [0.5, 0.95]);

    // The reference: every pair, judged by explainMismatch with one check at a time.
    const seeds = dataset.seeds.map((l) => ({ line: l, text: normalizePrompt(l.prompt) }));
    const queries = [...dataset.paras, ...dataset.nears].map((l) => ({ line: l, text: normalizePrompt(l.prompt) }));
    const seedVectors = await embedAll(seeds.map((s) => s.text));
    const queryVectors = await embedAll(queries.map((q) => q.text));
    let right = 0;
    let wrong = 0;
    const expected = new Map(GUARD_CHECKS.map((rule) => [rule, { rejectsRight: 0, rejectsWrong: 0 }]));
    queries.forEach((q, i) => {
      seeds.forEach((s, j) => {
        if (cosineSimilarity(queryVectors[i]!, seedVectors[j]!) + 1e-6 < 0.5) return;
        const isRight = q.line.role === "para" && q.line.intent === s.line.intent;
        if (isRight) right++;
        else wrong++;
        for (const rule of GUARD_CHECKS) {
          if (explainMismatch(q.text, s.text, [rule]) === undefined) continue;
          const counts = expected.get(rule)!;
          if (isRight) counts.rejectsRight++;
          else counts.rejectsWrong++;
        }
      });
    });
    expect(low).toMatchObject({ floor: 0.5, rightPairs: right, wrongPairs: wrong });
    expect(right).toBeGreaterThan(0);
    for (const score of low!.rules) expect({ rule: score.rule, rejectsRight: score.rejectsRight, rejectsWrong: score.rejectsWrong }).toEqual({ rule: score.rule, ...expected.get(score.rule) });

    // "walk 50 miles" against "walk 5 miles" is a wrong pair the numbers rule alone rejects.
    const numbers = low!.rules.find((r) => r.rule === "numbers")!;
    expect(numbers.onlyWrong).toBeGreaterThanOrEqual(1);
    expect(numbers.worthIt).toBe(true);
    // A higher floor sees a subset of the pairs.
    expect(high!.rightPairs + high!.wrongPairs).toBeLessThan(right + wrong);
    expect(guardRulesMarkdown("tiny", [low!])).toContain("| numbers |");
  });
});
