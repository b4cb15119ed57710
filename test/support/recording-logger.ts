/**
 * A real pino logger (the project's) whose lines are kept in memory, parsed,
 * so a test can assert what a component logged.
 */
import { pino, type Logger } from "pino";

/** One logged line. */
export interface LogRecord {
  /** pino's numeric level: 40 warn, 50 error. */
  readonly level: number;
  readonly msg: string;
  /** The serialised error, when one was logged under `err`. */
  readonly err?: { readonly type?: string; readonly message?: string };
  readonly [field: string]: unknown;
}

/** A logger and what it has written so far. */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: "trace" }, { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}
