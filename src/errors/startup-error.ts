/**
 * A problem that stops the server before (or while) it starts and that the
 * operator fixes: a bad setting, a missing model, an unwritable data
 * directory, a key file that does not parse, a Redis without the query
 * engine. The CLI prints its message alone, without a stack, so every
 * subclass's message must name the setting, path or command to change.
 */
export class StartupError extends Error {
  override readonly name: string = "StartupError";
}
