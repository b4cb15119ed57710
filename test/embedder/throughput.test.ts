/**
 * Measures what micro-batching buys on the fixture model (same shape and
 * size as all-MiniLM-L6-v2) and prints it. Timings are logged, not asserted:
 * a shared 2-core machine makes them too noisy for a pass/fail line.
 *
 *   npx vitest run test/embedder/throughput.test.ts
 */
import { join } from "node:path";
import { InferenceSession } from "onnxruntime-node";
import { paddedFeeds } from "../support/onnx-feeds.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import type { OnnxEmbedder } from "../../src/embedder/onnx-embedder.js";
import { bertRunCost, planRuns } from "../../src/embedder/run-planner.js";
import { loadTokenizer } from "../../src/embedder/tokenizer.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { promptSet } from "./support/texts.js";

const N = 64;
let modelDir: string;
let embedder: OnnxEmbedder;

beforeAll(async () => {
  modelDir = await fixtureModelDir();
  embedder = await loadOnnxEmbedder({ modelDir });
});

afterAll(async () => {
  await embedder.close();
});

const rate = (count: number, ms: number): string => `${((count * 1000) / ms).toFixed(1)}/s`;

describe("embedder throughput", () => {
  it("batches concurrent calls close to the model's raw batched throughput", async () => {
    const texts = promptSet(N);
    await Promise.all(texts.map((t) => embedder.embed(t)));

    let start = performance.now();
    for (const text of texts) await embedder.embed(text);
    const oneByOne = performance.now() - start;

    const before = embedder.stats;
    start = performance.now();
    await Promise.all(texts.map((t) => embedder.embed(t)));
    const concurrent = performance.now() - start;
    const runs = embedder.stats.runs - before.runs;
    const batches = embedder.stats.batches - before.batches;

    // The model alone: the same prompts pre-tokenised, in batches of 32
    // grouped into runs exactly as the embedder groups them.
    const tokenizer = await loadTokenizer(join(modelDir, "tokenizer.json"));
    const rows = texts.map((t) => [...tokenizer.prefixIds, ...tokenizer.encode(t), ...tokenizer.suffixIds]);
    const session = await InferenceSession.create(join(modelDir, "model.onnx"), {
      graphOptimizationLevel: "all",
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    });
    const feeds = [rows.slice(0, 32), rows.slice(32)].flatMap((batch) => {
      const sorted = [...batch].sort((a, b) => a.length - b.length);
      const plan = planRuns(
        sorted.map((r) => r.length),
        bertRunCost(embedder.dimension),
      );
      return plan.map(([from, to]) => paddedFeeds(sorted.slice(from, to)));
    });
    for (const f of feeds) await session.run(f);
    start = performance.now();
    for (const f of feeds) await session.run(f);
    const raw = performance.now() - start;
    await session.release();

    console.log(
      `${N} prompts: one-by-one ${rate(N, oneByOne)}, ${N} concurrent ${rate(N, concurrent)} ` +
        `(${batches} batches, ${runs} runs); the same ${feeds.length} session runs alone ${rate(N, raw)}`,
    );
    expect(batches).toBe(2);
    expect(runs).toBeLessThan(N);
  });
});

/** Right-padded int64 feeds for pre-tokenised rows. */
