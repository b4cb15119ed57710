import { pino, type Logger } from "pino";

/** The structured logger every part of the server writes to. */
export type { Logger } from "pino";

/**
 * Lines are gathered until this many bytes or {@link LOG_FLUSH_MS} pass: one
 * write(2) per RPC log line was the largest single cost of an exact-hit
 * Lookup after the protocol itself (issue 14's profile).
 */
const LOG_BUFFER_BYTES = 4096;
/** The longest a log line waits in the buffer, so a quiet server's lines still appear at once to a reader. */
const LOG_FLUSH_MS = 100;

/**
 * A JSON logger on stderr at the given level. Writes are asynchronous and
 * buffered (see above); pino flushes what is pending when the process exits,
 * so only a `kill -9` can lose lines, at most {@link LOG_FLUSH_MS}' worth.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: "semcache" } },
    pino.destination({ dest: 2, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}
