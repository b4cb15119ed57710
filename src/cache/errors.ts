/**
 * Errors of the cache core. The API layer maps each to a status code; the
 * core itself stays independent of any wire protocol.
 */

/** The caller sent a value the cache cannot accept (maps to INVALID_ARGUMENT). */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  /** The request field at fault, in the API's snake_case, such as "scope.namespace". */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** The cache is still loading its model or store (maps to UNAVAILABLE). */
export class NotReadyError extends Error {
  override readonly name = "NotReadyError";
}
