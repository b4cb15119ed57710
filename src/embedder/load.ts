/**
 * The production entry point: find or download the model, then open it.
 */
import { resolveModel, type ModelSourceOptions } from "./model-source.js";
import { OnnxEmbedder, type OnnxEmbedderOptions } from "./onnx-embedder.js";

/** How to run the model: every {@link OnnxEmbedderOptions} field but where the model is. */
export type OnnxEmbedderTuning = Omit<OnnxEmbedderOptions, "modelId" | "onnxPath" | "tokenizerPath">;

/** Options of {@link loadOnnxEmbedder}; every one has a working default. */
export interface LoadOnnxEmbedderOptions extends ModelSourceOptions, OnnxEmbedderTuning {}

/**
 * Opens the embedder from `modelDir` when given, otherwise from the download
 * cache, fetching Xenova/all-MiniLM-L6-v2 on first use.
 *
 * @throws ModelLoadError when the model cannot be found, fetched, verified or opened.
 */
export async function loadOnnxEmbedder(options: LoadOnnxEmbedderOptions = {}): Promise<OnnxEmbedder> {
  const files = await resolveModel(options);
  const { workers, nice, threads, spinWait, maxBatchSize, maxBatchWaitMs, maxTokens, windowOverlap, maxWindows } = options;
  // Unset tuning stays undefined: OnnxEmbedder.create applies its own defaults.
  return OnnxEmbedder.create({
    modelId: files.modelId,
    onnxPath: files.onnxPath,
    tokenizerPath: files.tokenizerPath,
    workers,
    nice,
    threads,
    spinWait,
    maxBatchSize,
    maxBatchWaitMs,
    maxTokens,
    windowOverlap,
    maxWindows,
  });
}
