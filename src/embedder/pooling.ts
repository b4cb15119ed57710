/**
 * Vector arithmetic for sentence embeddings: masked mean pooling of token
 * states, L2 normalisation, and combining per-window vectors.
 */

/**
 * Mean of each row's token vectors over its real (unpadded) tokens, then
 * L2-normalised: the sentence-transformers recipe for MiniLM.
 *
 * @param hidden Row-major [batch, seq, dim] token states.
 * @param lengths Real tokens per row; positions at or past it are padding.
 */
export function meanPoolNormalized(
  hidden: Float32Array,
  lengths: readonly number[],
  seq: number,
  dim: number,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let row = 0; row < lengths.length; row++) {
    const length = lengths[row] ?? 0;
    // Accumulate in float64: a 256-token sum in float32 loses digits that
    // would make batched and one-by-one results drift apart.
    const sum = new Float64Array(dim);
    const base = row * seq * dim;
    for (let t = 0; t < length; t++) {
      const offset = base + t * dim;
      for (let d = 0; d < dim; d++) sum[d]! += hidden[offset + d]!;
    }
    out.push(normalize(sum, Math.max(1, length)));
  }
  return out;
}

/**
 * Weighted mean of unit vectors, L2-normalised. Used to merge a long text's
 * windows, weighting each by its share of the text.
 */
export function combineWeighted(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const first = vectors[0];
  if (first === undefined) throw new RangeError("combineWeighted needs at least one vector.");
  if (vectors.length === 1) return first;
  const sum = new Float64Array(first.length);
  vectors.forEach((vector, i) => {
    const w = weights[i] ?? 1;
    for (let d = 0; d < sum.length; d++) sum[d]! += w * vector[d]!;
  });
  return normalize(sum, 1);
}

/** Scales `v / divisor` to unit length; a zero vector stays zero rather than NaN. */
function normalize(v: Float64Array, divisor: number): Float32Array {
  let norm = 0;
  for (let d = 0; d < v.length; d++) {
    const x = v[d]! / divisor;
    v[d] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let d = 0; d < v.length; d++) out[d] = v[d]! / norm;
  return out;
}

/** Cosine similarity of two vectors (a dot product when both are unit length). */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`Vector lengths differ: ${a.length} vs ${b.length}.`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
