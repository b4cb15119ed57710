/**
 * The embedder package: the {@link Embedder} interface and its onnxruntime
 * implementation with model discovery and download.
 */
export type { Embedder } from "./embedder.js";
export { loadOnnxEmbedder, type LoadOnnxEmbedderOptions, type OnnxEmbedderTuning } from "./load.js";
export {
  OnnxEmbedder,
  type OnnxEmbedderOptions,
  type OnnxEmbedderStats,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_BATCH_WAIT_MS,
  DEFAULT_MAX_TOKENS,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_WINDOW_OVERLAP,
} from "./onnx-embedder.js";
export {
  resolveModel,
  findModelInDirectory,
  downloadDefaultModel,
  defaultModelCacheDir,
  type ModelFiles,
  type ModelSourceOptions,
  type RemoteModelFile,
  DEFAULT_MODEL_REPO,
  DEFAULT_DOWNLOAD_BASE_URL,
  DEFAULT_REVISION,
  DEFAULT_ONNX_FILE,
  DEFAULT_TOKENIZER_FILE,
  MODEL_INFO_FILE,
  ONNX_CANDIDATES,
} from "./model-source.js";
export {
  ModelLoadError,
  ChecksumMismatchError,
  TextTooLongError,
  EmbedderClosedError,
  EmbedderFailedError,
  MODEL_LOAD_ADVICE,
  type ModelLoadFailure,
  type ModelLoadErrorDetails,
} from "./errors.js";
export { cosineSimilarity } from "./pooling.js";
