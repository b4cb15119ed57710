/**
 * The physical limit: the same model in onnxruntime-node with no server,
 * no HTTP, no store: pre-tokenised prompts in batches of 32 (the server's
 * largest micro-batch), each batch sorted by length and cut into runs of
 * similar length exactly as the embedder does, session options as the
 * embedder's (same intra-op thread count, no spinning). Pooling and
 * tokenisation are left out: this is the model's own ceiling.
 */
import { join } from "node:path";
import { InferenceSession, type Tensor } from "onnxruntime-node";
import { paddedFeeds } from "../../test/support/onnx-feeds.js";
import { bertRunCost, planRuns } from "../../src/embedder/run-planner.js";
import { loadTokenizer } from "../../src/embedder/tokenizer.js";

/** The model opened with the embedder's session options and the prompts' batches prepared. */
export interface RawModel {
  readonly threads: number;
  readonly batchSize: number;
  /** Mean word pieces per prompt, [CLS] and [SEP] included. */
  readonly meanTokens: number;
  /** Runs whole batches, one after another, for about `seconds`; returns the texts embedded and the time taken. */
  run(seconds: number): Promise<{ readonly texts: number; readonly seconds: number }>;
  release(): Promise<void>;
}

/** Opens the model in this process, tokenises `prompts` and cuts them into batches of `batchSize` (warmed up once). */
export async function openRawModel(modelDir: string, prompts: readonly string[], threads: number, batchSize = 32): Promise<RawModel> {
  const tokenizer = await loadTokenizer(join(modelDir, "tokenizer.json"));
  const rows = prompts.map((p) => [...tokenizer.prefixIds, ...tokenizer.encode(p), ...tokenizer.suffixIds]);
  const session = await InferenceSession.create(join(modelDir, "model.onnx"), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  // Batches as the micro-batcher would form them from a steady stream; runs as the run planner cuts them.
  const batches: { feeds: Record<string, Tensor>[]; texts: number }[] = [];
  for (let from = 0; from < rows.length; from += batchSize) {
    const batch = rows.slice(from, from + batchSize).sort((a, b) => a.length - b.length);
    const plan = planRuns(
      batch.map((r) => r.length),
      bertRunCost(384),
    );
    batches.push({ feeds: plan.map(([a, b]) => paddedFeeds(batch.slice(a, b))), texts: batch.length });
  }
  for (const f of batches[0]!.feeds) await session.run(f);
  let next = 0;
  return {
    threads,
    batchSize,
    meanTokens: Math.round((rows.reduce((s, r) => s + r.length, 0) / rows.length) * 10) / 10,
    async run(seconds) {
      let texts = 0;
      const started = performance.now();
      while (performance.now() - started < seconds * 1000) {
        const batch = batches[next++ % batches.length]!;
        for (const f of batch.feeds) await session.run(f);
        texts += batch.texts;
      }
      return { texts, seconds: (performance.now() - started) / 1000 };
    },
    release: () => session.release(),
  };
}
