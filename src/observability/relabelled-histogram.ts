import type { Metric } from "prom-client";

/** One series of a histogram: cumulative counts per bucket, sum and count. */
interface Series {
  readonly labels: Record<string, string>;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A value as prom-client's registry renders it. */
interface RenderedValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * A histogram whose observations are kept under the raw namespace and are
 * summed into bounded labels only when scraped (see NamespaceLabels), so a
 * namespace's whole history follows its label. prom-client's Histogram fixes
 * labels at observe time, hence this small metric of its own; it plugs into
 * a prom-client Registry like any other metric. Its series stay bounded:
 * `keep` picks what an observation is kept under, and {@link fold} merges
 * series whose label is settled.
 */
export class RelabelledHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    /** Maps the raw labels to the exported ones, at scrape time. */
    private readonly relabel: (labels: Record<string, string>) => Record<string, string>,
    /** Maps an observation's labels to those it is kept under until the scrape; default: as given. */
    private readonly keep: (labels: Record<string, string>) => Record<string, string> = (labels) => labels,
  ) {}

  observe(labels: Record<string, string>, value: number): void {
    if (!Number.isFinite(value)) return;
    const kept = this.keep(labels);
    const key = JSON.stringify(kept);
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels: { ...kept }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const bucket = this.buckets.findIndex((bound) => value <= bound);
    if (bucket >= 0) series.counts[bucket]! += 1;
    series.sum += value;
    series.count += 1;
  }

  /** Keeps each series under its exported labels from now on, merging those that share them (call once labels are settled). */
  fold(): void {
    this.series = this.merged();
  }

  /** The raw label sets observed so far. */
  rawLabels(): Record<string, string>[] {
    return [...this.series.values()].map((s) => s.labels);
  }

  /** What prom-client's Registry asks every metric for. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: RenderedValue[] }> {
    const merged = this.merged();
    const values: RenderedValue[] = [];
    for (const { labels, counts, sum, count } of [...merged.values()].sort(byLabels)) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The series summed under their exported labels. */
  private merged(): Map<string, Series> {
    const merged = new Map<string, Series>();
    for (const raw of this.series.values()) {
      const labels = this.relabel(raw.labels);
      const key = JSON.stringify(labels);
      let into = merged.get(key);
      if (into === undefined) {
        into = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
        merged.set(key, into);
      }
      for (const [i, n] of raw.counts.entries()) into.counts[i]! += n;
      into.sum += raw.sum;
      into.count += raw.count;
    }
    return merged;
  }

  reset(): void {
    this.series = new Map();
  }

  /** This histogram as prom-client's Registry types it (the registry only calls get, reset and reads name/type). */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}

function byLabels(a: Series, b: Series): number {
  const ka = JSON.stringify(a.labels);
  const kb = JSON.stringify(b.labels);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
