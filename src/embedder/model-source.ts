/**
 * Finding the model files: either in a directory the operator names
 * (SEMCACHE_MODEL_DIR, passed in by the caller) or in a local cache that is
 * filled from a Hugging Face style server on first use.
 */
import { constants } from "node:fs";
import { access, readFile, stat, writeFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { digestFile, downloadFile, type TransferProgress } from "./download.js";
import { ModelLoadError } from "./errors.js";
import { readJsonObject } from "./json-file.js";

/** The model downloaded when no directory is given. */
export const DEFAULT_MODEL_REPO = "Xenova/all-MiniLM-L6-v2";
/** Default server for downloads; URLs are `${base}/${repo}/resolve/${revision}/${path}`. */
export const DEFAULT_DOWNLOAD_BASE_URL = "https://huggingface.co";
/** Default repository revision. */
export const DEFAULT_REVISION = "main";
/** Name of the optional file in a model directory that names the model. */
export const MODEL_INFO_FILE = "semcache-model.json";

/** A file of a downloadable model, with its pinned hash if known. */
export interface RemoteModelFile {
  /** Path inside the repository, also used inside the cache directory. */
  readonly path: string;
  /** Expected lowercase hex SHA-256. */
  readonly sha256?: string;
  /** Expected size in bytes. */
  readonly size?: number;
}

/** The ONNX file of {@link DEFAULT_MODEL_REPO}, pinned. */
export const DEFAULT_ONNX_FILE: RemoteModelFile = {
  path: "onnx/model_quantized.onnx",
  sha256: "afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1",
  size: 22_972_370,
};
/** The tokenizer of {@link DEFAULT_MODEL_REPO}; not pinned, checked for shape instead. */
export const DEFAULT_TOKENIZER_FILE: RemoteModelFile = { path: "tokenizer.json" };

/** ONNX files looked for in a model directory, in order of preference. */
export const ONNX_CANDIDATES: readonly string[] = [
  "model.onnx",
  "model_quantized.onnx",
  "onnx/model.onnx",
  "onnx/model_quantized.onnx",
];

/** Paths of a usable model. */
export interface ModelFiles {
  /** The model's identifier, such as "Xenova/all-MiniLM-L6-v2". */
  readonly modelId: string;
  /** The model directory. */
  readonly directory: string;
  /** The .onnx file. */
  readonly onnxPath: string;
  /** The tokenizer.json file. */
  readonly tokenizerPath: string;
  /** Whether the files came from the operator's directory or the download cache. */
  readonly source: "directory" | "download";
}

/** How to find or fetch the model. */
export interface ModelSourceOptions {
  /** A directory with tokenizer.json and an .onnx file; when set, nothing is downloaded. */
  readonly modelDir?: string;
  /** Root of the download cache; files go to `<cacheDir>/<repo>`. Default {@link defaultModelCacheDir}. */
  readonly cacheDir?: string;
  /** Download server; default {@link DEFAULT_DOWNLOAD_BASE_URL}. */
  readonly downloadBaseUrl?: string;
  /** Repository revision to download; default "main". */
  readonly revision?: string;
  /**
   * Expected SHA-256 per repository path (such as "tokenizer.json"). Adds a
   * pin, or replaces the built-in one (then the built-in size is not checked).
   */
  readonly expectedSha256?: Readonly<Record<string, string>>;
  /** Overrides the model's identifier. */
  readonly modelId?: string;
  /** Told as a model file downloads (not called when every file is cached): for progress reports. */
  readonly onDownloadProgress?: (progress: ModelDownloadProgress) => void;
}

/** How far the download of one model file has got. */
export interface ModelDownloadProgress extends TransferProgress {
  /** The model's repository, such as "Xenova/all-MiniLM-L6-v2". */
  readonly model: string;
  /** The file's path in the repository, such as "onnx/model_quantized.onnx". */
  readonly file: string;
  /** Where it comes from. */
  readonly url: string;
}

/** `~/.cache/semcache/models`, the usual root of the download cache. */
export function defaultModelCacheDir(): string {
  return join(homedir(), ".cache", "semcache", "models");
}

/** Uses `modelDir` when given, otherwise the download cache (downloading on first use). */
export function resolveModel(options: ModelSourceOptions = {}): Promise<ModelFiles> {
  if (options.modelDir !== undefined) return findModelInDirectory(options.modelDir, options.modelId);
  return downloadDefaultModel(options);
}

/**
 * Checks that `dir` holds tokenizer.json and one of {@link ONNX_CANDIDATES}
 * (or the file named by `onnx` in semcache-model.json). The model id is, in
 * order: `modelId`, the `modelId` field of semcache-model.json, the
 * directory's base name.
 *
 * @throws ModelLoadError naming the directory and the missing file.
 */
export async function findModelInDirectory(dir: string, modelId?: string): Promise<ModelFiles> {
  const directory = resolve(dir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(directory);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new ModelLoadError(
      missing
        ? `Model directory ${directory} does not exist.`
        : `Model directory ${directory} cannot be read: ${String(cause)}.`,
      { kind: missing ? "missing-directory" : "unreadable", path: directory, cause },
    );
  }
  if (!info.isDirectory()) {
    throw new ModelLoadError(`Model directory ${directory} is not a directory.`, {
      kind: "missing-directory",
      path: directory,
    });
  }
  const described = await readModelInfo(directory);
  const tokenizerPath = join(directory, "tokenizer.json");
  if (!(await isReadableFile(tokenizerPath))) {
    throw new ModelLoadError(`Model directory ${directory} has no readable tokenizer.json (${tokenizerPath}).`, {
      kind: "missing-file",
      path: tokenizerPath,
    });
  }
  const candidates = described.onnx !== undefined ? [described.onnx] : ONNX_CANDIDATES;
  let onnxPath: string | undefined;
  for (const candidate of candidates) {
    const path = join(directory, candidate);
    if (await isReadableFile(path)) {
      onnxPath = path;
      break;
    }
  }
  if (onnxPath === undefined) {
    throw new ModelLoadError(
      `Model directory ${directory} has no readable ONNX model (looked for ${candidates.join(", ")}).`,
      { kind: "missing-file", path: directory },
    );
  }
  return {
    modelId: modelId ?? described.modelId ?? basename(directory),
    directory,
    onnxPath,
    tokenizerPath,
    source: "directory",
  };
}

/**
 * Makes sure {@link DEFAULT_MODEL_REPO}'s files are in the cache, downloading
 * any that are missing or fail their check, and returns their paths. Files
 * already cached and matching their pinned hash are not fetched again.
 *
 * @throws ModelLoadError naming the URL and status when a download fails.
 * @throws ChecksumMismatchError when a downloaded file differs from its pin.
 */
export async function downloadDefaultModel(options: ModelSourceOptions = {}): Promise<ModelFiles> {
  const repo = DEFAULT_MODEL_REPO;
  const revision = options.revision ?? DEFAULT_REVISION;
  const base = (options.downloadBaseUrl ?? DEFAULT_DOWNLOAD_BASE_URL).replace(/\/+$/, "");
  const root = resolve(options.cacheDir ?? defaultModelCacheDir());
  // Revisions other than main get their own directory so files never mix.
  const directory = join(root, ...repo.split("/")) + (revision === DEFAULT_REVISION ? "" : `@${revision}`);
  const files = [DEFAULT_ONNX_FILE, DEFAULT_TOKENIZER_FILE].map((file) => withPin(file, options.expectedSha256));
  const [onnxFile, tokenizerFile] = files as [RemoteModelFile, RemoteModelFile];

  for (const file of files) {
    const destination = join(directory, ...file.path.split("/"));
    const validate = file === tokenizerFile ? checkTokenizerJson : undefined;
    if (await isCachedCopyGood(destination, file, validate)) continue;
    const url = `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${file.path}`;
    const report = options.onDownloadProgress;
    await downloadFile({
      url,
      destination,
      label: file.path,
      ...(report === undefined ? {} : { onProgress: (progress: TransferProgress) => report({ ...progress, model: repo, file: file.path, url }) }),
      ...(file.sha256 !== undefined ? { sha256: file.sha256 } : {}),
      ...(file.size !== undefined ? { size: file.size } : {}),
      ...(validate !== undefined ? { validate } : {}),
    });
  }
  const modelId = options.modelId ?? repo;
  await writeModelInfo(directory, { modelId: repo, onnx: onnxFile.path });
  return {
    modelId,
    directory,
    onnxPath: join(directory, ...onnxFile.path.split("/")),
    tokenizerPath: join(directory, ...tokenizerFile.path.split("/")),
    source: "download",
  };
}

/** Applies a caller's hash pin; a replaced hash makes the built-in size meaningless. */
function withPin(file: RemoteModelFile, pins: Readonly<Record<string, string>> | undefined): RemoteModelFile {
  const pinned = pins?.[file.path];
  if (pinned === undefined || pinned.toLowerCase() === file.sha256) return file;
  return { path: file.path, sha256: pinned.toLowerCase() };
}

async function isCachedCopyGood(
  path: string,
  file: RemoteModelFile,
  validate: ((path: string) => Promise<void>) | undefined,
): Promise<boolean> {
  if (!(await isReadableFile(path))) return false;
  if (file.sha256 !== undefined || file.size !== undefined) {
    const digest = await digestFile(path);
    if (file.sha256 !== undefined && digest.sha256 !== file.sha256) return false;
    if (file.size !== undefined && digest.size !== file.size) return false;
  }
  if (validate !== undefined) {
    try {
      await validate(path);
    } catch {
      return false;
    }
  }
  return true;
}

/** An unpinned tokenizer.json must at least be JSON with a `model` field. */
async function checkTokenizerJson(path: string): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new Error(`it is not valid JSON (${String(cause)}).`, { cause });
  }
  if (parsed === null || typeof parsed !== "object" || !("model" in parsed)) {
    throw new Error(`it is JSON without a "model" field, so not a tokenizer.json.`);
  }
}

interface ModelInfo {
  readonly modelId?: string;
  readonly onnx?: string;
}

/** Reads semcache-model.json if present; a malformed one is an error, not ignored. */
async function readModelInfo(directory: string): Promise<ModelInfo> {
  const path = join(directory, MODEL_INFO_FILE);
  const record = (await readJsonObject(path, false)) ?? {};
  const { modelId, onnx } = record;
  if ((modelId !== undefined && typeof modelId !== "string") || (onnx !== undefined && typeof onnx !== "string")) {
    throw new ModelLoadError(`${path} must hold {"modelId"?: string, "onnx"?: string}.`, {
      kind: "invalid-file",
      path,
    });
  }
  return { ...(modelId !== undefined ? { modelId } : {}), ...(onnx !== undefined ? { onnx } : {}) };
}

/**
 * Records the repository name in the cache directory, so that pointing
 * SEMCACHE_MODEL_DIR at the cache keeps the same model id (and index names).
 */
async function writeModelInfo(directory: string, info: ModelInfo): Promise<void> {
  const path = join(directory, MODEL_INFO_FILE);
  const text = `${JSON.stringify(info, null, 2)}\n`;
  try {
    if ((await readFile(path, "utf8")) === text) return;
  } catch {
    // Missing: write it below.
  }
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch {
    // Only a convenience; the model works without it.
    await rm(temp, { force: true });
  }
}

async function isReadableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
