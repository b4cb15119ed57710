/**
 * Messages between the main thread (worker-session.ts) and the inference
 * worker (inference-worker.ts). Every request carries an id that its one
 * reply repeats. Token ids and vectors travel as typed arrays whose buffers
 * are transferred, never copied.
 */
import type { InferenceSession } from "onnxruntime-node";

/**
 * `workerData` of an inference worker. `state` (one Int32 on a
 * SharedArrayBuffer) says whether the worker is inside an onnxruntime call.
 * Terminating a worker during one (worker.terminate(), or Node stopping
 * workers when the process exits) makes onnxruntime-node throw a C++
 * Napi::Error into the dying environment, which aborts the whole process
 * (SIGABRT). So the worker enters a native call only by moving the state
 * from IDLE to NATIVE, and the main thread terminates it only after moving
 * the state from IDLE to STOPPING, waiting for a call in progress to return.
 */
export interface InferenceWorkerData {
  readonly state: SharedArrayBuffer;
}

/** No onnxruntime call in progress; the worker may start one, or be stopped. */
export const STATE_IDLE = 0;
/** The worker is inside an onnxruntime call; it must not be terminated now. */
export const STATE_NATIVE = 1;
/** The worker is about to be terminated and starts no more onnxruntime calls. */
export const STATE_STOPPING = 2;

/** Main thread to worker. */
export type WorkerRequest =
  | {
      /** Open the model; answered by "loaded" or "error". */
      readonly type: "load";
      readonly id: number;
      readonly onnxPath: string;
      readonly options: InferenceSession.SessionOptions;
      /** The [batch, seq, dim] output that is mean-pooled. */
      readonly outputName: string;
      /** How much to lower the worker thread's CPU priority (a nice increment; 0: unchanged). */
      readonly nice: number;
    }
  | {
      /** One session run; answered by "result" or "error". */
      readonly type: "run";
      readonly id: number;
      /** Every row's framed token ids, concatenated. */
      readonly ids: Int32Array;
      /** Ids per row, in order. */
      readonly lengths: Int32Array;
    }
  | {
      /** Release the session; answered by "released" or "error". */
      readonly type: "release";
      readonly id: number;
    }
  | {
      /**
       * Test hook: `process.exit(code)` in the worker, which ends only the
       * worker thread, the way a crash would. Never answered.
       */
      readonly type: "exit";
      readonly id: number;
      readonly code: number;
    };

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** Worker to main thread. */
export type WorkerReply =
  | {
      readonly type: "loaded";
      readonly id: number;
      readonly inputNames: readonly string[];
      readonly outputNames: readonly string[];
    }
  | {
      readonly type: "result";
      readonly id: number;
      /** One unit vector per row, each on its own (transferred) buffer. */
      readonly vectors: Float32Array[];
      /** The model's embedding width. */
      readonly dimension: number;
    }
  | { readonly type: "released"; readonly id: number }
  | { readonly type: "error"; readonly id: number; readonly error: SerializedError };

/** Flattens anything thrown into a {@link SerializedError}. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: String(error), stack: undefined };
}

/** Rebuilds an Error with the worker's name, message and stack. */
export function deserializeError(error: SerializedError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
