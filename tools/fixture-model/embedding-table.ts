/**
 * The fixture model's word-vector table: one 384-d row per BERT token, which
 * the graph's output is (mean pooling of these rows is what makes
 * similarities meaningful; the transformer only adds compute cost).
 */
import { isBracketToken } from "./bert-vocab.js";
import { matmul } from "./ort-matmul.js";
import type { Rng } from "./prng.js";
import type { WordVectors } from "./word-vectors.js";

/** How table rows are derived from word vectors. */
export interface EmbeddingTableOptions {
  /** Width of each row (MiniLM-L6: 384). */
  hiddenSize: number;
  /**
   * SIF smoothing constant `a` in the weight a / (a + p(w)): the smaller it
   * is, the more frequent words are discounted relative to rare ones.
   */
  sifA: number;
  /**
   * Fraction of the vocabulary's mean word vector subtracted from every word
   * vector before weighting. GloVe vectors share a large common direction
   * that makes any two sentences look alike (unrelated prompts ~0.75);
   * removing it, as SIF does, spreads them out.
   */
  commonComponentRemoval: number;
  /** Give "##piece" tokens the vector of "piece" (false: a zero row). */
  subwordVectors: boolean;
  /** Source of the random orthogonal projection from word-vector space to hiddenSize. */
  rng: Rng;
}

/** Token rows that got a word vector and those left at zero (for the build report). */
export interface EmbeddingTableStats {
  withVector: number;
  zero: number;
}

/** A row-major [vocab, hiddenSize] table plus what went into it. */
export interface EmbeddingTable {
  data: Float32Array;
  rows: number;
  hiddenSize: number;
  stats: EmbeddingTableStats;
}

/**
 * Frequency of the word of rank `rank`, by Zipf's law over the vocabulary.
 * GloVe (and so wink) lists words by corpus frequency, which is all the
 * frequency information the package carries.
 */
export function zipfProbability(rank: number, vocabularySize: number): number {
  const harmonic = Math.log(vocabularySize) + 0.5772156649;
  return 1 / ((rank + 1) * harmonic);
}

/** The SIF weight a / (a + p(w)) of Arora et al. (2017): stop words ~0, rare words ~1. */
export function sifWeight(rank: number, vocabularySize: number, a: number): number {
  return a / (a + zipfProbability(rank, vocabularySize));
}

/**
 * A row-major [dims, hiddenSize] matrix with orthonormal rows, so projecting
 * keeps every dot product (and cosine) of the word vectors exactly, while
 * spreading the signal over all output dimensions like a real model's output
 * (zero padding would leave 284 dimensions always 0).
 */
export function orthonormalProjection(dims: number, hiddenSize: number, rng: Rng): Float64Array {
  const m = new Float64Array(dims * hiddenSize);
  for (let r = 0; r < dims; r++) {
    const v = m.subarray(r * hiddenSize, (r + 1) * hiddenSize);
    for (let i = 0; i < hiddenSize; i++) v[i] = rng.normal();
    // Modified Gram-Schmidt, twice for numerical safety.
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < r; k++) {
        const u = m.subarray(k * hiddenSize, (k + 1) * hiddenSize);
        let dot = 0;
        for (let i = 0; i < hiddenSize; i++) dot += v[i]! * u[i]!;
        for (let i = 0; i < hiddenSize; i++) v[i]! -= dot * u[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < hiddenSize; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < hiddenSize; i++) v[i]! /= norm;
  }
  return m;
}

/** Unweighted mean of the vectors of the vocabulary's whole-word tokens. */
export function meanWordVector(vocab: readonly string[], words: WordVectors): Float64Array {
  const mean = new Float64Array(words.dimensions);
  let count = 0;
  for (const token of vocab) {
    if (isBracketToken(token) || token.startsWith("##")) continue;
    const entry = words.vectors.get(token);
    if (!entry) continue;
    for (let d = 0; d < words.dimensions; d++) mean[d]! += entry.vector[d]!;
    count += 1;
  }
  if (count > 0) for (let d = 0; d < words.dimensions; d++) mean[d]! /= count;
  return mean;
}

/**
 * Builds the table. Bracket tokens ([PAD], [CLS], [SEP], [UNK], [MASK],
 * [unusedN]) and tokens the word-vector set lacks get zero rows, so they do
 * not move a mean-pooled sentence vector's direction.
 */
export async function buildEmbeddingTable(
  vocab: readonly string[],
  words: WordVectors,
  options: EmbeddingTableOptions,
): Promise<EmbeddingTable> {
  const { hiddenSize } = options;
  const dims = words.dimensions;
  const projection = Float32Array.from(orthonormalProjection(dims, hiddenSize, options.rng));
  const mean = meanWordVector(vocab, words);
  // Weighted, centred word vectors, one row per token (zero where none).
  const small = new Float32Array(vocab.length * dims);
  let withVector = 0;
  for (let id = 0; id < vocab.length; id++) {
    const token = vocab[id]!;
    if (isBracketToken(token)) continue;
    const isPiece = token.startsWith("##");
    if (isPiece && !options.subwordVectors) continue;
    const entry = words.vectors.get(isPiece ? token.slice(2) : token);
    if (!entry) continue;
    const weight = sifWeight(entry.rank, words.vocabularySize, options.sifA);
    for (let d = 0; d < dims; d++) {
      small[id * dims + d] = (entry.vector[d]! - options.commonComponentRemoval * mean[d]!) * weight;
    }
    withVector += 1;
  }
  const data = await matmul(small, projection, vocab.length, dims, hiddenSize);
  return { data, rows: vocab.length, hiddenSize, stats: { withVector, zero: vocab.length - withVector } };
}
