import { createLogger, type Logger } from "../observability/logger.js";

let fallback: Logger | undefined;

/**
 * The logger a store reports background failures to when its opener passes
 * none: the project logger (JSON on stderr), so what no caller can be told
 * is never lost nor printed in another shape. The server passes its own.
 */
export function storeLogger(): Logger {
  fallback ??= createLogger("info");
  return fallback;
}
