import type { HealthSource } from "./health-source.js";

/** The serving status of one service. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** Settings of a {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** The service names it reports on; "" (the server as a whole) is always included. */
  readonly services: readonly string[];
  /** How long a probe result is reused before the store is probed again; default 2000 ms. */
  readonly probeMaxAgeMs?: number;
  /** How often watched statuses are re-evaluated; default 500 ms. */
  readonly pollIntervalMs?: number;
}

/**
 * Tracks the serving status of semcache's services from a {@link HealthSource}.
 *
 * All services share one status: SERVING when the source is ready and its
 * probe (if any) succeeds, NOT_SERVING otherwise, and NOT_SERVING for good
 * after {@link shutdown}. It polls only while someone watches, so an idle
 * server does no health work besides answering Check.
 */
export class HealthMonitor {
  /** The service names it knows, "" first. */
  readonly services: readonly string[];
  private readonly probeMaxAgeMs: number;
  private readonly pollIntervalMs: number;
  private status: ServingStatus = "NOT_SERVING";
  private probed: { ok: boolean; atMs: number } | undefined;
  private probing: Promise<boolean> | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly source: HealthSource,
    options: HealthMonitorOptions,
  ) {
    this.services = ["", ...options.services.filter((name) => name !== "")];
    this.probeMaxAgeMs = options.probeMaxAgeMs ?? 2_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
  }

  /** Whether a service name is known. */
  knows(service: string): boolean {
    return this.services.includes(service);
  }

  /** Whether {@link shutdown} was called. */
  get isShutDown(): boolean {
    return this.stopped;
  }

  /** Evaluates the status now (probing the store if the last probe is stale), and records it. */
  async check(): Promise<ServingStatus> {
    this.update(await this.evaluate());
    return this.status;
  }

  /** The last recorded status, without evaluating. */
  get current(): ServingStatus {
    return this.status;
  }

  /**
   * Calls `listener` whenever the status changes (polling while anyone
   * listens); returns the function that stops it.
   */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.poll(), this.pollIntervalMs).unref();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Reports NOT_SERVING from now on (the server is shutting down) and tells the listeners. */
  shutdown(): void {
    this.stopped = true;
    this.update("NOT_SERVING");
    for (const listener of [...this.listeners]) listener();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.update(await this.evaluate());
    } finally {
      this.polling = false;
    }
  }

  private update(status: ServingStatus): void {
    const next = this.stopped ? "NOT_SERVING" : status;
    if (next === this.status) return;
    this.status = next;
    for (const listener of [...this.listeners]) listener();
  }

  private async evaluate(): Promise<ServingStatus> {
    if (this.stopped || !this.source.ready()) return "NOT_SERVING";
    if (this.source.probe === undefined) return "SERVING";
    return (await this.probe()) ? "SERVING" : "NOT_SERVING";
  }

  /** The store probe's result, reused for probeMaxAgeMs; concurrent callers share one probe. */
  private probe(): Promise<boolean> {
    const now = Date.now();
    if (this.probed !== undefined && now - this.probed.atMs < this.probeMaxAgeMs) return Promise.resolve(this.probed.ok);
    this.probing ??= (async () => {
      let ok: boolean;
      try {
        ok = (await this.source.probe?.()) === true;
      } catch {
        ok = false;
      }
      this.probed = { ok, atMs: Date.now() };
      this.probing = undefined;
      return ok;
    })();
    return this.probing;
  }
}
