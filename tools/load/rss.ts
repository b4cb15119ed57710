/**
 * The server's resident set size through the run, and the verdict on
 * whether it keeps growing.
 *
 * Samples are taken by progress (every 1/60 of the calls), not by time, so a
 * run of any length has the same number of samples in each third. Each RSS
 * sample also asks the server for its JavaScript heap (tools/load/heap.ts),
 * which splits RSS into V8's reserved heap and native memory (the model in
 * its worker thread, SQLite, the HNSW indexes, allocator slack).
 *
 * The rule: the run is split into thirds by calls completed; the peak RSS of
 * the last third may exceed the peak of the middle third by at most
 * `tolerance` (a fraction of the middle third's peak). Peaks, not medians or
 * single points: under load a Node process's RSS is a saw-tooth of about
 * 100 MiB with a period of a few thousand calls (V8 lets the heap fill up to
 * its limit, a full collection hands much of it back), so where a median or
 * a point falls depends on the phase of the tooth, while the tops of the
 * teeth move only when the retained memory or V8's heap limit moves — as
 * both do under a leak. Middle against last third, so that the warm-up's
 * growth in the first third (model arenas, JIT, V8 raising its heap limit)
 * does not count. A store that gains entries grows a little by design
 * (about 2 KB per entry, bench/README.md); the tolerance covers that for
 * runs of the default size.
 */
import { round } from "../../bench/lib/stats.js";
import type { HeapFigures } from "./heap.js";

/** One RSS sample. */
export interface RssSample {
  /** Seconds since the load phase started. */
  readonly seconds: number;
  /** Calls of the load phase completed when it was taken. */
  readonly calls: number;
  readonly rssBytes: number;
  /** The server's JavaScript heap in use, read just after; absent when the server did not answer in time. */
  heapUsedBytes?: number;
  /** The heap V8 has reserved (used or not), read with heapUsedBytes. */
  heapTotalBytes?: number;
}

/** RSS (and heap) over one third of the calls. */
export interface ThirdFigures {
  readonly name: "first" | "middle" | "last";
  readonly fromCalls: number;
  readonly toCalls: number;
  readonly samples: number;
  readonly rssMinBytes: number;
  readonly rssMedianBytes: number;
  readonly rssMaxBytes: number;
  /** Least heap in use in the third: the floor a full collection leaves, which rises when JavaScript objects leak; null without heap samples. */
  readonly heapUsedMinBytes: number | null;
  /** Median of V8's reserved heap in the third; null without heap samples. */
  readonly heapTotalMedianBytes: number | null;
  /** Median of RSS − V8's reserved heap (native memory) in the third; null without heap samples. */
  readonly nativeMedianBytes: number | null;
}

/** RSS at the named points of the run, and the verdict. */
export interface RssReport {
  readonly startBytes: number;
  /** The sample nearest to half the calls (one point of a saw-tooth: see the thirds' medians). */
  readonly middleBytes: number;
  readonly endBytes: number;
  readonly peakBytes: number;
  readonly thirds: readonly ThirdFigures[];
  /** (last third's peak − middle third's peak) / middle third's peak. */
  readonly growth: number;
  readonly tolerance: number;
  /** True when growth exceeds the tolerance. */
  readonly keepsGrowing: boolean;
  /** Least-squares slope of RSS against calls over the last two thirds, in bytes per 1,000 calls. */
  readonly slopeBytesPer1000Calls: number;
  readonly samples: readonly RssSample[];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Takes RSS samples of one process as the load progresses. */
export class RssSampler {
  private readonly list: RssSample[] = [];
  private readonly every: number;
  private nextAt = 0;
  private readonly started = performance.now();
  /** The heap read in flight; a new sample skips its heap read rather than queue another. */
  private heapRead: Promise<void> | undefined;

  /** `rss` returns the RSS now, `heap` asks the server for its heap; `plannedCalls` sets the sampling step. */
  constructor(
    private readonly rss: () => number,
    private readonly heap: () => Promise<HeapFigures | undefined>,
    plannedCalls: number,
    samplesPerRun = 60,
  ) {
    this.every = Math.max(1, Math.ceil(plannedCalls / samplesPerRun));
  }

  /** Takes a sample now. */
  sample(calls: number): void {
    const sample: RssSample = { seconds: round((performance.now() - this.started) / 1000, 2), calls, rssBytes: this.rss() };
    this.list.push(sample);
    if (this.heapRead !== undefined) return;
    this.heapRead = this.heap().then((figures) => {
      if (figures !== undefined) {
        sample.heapUsedBytes = figures.heapUsedBytes;
        sample.heapTotalBytes = figures.heapTotalBytes;
      }
      this.heapRead = undefined;
    });
  }

  /** Called after every completed call: samples when the next step is reached. */
  progress(calls: number): void {
    if (calls < this.nextAt) return;
    this.sample(calls);
    this.nextAt = calls + this.every;
  }

  /** The report, once the load is over (`sample` the end first). */
  async report(tolerance: number): Promise<RssReport> {
    await this.heapRead;
    const samples = this.list;
    if (samples.length === 0) throw new Error("no RSS samples");
    const done = samples.at(-1)!.calls;
    const within = (from: number, to: number): RssSample[] => samples.filter((s) => s.calls >= from * done && s.calls <= to * done);
    const third = (name: ThirdFigures["name"], from: number, to: number): ThirdFigures => {
      const part = within(from, to);
      const rss = part.map((s) => s.rssBytes);
      const withHeap = part.filter((s) => s.heapUsedBytes !== undefined && s.heapTotalBytes !== undefined);
      const none = withHeap.length === 0;
      return {
        name,
        fromCalls: Math.round(from * done),
        toCalls: Math.round(to * done),
        samples: part.length,
        rssMinBytes: Math.min(...rss),
        rssMedianBytes: median(rss),
        rssMaxBytes: Math.max(...rss),
        heapUsedMinBytes: none ? null : Math.min(...withHeap.map((s) => s.heapUsedBytes!)),
        heapTotalMedianBytes: none ? null : median(withHeap.map((s) => s.heapTotalBytes!)),
        nativeMedianBytes: none ? null : median(withHeap.map((s) => s.rssBytes - s.heapTotalBytes!)),
      };
    };
    const thirds = [third("first", 0, 1 / 3), third("middle", 1 / 3, 2 / 3), third("last", 2 / 3, 1)];
    const middle = thirds[1]!.rssMaxBytes;
    const growth = (thirds[2]!.rssMaxBytes - middle) / middle;
    const nearest = (calls: number): RssSample =>
      samples.reduce((best, s) => (Math.abs(s.calls - calls) < Math.abs(best.calls - calls) ? s : best), samples[0]!);
    return {
      startBytes: samples[0]!.rssBytes,
      middleBytes: nearest(done / 2).rssBytes,
      endBytes: samples.at(-1)!.rssBytes,
      peakBytes: Math.max(...samples.map((s) => s.rssBytes)),
      thirds,
      growth: round(growth, 4),
      tolerance,
      keepsGrowing: growth > tolerance,
      slopeBytesPer1000Calls: Math.round(slope(within(1 / 3, 1).map((s) => [s.calls, s.rssBytes] as const)) * 1000),
      samples,
    };
  }
}

/** Least-squares slope of y against x; 0 with fewer than two distinct x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
