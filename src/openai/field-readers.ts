/**
 * Typed readers for the fields of a JSON request body. Each one treats a
 * missing field and an explicit `null` alike (OpenAI's API does), and throws
 * an INVALID_ARGUMENT SemcacheError naming the field (the OpenAI error's
 * `param`) when the value has the wrong type or range.
 */
import { SemcacheError } from "../errors/index.js";

/** A JSON object, as it came off the wire. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Whether `value` is a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An INVALID_ARGUMENT error about `field`; the message starts with the field, as the cache core's do. */
export function invalidField(field: string, problem: string): SemcacheError {
  return new SemcacheError("invalid_argument", `${field}: ${problem}`, { field });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

/** Bounds of a numeric field. */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** Only whole numbers. */
  readonly integer?: boolean;
}

/** A number field within `rule`, or undefined when absent or null. */
export function optionalNumber(body: JsonObject, field: string, rule: NumberRule = {}, path = field): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalidField(path, `must be a number (got ${describe(value)})`);
  if (rule.integer === true && !Number.isSafeInteger(value)) throw invalidField(path, `must be a whole number (got ${value})`);
  const { min, max } = rule;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `${min} or more` : `${max} or less`;
    throw invalidField(path, `must be ${range} (got ${value})`);
  }
  return value;
}

/** A boolean field, or undefined when absent or null. */
export function optionalBoolean(body: JsonObject, field: string, path = field): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidField(path, `must be true or false (got ${describe(value)})`);
  return value;
}

/** A string field, or undefined when absent or null. */
export function optionalString(body: JsonObject, field: string, path = field): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidField(path, `must be a string (got ${describe(value)})`);
  return value;
}

/** An object field, or undefined when absent or null. */
export function optionalObject(body: JsonObject, field: string, path = field): JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw invalidField(path, `must be an object (got ${describe(value)})`);
  return value;
}

/** An array field, or undefined when absent or null. */
export function optionalArray(body: JsonObject, field: string, path = field): readonly unknown[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidField(path, `must be an array (got ${describe(value)})`);
  return value;
}

/** A field that may be a string or an object (tool_choice, function_call), or undefined when absent or null. */
export function optionalStringOrObject(body: JsonObject, field: string, path = field): string | JsonObject | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" && !isJsonObject(value)) throw invalidField(path, `must be a string or an object (got ${describe(value)})`);
  return value;
}

/** One of `allowed`, or undefined when absent or null. */
export function optionalEnum<T extends string>(body: JsonObject, field: string, allowed: readonly T[], path = field): T | undefined {
  const value = optionalString(body, field, path);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidField(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")} (got ${JSON.stringify(value.slice(0, 40))})`);
  }
  return value as T;
}
