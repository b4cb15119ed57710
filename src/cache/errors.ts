/**
 * Errors of the cache core: {@link SemcacheError}s, so every wire edge maps
 * them through its one table and the core stays free of any protocol.
 */
import { SemcacheError } from "../errors/index.js";

/** The caller sent a value the cache cannot accept (INVALID_ARGUMENT). Its message starts with the field. */
export class InvalidInputError extends SemcacheError {
  override readonly name: string = "InvalidInputError";
  /** The request field at fault, in the API's snake_case, such as "scope.namespace". */
  declare readonly field: string;

  constructor(field: string, message: string) {
    super("invalid_argument", `${field}: ${message}`, { field });
  }
}

/** The cache is still loading its model or store (UNAVAILABLE: retry shortly). */
export class NotReadyError extends SemcacheError {
  override readonly name: string = "NotReadyError";

  constructor(message: string) {
    super("unavailable", message);
  }
}
