import { accessSync, constants, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { findModelInDirectory } from "../embedder/model-source.js";
import type { ServerConfig } from "../config/settings.js";
import { StartupError } from "../errors/index.js";

/**
 * Checks, before the server listens, what can be checked quickly: the model
 * directory (when one is set) holds a model, and the embedded store's data
 * directory is writable. Slow work (a download, loading the model) happens
 * after the server listens, so health checks can watch it.
 */
export async function preflight(config: ServerConfig): Promise<void> {
  if (config.modelDir !== undefined) {
    await findModelInDirectory(resolve(config.modelDir));
  }
  if (config.redisUrl === undefined) {
    const dir = resolve(config.dataDir);
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (error) {
      throw new StartupError(
        `SEMCACHE_DATA_DIR ${dir} is not a writable directory (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set SEMCACHE_DATA_DIR or --data-dir to one that is`,
      );
    }
  }
}
