/** A gate that opens at most once per interval: one log line per outage, not one per call. */
export class OncePer {
  #lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True at most once per interval. */
  due(): boolean {
    const now = this.now();
    if (now - this.#lastMs < this.intervalMs) return false;
    this.#lastMs = now;
    return true;
  }
}
