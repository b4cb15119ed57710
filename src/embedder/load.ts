/**
 * The production entry point: find or download the model, then open it.
 */
import { resolveModel, type ModelSourceOptions } from "./model-source.js";
import { OnnxEmbedder } from "./onnx-embedder.js";

/** Options of {@link loadOnnxEmbedder}; every one has a working default. */
export interface LoadOnnxEmbedderOptions extends ModelSourceOptions {
  /** onnxruntime intra-op threads; default: the number of cores. */
  readonly threads?: number;
  /** Let idle onnxruntime threads spin-wait; default false (see OnnxEmbedderOptions.spinWait). */
  readonly spinWait?: boolean;
  /** Most windows in one session run; default 32. */
  readonly maxBatchSize?: number;
  /** Longest wait of an idle embedder for more requests; default 0 (one event-loop turn). */
  readonly maxBatchWaitMs?: number;
  /** Model window in word pieces, special tokens included; default 256. */
  readonly maxTokens?: number;
  /** Word pieces shared by neighbouring windows of a long text; default 32. */
  readonly windowOverlap?: number;
  /** Most windows per text (longer texts are rejected, never truncated); default 300. */
  readonly maxWindows?: number;
}

/**
 * Opens the embedder from `modelDir` when given, otherwise from the download
 * cache, fetching Xenova/all-MiniLM-L6-v2 on first use.
 *
 * @throws ModelLoadError when the model cannot be found, fetched, verified or opened.
 */
export async function loadOnnxEmbedder(options: LoadOnnxEmbedderOptions = {}): Promise<OnnxEmbedder> {
  const files = await resolveModel(options);
  return OnnxEmbedder.create({
    modelId: files.modelId,
    onnxPath: files.onnxPath,
    tokenizerPath: files.tokenizerPath,
    ...pick(options, ["threads", "maxBatchSize", "maxBatchWaitMs", "maxTokens", "windowOverlap", "maxWindows"]),
    ...(options.spinWait !== undefined ? { spinWait: options.spinWait } : {}),
  });
}

type Tuning = Pick<
  LoadOnnxEmbedderOptions,
  "threads" | "maxBatchSize" | "maxBatchWaitMs" | "maxTokens" | "windowOverlap" | "maxWindows"
>;

/** Copies only the keys that are set, so undefined never overrides a default. */
function pick(options: LoadOnnxEmbedderOptions, keys: readonly (keyof Tuning)[]): Tuning {
  const out: { -readonly [K in keyof Tuning]?: number } = {};
  for (const key of keys) {
    const value = options[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
