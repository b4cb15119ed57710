/**
 * The lifetime of one LLM call across all its attempts: one AbortSignal that
 * fires on the caller's cancellation, on the overall deadline, or when the
 * call is closed early, plus the error each of those means.
 */
import type { ConnectError } from "@connectrpc/connect";
import type { SemcacheError } from "../errors/index.js";
import { canceledError, deadlineError, type UpstreamFailure } from "./errors.js";

type Ending = { kind: "canceled"; reason: unknown } | { kind: "deadline" } | { kind: "closed" };

/** One call's deadline and cancellation; `close()` it when the call is over. */
export class CallScope {
  /** Passed to every HTTP attempt and backoff sleep: aborting it closes the connection. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly deadlineAt: number;
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort: () => void;
  private ending: Ending | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.deadlineAt = Date.now() + timeoutMs;
    this.onCallerAbort = () => this.end({ kind: "canceled", reason: callerSignal?.reason });
    this.timer = setTimeout(() => this.end({ kind: "deadline" }), timeoutMs);
    // The deadline alone must not keep a process alive that is otherwise done.
    this.timer.unref();
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  /** Milliseconds left before the deadline (0 once it passed). */
  remainingMs(): number {
    return Math.max(0, this.deadlineAt - Date.now());
  }

  /**
   * The error to report when the call was cut short by the caller or the
   * deadline, else undefined. Checked before looking at an attempt's own
   * error, because an aborted attempt fails with a generic abort error.
   */
  abortError(attempts: number, last?: UpstreamFailure): SemcacheError | ConnectError | undefined {
    switch (this.ending?.kind) {
      case "canceled":
        return canceledError(this.ending.reason);
      case "deadline":
        return deadlineError(this.timeoutMs, attempts, last);
      default:
        return undefined;
    }
  }

  /** Waits `ms`, or less if the call is cut short (check `abortError` after). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Ends the call: stops the deadline and aborts whatever is still in flight. */
  close(): void {
    this.end({ kind: "closed" });
  }

  private end(ending: Ending): void {
    if (this.ending !== undefined) return;
    this.ending = ending;
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
    this.controller.abort();
  }
}
