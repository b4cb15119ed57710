/**
 * Splitting one batch of windows into session runs of similar length.
 *
 * A run pads every row to its longest row, and padding costs as much compute
 * as real tokens. One run over a 10-token prompt and a 250-token window does
 * 500 tokens of work for 260 real ones, which is slower than two runs. So a
 * batch is sorted by length and cut where the padding saved outweighs the
 * fixed cost of another run.
 */

/** Compute cost of one run of `rows` rows padded to `length`, in token units. */
export type RunCost = (rows: number, length: number) => number;

/**
 * Fixed cost of a session run, in tokens of compute: each run reads all six
 * layers' matrices (about 42 MB in float32) whatever its rows, which a run
 * of a few tokens cannot amortise. Measured on the MiniLM-shaped
 * fixture (1 x 8 to 8 x 64 runs against the time per token of 8- and 32-row
 * runs): about 8 tokens with one intra-op thread (the server's default
 * shape), about 12 with two. For the benchmark's prompts, plans made with
 * 12 and with 8 cost within 0.5% of each other whichever is true; 32, used
 * until 2026-12-04, kept rows of unlike lengths together, and its plans of
 * batches of 8 to 32 cost 2-7% more by this model.
 */
export const RUN_OVERHEAD_TOKENS = 12;

/**
 * A BERT-style cost model: per row, `length` tokens of dense layers plus
 * attention growing with length squared (about 3 x hidden size tokens of
 * dense work equal one token's attention over `length` peers).
 */
export function bertRunCost(hiddenSize: number, overheadTokens = RUN_OVERHEAD_TOKENS): RunCost {
  return (rows, length) => overheadTokens + rows * length * (1 + length / (3 * hiddenSize));
}

/**
 * Most padded tokens in one run (4 full MiniLM windows, or 32 prompts of 32
 * word pieces). A run occupies its inference worker until it ends, so a
 * 32 x 256 run would hold every text queued behind it for seconds on 2
 * cores; smaller runs let other work through between them, and at this size
 * the fixed cost of a run (about 12 tokens) is only a few percent.
 */
export const MAX_RUN_TOKENS = 1024;

/**
 * Cheapest cut of `sortedLengths` (ascending) into contiguous groups, by
 * dynamic programming over cut points; returns [start, end) index pairs.
 * A group holds at most `maxRunTokens` padded tokens unless it is one row.
 */
export function planRuns(
  sortedLengths: readonly number[],
  cost: RunCost,
  maxRunTokens = MAX_RUN_TOKENS,
): [number, number][] {
  const n = sortedLengths.length;
  const best = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    const length = sortedLengths[end - 1]!;
    for (let start = end - 1; start >= 0; start--) {
      if (start < end - 1 && (end - start) * length > maxRunTokens) break;
      const total = best[start]! + cost(end - start, length);
      if (total < best[end]!) {
        best[end] = total;
        cut[end] = start;
      }
    }
  }
  const groups: [number, number][] = [];
  for (let end = n; end > 0; end = cut[end]!) groups.push([cut[end]!, end]);
  return groups.reverse();
}
