/**
 * The inference workers of one embedder, each with its own onnxruntime
 * session (worker-session.ts), and a batch runs on whichever is free.
 *
 * Why several sessions and not one with more intra-op threads: a small
 * model's batch leaves an intra-op pool waiting at every operator's
 * barrier, and a single session sits idle while the event loop hands back
 * one batch's vectors and tokenises the next. On two cores, two one-thread
 * sessions embedded 13% more texts per second than one two-thread session
 * in batches of 32, and 34% more in batches of 8 (README, Performance).
 *
 * Failure model: a worker that dies fails the runs it had (as a lone
 * session does) and is retired; the others keep serving. Once every worker
 * has died, every run fails with the last {@link EmbedderFailedError}, for
 * good. A run is never retried on another worker: the input that killed
 * one would kill the next.
 */
import type { InferenceSession } from "onnxruntime-node";
import { EmbedderFailedError } from "./errors.js";
import { WorkerSession, type SessionRun } from "./worker-session.js";

/** A fixed set of worker sessions of one model. */
export class SessionPool {
  private readonly free: WorkerSession[];
  private readonly waiting: { resolve: (session: WorkerSession) => void; reject: (error: unknown) => void }[] = [];
  private readonly retired = new Set<WorkerSession>();
  private failure: EmbedderFailedError | undefined;

  private constructor(private readonly sessions: readonly WorkerSession[]) {
    this.free = [...sessions];
  }

  /**
   * Starts `workers` workers and opens the model in each, in parallel;
   * each worker thread's CPU priority is lowered by `nice` (see
   * OnnxEmbedderOptions.nice).
   *
   * @throws the first worker's error (every worker started is released).
   */
  static async load(workers: number, onnxPath: string, outputName: string, options: InferenceSession.SessionOptions, nice: number): Promise<SessionPool> {
    const loads = await Promise.allSettled(Array.from({ length: workers }, () => WorkerSession.load(onnxPath, outputName, options, nice)));
    const failed = loads.find((l): l is PromiseRejectedResult => l.status === "rejected");
    const opened = loads.flatMap((l) => (l.status === "fulfilled" ? [l.value] : []));
    if (failed !== undefined) {
      await Promise.all(opened.map((s) => s.release()));
      throw failed.reason;
    }
    return new SessionPool(opened);
  }

  /** Workers started (dead ones included). */
  get size(): number {
    return this.sessions.length;
  }

  /** The model's input names. */
  get inputNames(): readonly string[] {
    return this.sessions[0]!.inputNames;
  }

  /** The model's output names. */
  get outputNames(): readonly string[] {
    return this.sessions[0]!.outputNames;
  }

  /**
   * One run on the next free worker (waiting for one when all are busy).
   *
   * @throws EmbedderFailedError when its worker died during the run, or
   *   once every worker has died; the session's own errors otherwise.
   */
  async run(windows: readonly (readonly number[])[]): Promise<SessionRun> {
    const session = await this.acquire();
    try {
      const result = await session.run(windows);
      this.giveBack(session);
      return result;
    } catch (error) {
      if (error instanceof EmbedderFailedError) this.retire(session, error);
      else this.giveBack(session);
      throw error;
    }
  }

  /** Releases every session and ends its worker; callers wait for their own runs first. */
  async release(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.release()));
  }

  private acquire(): Promise<WorkerSession> {
    for (;;) {
      if (this.failure !== undefined) return Promise.reject(this.failure);
      const session = this.free.pop();
      if (session === undefined) return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
      // A worker that died while idle is retired here, so no batch is given to it.
      const failure = session.failure;
      if (failure === undefined) return Promise.resolve(session);
      this.retire(session, failure);
    }
  }

  private giveBack(session: WorkerSession): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve(session);
    else this.free.push(session);
  }

  private retire(session: WorkerSession, error: EmbedderFailedError): void {
    this.retired.add(session);
    if (this.retired.size < this.sessions.length) return;
    this.failure = error;
    for (const w of this.waiting.splice(0)) w.reject(error);
  }
}
