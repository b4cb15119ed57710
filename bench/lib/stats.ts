/** Latency summaries. */

/** Nearest-rank percentile of unsorted samples (p in [0, 1]). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

/** p50 / p99 / mean / count of latencies in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const mean = samples.reduce((s, x) => s + x, 0) / Math.max(1, samples.length);
  return { count: samples.length, p50Ms: round(percentile(samples, 0.5)), p99Ms: round(percentile(samples, 0.99)), meanMs: round(mean) };
}

export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
