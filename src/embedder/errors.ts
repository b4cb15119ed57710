/**
 * Errors of the embedder. Loading failures are {@link StartupError}s that
 * carry the path, URL or hash at fault, so an operator can act on the
 * message alone; failures a request can meet are {@link SemcacheError}s.
 */
import { SemcacheError, StartupError } from "../errors/index.js";

/** The advice every model-loading failure ends with, since either fix works. */
export const MODEL_LOAD_ADVICE =
  "To fix: set SEMCACHE_MODEL_DIR to a directory holding tokenizer.json and an .onnx model " +
  "(model.onnx, model_quantized.onnx, onnx/model.onnx or onnx/model_quantized.onnx), " +
  "or make the download base URL (SEMCACHE_MODEL_BASE_URL) reachable so the model can be fetched on first use.";

/** Which piece of a model load failed, for callers that branch on it. */
export type ModelLoadFailure =
  | "missing-directory"
  | "missing-file"
  | "unreadable"
  | "invalid-file"
  | "download-failed"
  | "checksum-mismatch"
  | "incompatible-model";

/** Facts a {@link ModelLoadError} can name; all optional because failures differ. */
export interface ModelLoadErrorDetails {
  /** What kind of failure this was. */
  readonly kind: ModelLoadFailure;
  /** The local file or directory at fault. */
  readonly path?: string;
  /** The URL at fault, for download failures. */
  readonly url?: string;
  /** The HTTP status, when the server answered with an error. */
  readonly status?: number;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * The model could not be found, fetched, verified or opened. The message
 * names what failed and always ends with {@link MODEL_LOAD_ADVICE}.
 */
export class ModelLoadError extends StartupError {
  override readonly name: string = "ModelLoadError";
  /** What kind of failure this was. */
  readonly kind: ModelLoadFailure;
  /** The local file or directory at fault, if any. */
  readonly path: string | undefined;
  /** The URL at fault, if any. */
  readonly url: string | undefined;
  /** The HTTP status, if the server answered with an error. */
  readonly status: number | undefined;

  constructor(message: string, details: ModelLoadErrorDetails) {
    super(`${message} ${MODEL_LOAD_ADVICE}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.path = details.path;
    this.url = details.url;
    this.status = details.status;
  }
}

/**
 * A downloaded (or cached) file's SHA-256 or size differs from the expected
 * one. The bad file has been removed by the time this is thrown.
 */
export class ChecksumMismatchError extends ModelLoadError {
  override readonly name: string = "ChecksumMismatchError";
  /** The file's path inside the model repository, such as "onnx/model_quantized.onnx". */
  readonly file: string;
  /** The expected lowercase hex SHA-256. */
  readonly expectedSha256: string;
  /** The SHA-256 of the bytes actually received. */
  readonly actualSha256: string;

  constructor(file: string, url: string, expectedSha256: string, actualSha256: string, sizeNote = "") {
    super(
      `Checksum mismatch for ${file} downloaded from ${url}: expected sha256 ${expectedSha256}, got ${actualSha256}${sizeNote}; the file was discarded.`,
      { kind: "checksum-mismatch", url, path: file },
    );
    this.file = file;
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }
}

/**
 * A text needs more windows than the embedder allows (INVALID_ARGUMENT).
 * Raised instead of truncating, because a truncated embedding would make
 * different prompts collide in the cache. Every text semcache embeds is a
 * request's prompt, so the error names that field.
 */
export class TextTooLongError extends SemcacheError {
  override readonly name: string = "TextTooLongError";
  /** Word pieces in the text, special tokens excluded. */
  readonly tokens: number;
  /** Windows the text would need. */
  readonly windows: number;
  /** The configured upper bound on windows. */
  readonly maxWindows: number;

  constructor(tokens: number, windows: number, maxWindows: number) {
    super(
      "invalid_argument",
      `prompt: Text has ${tokens} word pieces and would need ${windows} windows; the embedder allows at most ${maxWindows}.`,
      { field: "prompt" },
    );
    this.tokens = tokens;
    this.windows = windows;
    this.maxWindows = maxWindows;
  }
}

/** `embed` was called after `close` (UNAVAILABLE: the server is shutting down, or see the subclass). */
export class EmbedderClosedError extends SemcacheError {
  override readonly name: string = "EmbedderClosedError";

  constructor(message = "The embedder is closed.", options: { readonly cause?: unknown } = {}) {
    super("unavailable", message, options);
  }
}

/**
 * The embedder's inference worker died, so the embedder cannot embed any
 * more; it must be closed and a new one opened (or the process restarted).
 * A subclass of {@link EmbedderClosedError}, so code that already treats a
 * closed embedder as "cache unavailable, retry later" handles it too.
 */
export class EmbedderFailedError extends EmbedderClosedError {
  override readonly name: string = "EmbedderFailedError";

  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options);
  }
}
