import { pino, type Logger } from "pino";

/** The structured logger every part of the server writes to. */
export type { Logger } from "pino";

/**
 * A JSON logger on stderr at the given level. Writes are asynchronous: a
 * synchronous write(2) per RPC log line was the largest single cost of an
 * exact-hit Lookup after the protocol itself (bench/results, issue 14); pino
 * flushes what is pending when the process exits.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "semcache" } }, pino.destination({ dest: 2, sync: false }));
}
