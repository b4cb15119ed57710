/**
 * What the server is doing while it loads (downloading the model, opening
 * the store), said in the log and, through {@link LoadProgress.status}, in
 * /healthz: a first start downloads ~23 MB, and "NOT_SERVING" alone does
 * not tell an operator whether to wait or to look.
 */
import type { ModelDownloadProgress } from "../embedder/model-source.js";
import type { Logger } from "../observability/logger.js";

/** Log a download's progress at least this often... */
const LOG_EVERY_MS = 2_000;
/** ...and each time it passes another tenth of the file. */
const LOG_EVERY_FRACTION = 0.1;

/** Megabytes with one decimal, as a person reads a download's size. */
function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

/** Tracks the loading step in progress, and reports model downloads. */
export class LoadProgress {
  #status: string | undefined = "loading model";
  #file: string | undefined;
  #lastLogAt = 0;
  #lastLoggedFraction = 0;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The step in progress ("downloading model (…): 12.1 of 23.0 MB"), or undefined once loaded (or failed). */
  get status(): string | undefined {
    return this.#status;
  }

  /** Names the step now in progress. */
  step(status: string): void {
    this.#status = status;
  }

  /** Loading is over, one way or the other. */
  finish(): void {
    this.#status = undefined;
  }

  /** Receives the model source's download progress (`onDownloadProgress`). */
  readonly onDownload = (progress: ModelDownloadProgress): void => {
    const { file, receivedBytes, totalBytes } = progress;
    const of = totalBytes === undefined ? "" : ` of ${megabytes(totalBytes)}`;
    this.#status = `downloading model (${file}): ${megabytes(receivedBytes)}${of} MB`;
    const fields = { model: progress.model, file, receivedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) };
    if (file !== this.#file) {
      this.#file = file;
      this.#lastLogAt = this.now();
      this.#lastLoggedFraction = 0;
      this.logger.info({ ...fields, url: progress.url }, `downloading the model (first start; cached afterwards): ${file}${of === "" ? "" : `,${of} MB`}`);
      return;
    }
    const done = totalBytes !== undefined && receivedBytes >= totalBytes;
    const fraction = totalBytes === undefined || totalBytes === 0 ? 0 : receivedBytes / totalBytes;
    const due = done || this.now() - this.#lastLogAt >= LOG_EVERY_MS || fraction - this.#lastLoggedFraction >= LOG_EVERY_FRACTION;
    if (!due) return;
    this.#lastLogAt = this.now();
    this.#lastLoggedFraction = fraction;
    const percent = totalBytes === undefined ? "" : ` (${Math.floor(fraction * 100)}%)`;
    this.logger.info(fields, `${done ? "downloaded" : "downloading"} ${file}: ${megabytes(receivedBytes)}${of} MB${percent}`);
  };
}
