/**
 * semcache's error model: {@link SemcacheError} for anything a request can
 * meet, {@link StartupError} for what stops the server at start.
 */
export type { ErrorCode } from "./error-code.js";
export { hasCode, SemcacheError, type SemcacheErrorOptions } from "./semcache-error.js";
export { StartupError } from "./startup-error.js";
