import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedderClosedError, TextTooLongError } from "../../src/embedder/errors.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import type { OnnxEmbedder } from "../../src/embedder/onnx-embedder.js";
import { cosineSimilarity } from "../../src/embedder/pooling.js";
import { loadTokenizer } from "../../src/embedder/tokenizer.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { longText, promptSet } from "./support/texts.js";

let modelDir: string;
let embedder: OnnxEmbedder;

beforeAll(async () => {
  modelDir = await fixtureModelDir();
  embedder = await loadOnnxEmbedder({ modelDir });
});

afterAll(async () => {
  await embedder.close();
});

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("OnnxEmbedder on the fixture model", () => {
  it("shows its word pieces: what the model sees of a text, and so which texts it cannot tell apart", async () => {
    expect(embedder.wordPieces("Ich möchte bar zählen")).toEqual(embedder.wordPieces("ich mochte bar zahlen"));
    expect(embedder.wordPieces("Is ☠️ safe?")).toEqual(["is", "[UNK]", "safe", "?"]);
    // Same pieces, same vector: the similarity of such texts is exactly 1, whatever they mean.
    const [a, b] = await Promise.all([embedder.embed("Is ☠️ safe to eat?"), embedder.embed("Is 🍄 safe to eat?")]);
    expect(maxAbsDiff(a, b)).toBe(0);
    // Unbound, as the guard holds it.
    const { wordPieces } = embedder;
    expect(wordPieces("año")).toEqual(["an", "##o"]);
  });

  it("reads its dimension from the model and returns unit vectors of that size", async () => {
    expect(embedder.dimension).toBeGreaterThan(0);
    expect(embedder.modelId).toBe("fixture-model");
    for (const text of ["What is the capital of France?", "Ünïcödé — ✓ 東京 🚀 river", "river ".repeat(400)]) {
      const v = await embedder.embed(text);
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(embedder.dimension);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    // The fixture maps special tokens to zero states, so "" pools to a zero
    // vector there (a real MiniLM never does); it must still be well-formed.
    const empty = await embedder.embed("");
    expect(empty.length).toBe(embedder.dimension);
    expect(empty.every(Number.isFinite)).toBe(true);
  });

  it("is deterministic", async () => {
    const a = await embedder.embed("How do I reset my password?");
    const b = await embedder.embed("How do I reset my password?");
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("puts paraphrases close together and unrelated prompts far apart", async () => {
    const [q, paraphrase, unrelated] = await Promise.all([
      embedder.embed("What is the capital of France?"),
      embedder.embed("Tell me the capital city of France."),
      embedder.embed("How do I bake sourdough bread?"),
    ]);
    const close = cosineSimilarity(q, paraphrase);
    const far = cosineSimilarity(q, unrelated);
    console.log(`similarity: paraphrase ${close.toFixed(4)}, unrelated ${far.toFixed(4)}`);
    expect(close).toBeGreaterThan(0.85);
    expect(far).toBeLessThan(close - 0.3);
  });

  it("gives 64 concurrent calls the same vectors as one-by-one calls, in fewer session runs", async () => {
    const texts = promptSet(64);
    const sequential: Float32Array[] = [];
    for (const text of texts) sequential.push(await embedder.embed(text));
    const before = embedder.stats;
    const concurrent = await Promise.all(texts.map((text) => embedder.embed(text)));
    const after = embedder.stats;
    const runs = after.runs - before.runs;
    console.log(`64 concurrent embeds: ${after.batches - before.batches} batches, ${runs} session runs`);
    expect(after.texts - before.texts).toBe(64);
    expect(after.batches - before.batches).toBe(2);
    expect(runs).toBeLessThan(64 / 4);
    expect(after.largestBatch).toBe(32);
    for (const [i, v] of concurrent.entries()) expect(maxAbsDiff(v, sequential[i]!)).toBeLessThan(1e-5);
  });

  it("embeds a long prompt over its whole length", async () => {
    const shared = longText(300, 1, "travel");
    const a = `${shared} ${longText(300, 2, "cooking")}`;
    const b = `${shared} ${longText(300, 3, "computing")}`;
    const before = embedder.stats;
    const [va, vb] = await Promise.all([embedder.embed(a), embedder.embed(b)]);
    expect(embedder.stats.windows - before.windows).toBeGreaterThan(4);
    const similarity = cosineSimilarity(va, vb);
    console.log(`two 600-word prompts sharing the first 300 words: similarity ${similarity.toFixed(4)}`);
    expect(similarity).toBeLessThan(0.95);
    expect(maxAbsDiff(va, vb)).toBeGreaterThan(1e-3);
    expect(norm(va)).toBeCloseTo(1, 5);
  });

  it("does not truncate: a long text's vector differs from that of its first window alone", async () => {
    const tokenizer = await loadTokenizer(join(modelDir, "tokenizer.json"));
    const text = `${longText(300, 4, "travel")} ${longText(300, 5, "cooking")}`;
    const words = text.split(" ");
    // The longest word prefix that fits one 256-token window is what truncation would embed.
    let fit = 0;
    while (fit < words.length && tokenizer.encode(words.slice(0, fit + 1).join(" ")).length <= 254) fit++;
    expect(fit).toBeLessThan(words.length);
    const [whole, firstWindow] = await Promise.all([
      embedder.embed(text),
      embedder.embed(words.slice(0, fit).join(" ")),
    ]);
    expect(cosineSimilarity(whole, firstWindow)).toBeLessThan(0.99);
  });

  it("treats a text that just fits the window as one window", async () => {
    const tokenizer = await loadTokenizer(join(modelDir, "tokenizer.json"));
    const words = longText(400, 6).split(" ");
    let fit = 0;
    while (tokenizer.encode(words.slice(0, fit + 1).join(" ")).length <= 254) fit++;
    const before = embedder.stats.windows;
    await embedder.embed(words.slice(0, fit).join(" "));
    expect(embedder.stats.windows - before).toBe(1);
    await embedder.embed(words.slice(0, fit + 1).join(" "));
    expect(embedder.stats.windows - before).toBe(3);
  });

  it("refuses, rather than truncates, a text beyond maxWindows", async () => {
    const small = await loadOnnxEmbedder({ modelDir, maxTokens: 16, maxWindows: 3, threads: 1 });
    try {
      await expect(small.embed(longText(100, 7))).rejects.toBeInstanceOf(TextTooLongError);
      const ok = await small.embed("short enough");
      expect(ok.length).toBe(small.dimension);
      // 14 word pieces per window, overlap capped at 7: about 2 windows.
      const windows = small.stats.windows;
      await small.embed(longText(15, 8));
      expect(small.stats.windows - windows).toBeGreaterThan(1);
    } finally {
      await small.close();
    }
  });

  it("lets pending calls finish on close and refuses later ones", async () => {
    const own = await loadOnnxEmbedder({ modelDir, threads: 1 });
    const pending = promptSet(8).map((t) => own.embed(t));
    await own.close();
    const settled = await Promise.allSettled(pending);
    expect(settled.every((s) => s.status === "fulfilled")).toBe(true);
    await expect(own.embed("after close")).rejects.toBeInstanceOf(EmbedderClosedError);
    await own.close();
  });
});
