/**
 * The main thread's handle on an onnxruntime session that lives in a
 * worker thread (inference-worker.ts), so that inference never blocks the
 * event loop. It offers what onnx-embedder.ts needs from a session: the
 * model's input and output names, `run` (framed token ids in, pooled unit
 * vectors out) and `release`.
 *
 * Failure model. A model that cannot be opened, or a run that throws,
 * rejects that one call with the worker's error (same name and message).
 * If the worker itself dies (uncaught error, process.exit in it, out of
 * memory, terminate while idle), every call in flight is rejected with an
 * {@link EmbedderFailedError}, and so is every later call: the session is
 * broken for good and says so; nothing ever waits on a dead worker.
 *
 * Liveness. The worker is unref'd while idle, so an embedder nobody closed
 * never keeps a finished process alive, and ref'd while any call is in
 * flight, so awaiting a result does keep it alive.
 *
 * Stopping. A worker must never be terminated in the middle of an
 * onnxruntime call: onnxruntime-node then aborts the whole process (see
 * InferenceWorkerData in worker-protocol.ts). `release` terminates it only
 * once idle, and a process "exit" hook makes `process.exit()` (or an
 * uncaught exception) during a run wait, blocking, up to
 * {@link EXIT_WAIT_MS} for the run to return before Node stops the worker.
 *
 * Loading the worker's code. From dist/ the entry is the compiled
 * inference-worker.js next to this file. From TypeScript sources (tsx,
 * vitest) only inference-worker.ts exists, and the worker is started with a
 * preload that registers tsx in it (see {@link startModuleWorker}); tsx is
 * resolved from this package, so the working directory does not matter.
 */
import type { Worker } from "node:worker_threads";
import type { InferenceSession } from "onnxruntime-node";
import { startModuleWorker, WorkerCodeMissingError } from "../workers/module-worker.js";
import { EmbedderClosedError, EmbedderFailedError } from "./errors.js";
import {
  deserializeError,
  STATE_IDLE,
  STATE_NATIVE,
  STATE_STOPPING,
  type InferenceWorkerData,
  type WorkerReply,
  type WorkerRequest,
} from "./worker-protocol.js";

/** What one run returns: a unit vector per window and the model's width. */
export interface SessionRun {
  readonly vectors: Float32Array[];
  readonly dimension: number;
}

interface Pending {
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Longest wait of the process "exit" hook for a run in progress. A run of
 * the default size takes well under a second even on a busy 2-core machine;
 * if one takes longer, the process exits anyway (and onnxruntime-node aborts it).
 */
export const EXIT_WAIT_MS = 10_000;

/** Sessions whose worker may still be running, for the exit hook. */
const liveSessions = new Set<WorkerSession>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const session of liveSessions) session.stopBeforeExit();
  });
}

type WorkerListener = (worker: Worker) => void;
const workerListeners = new Set<WorkerListener>();

/**
 * Calls `listener` with every inference worker started from now on, until
 * the returned function is called. For tests and diagnostics: a test can
 * kill a worker to check that callers are not left hanging, by posting
 * `{ type: "exit", id: 0, code }` (the worker calls process.exit at its next
 * message), or with `worker.terminate()` while no run is in progress; a
 * terminate during a run aborts the whole process (see worker-protocol.ts).
 */
export function observeInferenceWorkers(listener: WorkerListener): () => void {
  workerListeners.add(listener);
  return () => workerListeners.delete(listener);
}

/** An onnxruntime session run by a dedicated worker thread. */
export class WorkerSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: EmbedderFailedError | undefined;
  private exited = false;
  private releasing: Promise<void> | undefined;
  private names: { inputNames: readonly string[]; outputNames: readonly string[] } = { inputNames: [], outputNames: [] };

  private constructor(
    private readonly worker: Worker,
    /** Shared with the worker; see InferenceWorkerData. */
    private readonly state: Int32Array,
  ) {
    installExitHook();
    liveSessions.add(this);
    worker.unref();
    worker.on("message", (reply: WorkerReply) => this.settle(reply));
    worker.on("error", (error: Error) => this.fail(`The inference worker crashed: ${error.message}`, error));
    worker.on("messageerror", (error: Error) => {
      this.fail(`A message from the inference worker could not be read: ${error.message}`, error);
      void this.stop();
    });
    worker.on("exit", (code: number) => {
      this.exited = true;
      liveSessions.delete(this);
      this.fail(`The inference worker exited unexpectedly (exit code ${code}).`);
    });
  }

  /**
   * Starts a worker and opens `onnxPath` in it with `options`; `outputName`
   * is the [batch, seq, dim] output that runs mean-pool.
   *
   * @throws the worker's error when onnxruntime cannot open the model, or
   *   EmbedderFailedError when the worker cannot start or dies.
   */
  static async load(
    onnxPath: string,
    outputName: string,
    options: InferenceSession.SessionOptions,
    nice = 0,
  ): Promise<WorkerSession> {
    const state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const session = new WorkerSession(startWorker({ state: state.buffer as SharedArrayBuffer }), state);
    try {
      const reply = await session.call((id) => ({ type: "load", id, onnxPath, options, outputName, nice }));
      if (reply.type !== "loaded") throw new Error(`Unexpected reply "${reply.type}" to load.`);
      session.names = { inputNames: reply.inputNames, outputNames: reply.outputNames };
      return session;
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** The model's input names. */
  get inputNames(): readonly string[] {
    return this.names.inputNames;
  }

  /** The model's output names. */
  get outputNames(): readonly string[] {
    return this.names.outputNames;
  }

  /** Why the worker is gone for good, once it died; undefined while it lives. */
  get failure(): EmbedderFailedError | undefined {
    return this.failed;
  }

  /**
   * One session run over framed windows (each row padded to the longest).
   *
   * @throws EmbedderFailedError once the worker has died; EmbedderClosedError after {@link release}.
   */
  async run(windows: readonly (readonly number[])[]): Promise<SessionRun> {
    if (this.releasing !== undefined && this.failed === undefined) throw new EmbedderClosedError();
    const lengths = new Int32Array(windows.length);
    let total = 0;
    windows.forEach((window, row) => {
      lengths[row] = window.length;
      total += window.length;
    });
    const ids = new Int32Array(total);
    let offset = 0;
    for (const window of windows) {
      ids.set(window, offset);
      offset += window.length;
    }
    const reply = await this.call((id) => ({ type: "run", id, ids, lengths }), [ids.buffer, lengths.buffer]);
    if (reply.type !== "result") throw new Error(`Unexpected reply "${reply.type}" to run.`);
    return { vectors: reply.vectors, dimension: reply.dimension };
  }

  /**
   * Releases the session and terminates the worker. Callers wait for their
   * own runs first (OnnxEmbedder drains its queue); never throws, also not
   * after the worker died.
   */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (!this.exited && this.failed === undefined) {
        await this.call((id) => ({ type: "release", id })).catch(() => undefined);
      }
      await this.stop();
    })();
    return this.releasing;
  }

  /**
   * For the process "exit" hook only: blocks until no onnxruntime call is in
   * progress (at most {@link EXIT_WAIT_MS}) and stops the worker from
   * starting another, so that Node can terminate it without an abort.
   */
  stopBeforeExit(): void {
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (Atomics.compareExchange(this.state, 0, STATE_IDLE, STATE_STOPPING) === STATE_NATIVE) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(this.state, 0, STATE_NATIVE, left);
    }
  }

  /** Terminates the worker once no onnxruntime call is in progress (see InferenceWorkerData). */
  private async stop(): Promise<void> {
    while (!this.exited && Atomics.compareExchange(this.state, 0, STATE_IDLE, STATE_STOPPING) === STATE_NATIVE) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await this.worker.terminate();
  }

  /** Sends one request; settles with its reply. */
  private call(build: (id: number) => WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.exited) return Promise.reject(new EmbedderClosedError());
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      try {
        this.worker.postMessage(build(id), transfer);
      } catch (error) {
        this.pending.delete(id);
        this.updateRef();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    this.updateRef();
    if (reply.type === "error") pending.reject(deserializeError(reply.error));
    else pending.resolve(reply);
  }

  /**
   * The worker is gone or unusable: rejects everything in flight. Unless it
   * was being released, the session is marked failed for good.
   */
  private fail(message: string, cause?: unknown): void {
    if (this.failed === undefined && this.releasing === undefined) {
      this.failed = new EmbedderFailedError(message, { cause });
    }
    const error = this.failed ?? new EmbedderClosedError();
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.updateRef();
    for (const p of pending) p.reject(error);
  }

  /** Keeps the process alive exactly while a call is in flight. */
  private updateRef(): void {
    if (this.exited) return;
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

function startWorker(workerData: InferenceWorkerData): Worker {
  let worker: Worker;
  try {
    worker = startModuleWorker(import.meta.url, "inference-worker", { workerData });
  } catch (error) {
    if (error instanceof WorkerCodeMissingError) throw new EmbedderFailedError(error.message, { cause: error });
    throw error;
  }
  for (const listener of workerListeners) listener(worker);
  return worker;
}
