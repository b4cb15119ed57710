/**
 * What went wrong, in the terms a caller can act on. The names are gRPC's
 * status codes (snake case), because they are the most precise shared
 * vocabulary for it; each edge translates them into its own protocol:
 * Connect/gRPC status codes (server/api/errors.ts) and HTTP statuses.
 */
export type ErrorCode =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";
