import { Tensor } from "onnxruntime-node";

/**
 * Right-padded int64 feeds (input_ids, attention_mask, token_type_ids) for
 * pre-tokenised rows: what a MiniLM-shaped session takes when measured or
 * run directly, without the embedder.
 */
export function paddedFeeds(rows: readonly (readonly number[])[]): Record<string, Tensor> {
  const seq = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * seq);
  const mask = new BigInt64Array(rows.length * seq);
  for (const [i, row] of rows.entries()) {
    for (const [t, id] of row.entries()) {
      ids[i * seq + t] = BigInt(id);
      mask[i * seq + t] = 1n;
    }
  }
  const dims = [rows.length, seq];
  return {
    input_ids: new Tensor("int64", ids, dims),
    attention_mask: new Tensor("int64", mask, dims),
    token_type_ids: new Tensor("int64", new BigInt64Array(rows.length * seq), dims),
  };
}
