/**
 * Builds the fixture model's files into a directory. Not atomic on its own:
 * index.ts calls it on a private temporary directory and renames that.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BERT_VOCAB_SIZE, loadBertVocab } from "./bert-vocab.js";
import { buildFixtureGraph, MINILM_L6_CONFIG } from "./bert-graph.js";
import { buildEmbeddingTable, type EmbeddingTableStats } from "./embedding-table.js";
import { createRng } from "./prng.js";
import { buildTokenizerConfig, buildTokenizerJson } from "./tokenizer-json.js";
import { readWordVectors } from "./word-vectors.js";

/** File names inside a fixture model directory. */
export const FIXTURE_FILES = {
  model: "model.onnx",
  tokenizer: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
  /** Written last; its presence with the right stamp marks a complete build. */
  stamp: "fixture-model.json",
} as const;

/**
 * Every tunable choice that shapes the output. It is part of the build stamp
 * (index.ts), so changing a value replaces cached builds.
 */
export const FIXTURE_RECIPE = {
  seed: 20240607,
  /** SIF a / (a + p(w)); 1e-3 is the value Arora et al. recommend. */
  sifA: 1e-3,
  /**
   * Fraction of the mean word vector removed. Trades paraphrase similarity
   * against unrelated-prompt similarity; 0.75 keeps the canonical paraphrase
   * pair above 0.90 and the unrelated pair below 0.5 (both asserted in
   * test/fixture-model.test.ts).
   */
  commonComponentRemoval: 0.75,
  /** "##dough" gets the vector of "dough": closer to what the word means than a zero row. */
  subwordVectors: true,
  /** BERT's initializer_range. */
  initStd: 0.02,
} as const;

/** What a build wrote, for the CLI and the stamp file. */
export interface BuildReport {
  files: Record<string, number>;
  modelSha256: string;
  nodeCount: number;
  table: EmbeddingTableStats;
  wordVectorsFound: number;
  millis: { wordVectors: number; table: number; graph: number; write: number; total: number };
}

/** Builds model.onnx, tokenizer.json and tokenizer_config.json into `dir` (which must exist). */
export async function buildFixtureModelFiles(dir: string): Promise<BuildReport> {
  const t0 = performance.now();
  const vocab = loadBertVocab();
  if (vocab.length !== MINILM_L6_CONFIG.vocabSize || vocab.length !== BERT_VOCAB_SIZE) throw new Error("vocabulary size mismatch");
  const wanted = new Set(vocab.map((t) => (t.startsWith("##") ? t.slice(2) : t)));
  const words = readWordVectors(wanted);
  const t1 = performance.now();

  const rng = createRng(FIXTURE_RECIPE.seed);
  const table = await buildEmbeddingTable(vocab, words, {
    hiddenSize: MINILM_L6_CONFIG.hiddenSize,
    sifA: FIXTURE_RECIPE.sifA,
    commonComponentRemoval: FIXTURE_RECIPE.commonComponentRemoval,
    subwordVectors: FIXTURE_RECIPE.subwordVectors,
    rng,
  });
  const t2 = performance.now();

  const graph = buildFixtureGraph({
    config: MINILM_L6_CONFIG,
    wordTable: table.data,
    rng,
    transformer: true,
    initStd: FIXTURE_RECIPE.initStd,
  });
  const t3 = performance.now();

  const tokenizerJson = JSON.stringify(buildTokenizerJson(vocab));
  const tokenizerConfig = JSON.stringify(buildTokenizerConfig(), null, 2);
  await writeFile(join(dir, FIXTURE_FILES.model), graph.bytes);
  await writeFile(join(dir, FIXTURE_FILES.tokenizer), tokenizerJson);
  await writeFile(join(dir, FIXTURE_FILES.tokenizerConfig), tokenizerConfig);
  const t4 = performance.now();

  return {
    files: {
      [FIXTURE_FILES.model]: graph.bytes.byteLength,
      [FIXTURE_FILES.tokenizer]: Buffer.byteLength(tokenizerJson),
      [FIXTURE_FILES.tokenizerConfig]: Buffer.byteLength(tokenizerConfig),
    },
    modelSha256: createHash("sha256").update(graph.bytes).digest("hex"),
    nodeCount: graph.nodeCount,
    table: table.stats,
    wordVectorsFound: words.vectors.size,
    millis: {
      wordVectors: Math.round(t1 - t0),
      table: Math.round(t2 - t1),
      graph: Math.round(t3 - t2),
      write: Math.round(t4 - t3),
      total: Math.round(t4 - t0),
    },
  };
}
