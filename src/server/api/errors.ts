import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidInputError, NotReadyError } from "../../cache/errors.js";
import { EmbedderClosedError, TextTooLongError } from "../../embedder/errors.js";
import { SemcacheError } from "../../errors/index.js";
import { StoreUnavailableError } from "../../store/cache-store.js";

/**
 * Maps an error of the core, the store or the embedder to a ConnectError
 * with the status a client can act on. Unknown errors become INTERNAL with a
 * generic message: their text may hold details no caller should see.
 */
export function toConnectError(error: unknown, log: (error: unknown) => void): ConnectError {
  if (error instanceof ConnectError) return error;
  // resource_exhausted → Code.ResourceExhausted: the codes share gRPC's names.
  if (error instanceof SemcacheError) return new ConnectError(error.message, Code[error.code.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof typeof Code]);
  if (error instanceof InvalidInputError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof TextTooLongError) return new ConnectError(`prompt: ${error.message}`, Code.InvalidArgument);
  if (error instanceof NotReadyError || error instanceof EmbedderClosedError) return new ConnectError(error.message, Code.Unavailable);
  if (error instanceof StoreUnavailableError) {
    return new ConnectError(`cache store unavailable: ${error.message}`, Code.Unavailable);
  }
  log(error);
  return new ConnectError("internal error (see the server log)", Code.Internal);
}
