import { startServerFromConfig, type ServerParts } from "../app/start-server.js";
import type { ServerConfig } from "../config/settings.js";
import { MODEL_LOAD_ADVICE, ModelLoadError } from "../embedder/errors.js";
import { createLogger } from "../observability/logger.js";

/**
 * The plain line a failed start prints before its log line. A model that
 * cannot be downloaded is the usual first-start failure (no network): say
 * so, and give both ways out.
 */
export function startFailureText(error: unknown): string {
  if (error instanceof ModelLoadError && error.kind === "download-failed") {
    const what = error.message.replace(MODEL_LOAD_ADVICE, "").trim();
    return [
      `semcache: cannot start: the embedding model could not be downloaded. ${what}`,
      "  No network? Either set SEMCACHE_MODEL_DIR to a directory holding the model (tokenizer.json and an .onnx file),",
      "  or run `npm run start:fixture` to try the API with the small test model (not for production).",
    ].join("\n");
  }
  return `semcache: cannot start: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Runs the server until SIGTERM or SIGINT, then shuts down gracefully.
 * Resolves with the process exit code. `parts` replaces parts of the
 * composition (tests run replicas on a Redis without the query engine).
 */
export async function serve(config: ServerConfig, parts: ServerParts = {}): Promise<number> {
  const logger = createLogger(config.logLevel);
  const server = await startServerFromConfig(config, logger, parts);
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, "signal received");
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    // The conventional "reread your configuration": here, the API key file (which is also watched).
    if (config.apiKeysFile !== undefined) process.on("SIGHUP", () => void server.reloadKeys());
    server.ready.catch((error: unknown) => {
      // A person reads this first; the log line after it is for machines: short, the stack only at debug level.
      process.stderr.write(`${startFailureText(error)}\n`);
      const failure = error instanceof Error ? error : new Error(String(error));
      logger.fatal({ error: failure.name }, `cannot start: ${failure.message}`);
      logger.debug({ err: failure }, "cannot start (details)");
      void server.close().finally(() => resolve(1));
    });
  });
}
