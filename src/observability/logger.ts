import { pino, type Logger } from "pino";

/** The structured logger every part of the server writes to. */
export type { Logger } from "pino";

/** A JSON logger on stderr at the given level. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "semcache" } }, pino.destination(2));
}
