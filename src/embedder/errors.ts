/**
 * Errors of the embedder. They carry the path, URL or hash at fault so that an
 * operator can act on the message alone, without reading a stack trace.
 */

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
export class ModelLoadError extends Error {
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
 * A text needs more windows than the embedder allows. Raised instead of
 * truncating, because a truncated embedding would make different prompts
 * collide in the cache.
 */
export class TextTooLongError extends Error {
  override readonly name = "TextTooLongError";
  /** Word pieces in the text, special tokens excluded. */
  readonly tokens: number;
  /** Windows the text would need. */
  readonly windows: number;
  /** The configured upper bound on windows. */
  readonly maxWindows: number;

  constructor(tokens: number, windows: number, maxWindows: number) {
    super(
      `Text has ${tokens} word pieces and would need ${windows} windows; the embedder allows at most ${maxWindows}.`,
    );
    this.tokens = tokens;
    this.windows = windows;
    this.maxWindows = maxWindows;
  }
}

/** `embed` was called after `close`. */
export class EmbedderClosedError extends Error {
  override readonly name = "EmbedderClosedError";

  constructor() {
    super("The embedder is closed.");
  }
}
