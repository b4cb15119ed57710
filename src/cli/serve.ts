import { startServerFromConfig } from "../app/start-server.js";
import type { ServerConfig } from "../config/settings.js";
import { createLogger } from "../server/logger.js";

/**
 * Runs the server until SIGTERM or SIGINT, then shuts down gracefully.
 * Resolves with the process exit code.
 */
export async function serve(config: ServerConfig): Promise<number> {
  const logger = createLogger(config.logLevel);
  const server = await startServerFromConfig(config, logger);
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
      logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
      void server.close().finally(() => resolve(1));
    });
  });
}
