/**
 * `tsx tools/fixture-model/bench.ts`: shows that the fixture model's
 * transformer branch really runs in onnxruntime (it is multiplied by 0, so
 * an optimiser that proved it dead could skip it). Times the fixture graph
 * against the same graph without that branch, at batch 1 and 32 of 16
 * tokens, and counts the nodes left after onnxruntime's optimisations.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { onnx } from "onnx-proto";
import onnxProto from "onnx-proto";
import { loadBertVocab } from "./bert-vocab.js";
import { buildFixtureGraph, MINILM_L6_CONFIG } from "./bert-graph.js";
import { FIXTURE_RECIPE } from "./build.js";
import { buildEmbeddingTable } from "./embedding-table.js";
import { createRng } from "./prng.js";
import { readWordVectors } from "./word-vectors.js";

const SEQUENCE = 16;

function feeds(batch: number): Record<string, ort.Tensor> {
  const n = batch * SEQUENCE;
  const ids = new BigInt64Array(n);
  // [CLS] w w ... [SEP] with the last rows padded, so the mask matters.
  for (let b = 0; b < batch; b++) {
    const length = SEQUENCE - (b % 4);
    for (let t = 0; t < length; t++) {
      const word = BigInt(2000 + ((b * 31 + t * 7) % 20000));
      ids[b * SEQUENCE + t] = t === 0 ? 101n : t === length - 1 ? 102n : word;
    }
  }
  const mask = ids.map((x) => (x === 0n ? 0n : 1n));
  const dims = [batch, SEQUENCE];
  return {
    input_ids: new ort.Tensor("int64", ids, dims),
    attention_mask: new ort.Tensor("int64", mask, dims),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(n), dims),
  };
}

async function time(session: ort.InferenceSession, batch: number, runs: number): Promise<number> {
  const input = feeds(batch);
  for (let i = 0; i < 3; i++) await session.run(input);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(input);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

async function optimisedNodeCount(model: Uint8Array, dir: string, name: string): Promise<{ nodes: number; ops: string }> {
  const path = join(dir, `${name}.optimized.onnx`);
  const session = await ort.InferenceSession.create(model, {
    optimizedModelFilePath: path,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  await session.release();
  const decoded: onnx.IModelProto = onnxProto.onnx.ModelProto.decode(await readFile(path));
  const counts = new Map<string, number>();
  for (const node of decoded.graph?.node ?? []) counts.set(node.opType ?? "?", (counts.get(node.opType ?? "?") ?? 0) + 1);
  const ops = [...counts].sort((a, b) => b[1] - a[1]).map(([op, c]) => `${op}×${c}`).join(" ");
  return { nodes: decoded.graph?.node?.length ?? 0, ops };
}

async function main(): Promise<void> {
  const vocab = loadBertVocab();
  const words = readWordVectors(new Set(vocab.map((t) => (t.startsWith("##") ? t.slice(2) : t))));
  const rng = createRng(FIXTURE_RECIPE.seed);
  const table = await buildEmbeddingTable(vocab, words, { hiddenSize: MINILM_L6_CONFIG.hiddenSize, ...FIXTURE_RECIPE, rng });
  const common = { config: MINILM_L6_CONFIG, wordTable: table.data, rng, initStd: FIXTURE_RECIPE.initStd };
  const graphs = {
    fixture: buildFixtureGraph({ ...common, transformer: true }).bytes,
    "lookup only": buildFixtureGraph({ ...common, transformer: false }).bytes,
  };
  const dir = await mkdtemp(join(tmpdir(), "fixture-bench-"));
  try {
    for (const [name, bytes] of Object.entries(graphs)) {
      const { nodes, ops } = await optimisedNodeCount(bytes, dir, name.replace(" ", "-"));
      const session = await ort.InferenceSession.create(bytes);
      const b1 = await time(session, 1, 50);
      const b32 = await time(session, 32, 10);
      await session.release();
      const timings = `batch 1×${SEQUENCE}: ${b1.toFixed(2)} ms   batch 32×${SEQUENCE}: ${b32.toFixed(2)} ms   (median)`;
      console.log(`${name.padEnd(12)} ${timings}`);
      console.log(`${"".padEnd(12)} ${nodes} nodes after onnxruntime optimisation: ${ops}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
