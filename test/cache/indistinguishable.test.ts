import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { invisibleDifference, isPlainChunk, viewText, type WordPieces } from "../../src/cache/indistinguishable.js";
import { normalizePrompt } from "../../src/cache/normalize.js";
import { loadTokenizer } from "../../src/embedder/tokenizer.js";
import { fixtureModelDir } from "../support/fixture-model.js";

// The fixture model's tokenizer.json: bert-base-uncased's, as MiniLM's.
let pieces: WordPieces;
beforeAll(async () => {
  const tokenizer = await loadTokenizer(join(await fixtureModelDir(), "tokenizer.json"));
  pieces = (text) => tokenizer.wordPieces(text);
});

const differ = (a: string, b: string, withPieces = true): string | undefined =>
  invisibleDifference(viewText(normalizePrompt(a)), viewText(normalizePrompt(b)), withPieces ? pieces : undefined);

describe("what the embedder cannot see", () => {
  it("the tokenizer really folds these pairs into the same tokens", () => {
    for (const [a, b] of [["un año?", "un ano?"], ["zählen", "zahlen"], ["☠️", "🍄"], ["❌", "✅"]] as const) {
      expect(pieces(a)).toEqual(pieces(b));
    }
    expect(pieces("☠️")).toEqual(["[UNK]"]);
  });

  it.each([
    ["¿Cuántos días tiene un año?", "¿Cuántos días tiene un ano?", /"año\?"/],
    ["Ich möchte bar zahlen", "Ich möchte bar zählen", /zahlen/],
    ["Is ☠️ safe to eat?", "Is 🍄 safe to eat?", /☠️/],
    ["❌", "✅", /❌/],
    // Not only when every token is equal: one folded word among others that differ is still invisible.
    ["cuantos dias tiene un año", "¿Cuántos días tiene un ano?", /written differently where the model reads the same/],
    ["Is ☠️ safe to eat, doctor?", "Is 🍄 safe to eat?", /☠️/],
    // Two different words over WordPiece's 100-character limit both read as [UNK].
    [`Decode ${"a".repeat(120)}`, `Decode ${"b".repeat(120)}`, /written differently/],
    ["for item in items:\n    save(item)", "for item in items:\nsave(item)", /white space/],
  ])("refuses %j / %j", (a, b, reason) => {
    expect(differ(a, b)).toMatch(reason);
    expect(differ(b, a)).toMatch(reason);
  });

  it.each([
    ["What is the capital of France?", "what is the capital of france?"],
    ["¿Cuántos días tiene un año?", "¿cuántos días tiene un año?"],
    ["Is 🍄 safe to eat?", "Can I eat a 🍄 safely?"],
    ["Ich möchte bar zahlen", "Ich will bar zahlen"],
    ["What is the capital of France?", "Tell me the capital city of France."],
  ])("lets %j / %j through", (a, b) => {
    expect(differ(a, b)).toBeUndefined();
  });

  it("without the model's tokenizer, sees white space only", () => {
    expect(differ("un año", "un ano", false)).toBeUndefined();
    expect(differ("a\n  b", "a\nb", false)).toMatch(/white space/);
  });

  it("tokenises only when a prompt is not plain ASCII, once per distinct word, and stays cheap on a 64 KB prompt", () => {
    expect(isPlainChunk("hello,")).toBe(true);
    expect(isPlainChunk("año")).toBe(false);
    let calls = 0;
    const counted: WordPieces = (text) => (calls++, pieces(text));
    invisibleDifference(viewText("plain ascii prompt"), viewText("another plain one"), counted);
    expect(calls).toBe(0);
    const words = Array.from({ length: 9000 }, (_, i) => `wört${i % 3000}`).join(" ").slice(0, 65536);
    const started = performance.now();
    expect(invisibleDifference(viewText(words), viewText(`${words} ja`), counted)).toBeUndefined();
    expect(calls).toBe(3000 + 3001);
    // Measured about 30 ms on the 2-core machine; the bound is generous.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
