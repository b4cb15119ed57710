import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { StartupError } from "../../errors/index.js";

/** Raised when the data directory cannot be used; the message always names the path. */
export class DataDirError extends StartupError {
  override readonly name = "DataDirError";

  constructor(
    /** The absolute path that could not be used. */
    readonly path: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`data directory ${path}: ${reason}`, options);
  }
}

/**
 * Creates the data directory if needed and checks it is a writable directory;
 * returns its absolute path.
 *
 * Checked up front so a misconfigured path is refused at startup with the path
 * in the message, rather than surfacing later as an opaque SQLite error.
 */
export function prepareDataDir(dataDir: string): string {
  const path = resolve(dataDir);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new DataDirError(path, "is not a directory", { cause: error });
    throw new DataDirError(path, `cannot be created (${describe(error)})`, { cause: error });
  }
  try {
    if (!statSync(path).isDirectory()) throw new DataDirError(path, "is not a directory");
    accessSync(path, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof DataDirError) throw error;
    throw new DataDirError(path, `is not writable (${describe(error)})`, { cause: error });
  }
  return path;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined ? message : `${code}: ${message}`;
}
