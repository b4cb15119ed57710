/**
 * Worker-thread entry that owns the onnxruntime session. onnxruntime-node's
 * `session.run` executes synchronously on the calling JS thread (its wrapper
 * only defers it with setImmediate), so running it here keeps the main
 * thread's event loop free while a batch is inferred. The worker builds the
 * padded tensors from the token ids it is sent, runs the model, mean-pools
 * and normalises, and transfers the vectors back.
 *
 * Started by worker-session.ts; see there for how it is loaded from
 * TypeScript sources and from dist/.
 */
import { parentPort, workerData } from "node:worker_threads";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { lowerThreadPriority } from "../workers/thread-priority.js";
import { meanPoolNormalized } from "./pooling.js";
import {
  serializeError,
  STATE_IDLE,
  STATE_NATIVE,
  STATE_STOPPING,
  type InferenceWorkerData,
  type WorkerReply,
  type WorkerRequest,
} from "./worker-protocol.js";

if (parentPort === null) throw new Error("inference-worker must run in a worker thread.");
const port = parentPort;
const state = new Int32Array((workerData as InferenceWorkerData).state);
// This thread exits only at a JS instruction, never inside an onnxruntime
// call, so the main thread need not wait for one once it is gone.
process.on("exit", () => {
  Atomics.store(state, 0, STATE_STOPPING);
  Atomics.notify(state, 0);
});

let session: InferenceSession | undefined;
let outputName = "last_hidden_state";

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on("message", (request: WorkerRequest) => {
  void handle(request).catch((error: unknown) => reply({ type: "error", id: request.id, error: serializeError(error) }));
});

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case "load": {
      if (session !== undefined) throw new Error("The inference worker already has a session.");
      // Before the session exists, so that threads onnxruntime starts from this one inherit it.
      lowerThreadPriority(request.nice);
      outputName = request.outputName;
      session = await native(() => InferenceSession.create(request.onnxPath, request.options));
      reply({ type: "loaded", id: request.id, inputNames: session.inputNames, outputNames: session.outputNames });
      return;
    }
    case "run": {
      if (session === undefined) throw new Error("The inference worker has no session.");
      const { vectors, dimension } = await runSession(session, request.ids, request.lengths);
      reply(
        { type: "result", id: request.id, vectors, dimension },
        vectors.map((v) => v.buffer as ArrayBuffer),
      );
      return;
    }
    case "release": {
      const open = session;
      session = undefined;
      if (open !== undefined) await native(() => open.release());
      reply({ type: "released", id: request.id });
      return;
    }
    case "exit":
      process.exit(request.code);
  }
}

/**
 * Runs one onnxruntime call with the shared state set to NATIVE, so that the
 * main thread does not terminate this worker in the middle of it (see
 * InferenceWorkerData). Refuses once the main thread has begun stopping it.
 */
async function native<T>(call: () => Promise<T>): Promise<T> {
  if (Atomics.compareExchange(state, 0, STATE_IDLE, STATE_NATIVE) !== STATE_IDLE) {
    throw new Error("The inference worker is stopping.");
  }
  try {
    return await call();
  } finally {
    Atomics.store(state, 0, STATE_IDLE);
    Atomics.notify(state, 0);
  }
}

/** One `session.run` over framed windows; returns a unit vector per window and the model's width. */
async function runSession(
  session: InferenceSession,
  flatIds: Int32Array,
  lengths: Int32Array,
): Promise<{ vectors: Float32Array[]; dimension: number }> {
  const batch = lengths.length;
  // Padding to the longest window only: attention masks hide the padding, and
  // shorter tensors are cheaper than a fixed 256.
  let seq = 1;
  for (const length of lengths) seq = Math.max(seq, length);
  const ids = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * seq);
  let offset = 0;
  for (let row = 0; row < batch; row++) {
    const base = row * seq;
    const length = lengths[row]!;
    for (let t = 0; t < length; t++) {
      ids[base + t] = BigInt(flatIds[offset + t]!);
      mask[base + t] = 1n;
    }
    offset += length;
  }
  const dims = [batch, seq];
  const feeds: Record<string, Tensor> = {
    input_ids: new Tensor("int64", ids, dims),
  };
  if (session.inputNames.includes("attention_mask")) feeds["attention_mask"] = new Tensor("int64", mask, dims);
  if (session.inputNames.includes("token_type_ids")) {
    feeds["token_type_ids"] = new Tensor("int64", new BigInt64Array(batch * seq), dims);
  }
  const results = await native(() => session.run(feeds, [outputName]));
  const output = results[outputName];
  if (output === undefined || output.type !== "float32" || output.dims.length !== 3) {
    throw new Error(`Output "${outputName}" is not a float32 [batch, seq, dim] tensor.`);
  }
  const [outBatch, outSeq, dimension] = output.dims as [number, number, number];
  if (outBatch !== batch || outSeq !== seq) {
    throw new Error(`Output "${outputName}" has shape [${output.dims.join(", ")}], expected [${batch}, ${seq}, dim].`);
  }
  const vectors = meanPoolNormalized(output.data as Float32Array, Array.from(lengths), seq, dimension);
  output.dispose();
  return { vectors, dimension };
}
