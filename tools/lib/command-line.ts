/**
 * Command-line parsing for the project's tools (`npm run load`, `npm run
 * bench`, `npm run attack`): node:util's parseArgs, with its errors and the
 * number checks every tool needs turned into one error type that the tools
 * print without a stack.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad command line: reported by its message alone, without a stack. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The option definitions of `parseArgs`. */
export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `argv` strictly (unknown options and positionals are errors),
 * throwing a UsageError that names the option and points at --help.
 */
export function parseCommandLine<const T extends OptionSpecs>(argv: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"] {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see --help)`);
  }
}

/** `value` as a whole number ≥ `min`, or `fallback` when the option was not given. */
export function wholeNumber(flag: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/u.test(value) || Number(value) < min) throw new UsageError(`--${flag} must be a whole number ≥ ${min}, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** `value` as a finite number ≥ `min`, or `fallback` when the option was not given. */
export function numberAtLeast(flag: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < min) throw new UsageError(`--${flag} must be a number ≥ ${min}, not ${JSON.stringify(value)}`);
  return parsed;
}

/** `value` as a comma-separated list of whole numbers from `min` to `max`, or `fallback` when not given. */
export function wholeNumbers(flag: string, value: string | undefined, min: number, max: number, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  const numbers = value.split(",").map((part) => wholeNumber(flag, part.trim(), min, 0));
  if (numbers.some((n) => n > max)) throw new UsageError(`--${flag} must be whole numbers from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return numbers;
}
