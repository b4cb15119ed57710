/**
 * Downloading one file with integrity checks: streamed to a temp file in the
 * destination's directory, verified, then renamed into place, so a reader
 * never sees a half-written or unverified file.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ChecksumMismatchError, ModelLoadError } from "./errors.js";

/** Default {@link FileDownload.idleTimeoutMs}. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** One file to fetch. */
export interface FileDownload {
  /** Where to fetch it; redirects are followed. */
  readonly url: string;
  /** Final path; its directory is created if missing. */
  readonly destination: string;
  /** Name used in messages, such as "onnx/model_quantized.onnx". */
  readonly label: string;
  /** Expected lowercase hex SHA-256, when pinned. */
  readonly sha256?: string;
  /** Expected size in bytes, when pinned. */
  readonly size?: number;
  /** Extra check of the temp file before it is renamed; throws (any error) to reject it. */
  readonly validate?: (path: string) => Promise<void>;
  /** Abort when no bytes arrive for this long; default 60 s. */
  readonly idleTimeoutMs?: number;
  /** Told as bytes arrive (once with 0 when the transfer starts), for progress reports; must be cheap. */
  readonly onProgress?: (progress: TransferProgress) => void;
}

/** How far one download has got. */
export interface TransferProgress {
  /** Bytes received so far. */
  readonly receivedBytes: number;
  /** The file's size: the pinned one, else the server's Content-Length; undefined when neither is known. */
  readonly totalBytes: number | undefined;
}

/** SHA-256 and size of a file's bytes. */
export interface FileDigest {
  /** Lowercase hex SHA-256. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Hashes a file by streaming it, so large models need no extra memory. */
export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Fetches `download.url` into `download.destination`. On any failure the temp
 * file is removed and the destination is left as it was.
 *
 * @throws ModelLoadError naming the URL (and HTTP status) when the fetch fails.
 * @throws ChecksumMismatchError when the bytes differ from the pinned hash or size.
 */
export async function downloadFile(download: FileDownload): Promise<void> {
  const { url, destination } = download;
  const directory = dirname(destination);
  await mkdir(directory, { recursive: true });
  // Unique per attempt so concurrent processes sharing a cache never collide.
  const temp = join(directory, `.${basename(destination)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const digest = await fetchToFile(download, temp);
    const expected = download.sha256?.toLowerCase();
    const sizeWrong = download.size !== undefined && digest.size !== download.size;
    if ((expected !== undefined && digest.sha256 !== expected) || sizeWrong) {
      const sizeNote = sizeWrong ? ` (expected ${download.size} bytes, got ${digest.size})` : "";
      throw new ChecksumMismatchError(download.label, url, expected ?? "(not pinned)", digest.sha256, sizeNote);
    }
    try {
      await download.validate?.(temp);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ModelLoadError(`Download of ${download.label} from ${url} is not usable: ${reason}`, {
        kind: "invalid-file",
        url,
        cause,
      });
    }
    await rename(temp, destination);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function fetchToFile(download: FileDownload, temp: string): Promise<FileDigest> {
  const { url } = download;
  const idleTimeoutMs = download.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  const failure = (what: string, cause: unknown): ModelLoadError =>
    new ModelLoadError(`Download of ${download.label} from ${url} failed: ${what}.`, {
      kind: "download-failed",
      url,
      cause,
    });

  touch();
  try {
    let response: Response;
    try {
      response = await fetch(url, { redirect: "follow", signal: controller.signal });
    } catch (cause) {
      throw failure(describeFetchError(cause), cause);
    }
    if (!response.ok || response.body === null) {
      const via = response.redirected ? ` (redirected to ${response.url})` : "";
      throw new ModelLoadError(
        `Download of ${download.label} from ${url} failed: HTTP ${response.status} ${response.statusText}${via}.`,
        { kind: "download-failed", url, status: response.status },
      );
    }
    const hash = createHash("sha256");
    let size = 0;
    const announced = Number(response.headers.get("content-length") ?? Number.NaN);
    const totalBytes = download.size ?? (Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined);
    download.onProgress?.({ receivedBytes: 0, totalBytes });
    try {
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        async function* (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            touch();
            hash.update(chunk);
            size += chunk.length;
            download.onProgress?.({ receivedBytes: size, totalBytes });
            yield chunk;
          }
        },
        createWriteStream(temp, { flags: "wx" }),
      );
    } catch (cause) {
      throw failure(`the transfer broke off after ${size} bytes (${describeFetchError(cause)})`, cause);
    }
    return { sha256: hash.digest("hex"), size };
  } finally {
    clearTimeout(idleTimer);
  }
}

/** Undici hides the useful part (ECONNREFUSED, ENOTFOUND, ...) in `cause`. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message}: ${cause.message}`;
  return error.message;
}
