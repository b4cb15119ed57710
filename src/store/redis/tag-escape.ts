/**
 * Escaping of values inside a RediSearch TAG query clause, `@field:{value}`.
 *
 * The query lexer treats every ASCII punctuation character and every space as
 * a separator or operator, so each must be preceded by a backslash; that is
 * the only escape the lexer understands (a backslash before a letter or a
 * non-ASCII character is not an escape), so nothing else is touched.
 */

// ASCII punctuation and ASCII white space, minus "_" (a word character to the
// lexer). Non-ASCII white space is left alone: the lexer does not split on it.
const NEEDS_ESCAPE = /[\t-\r !-\/:-@\[-^`{-~]/gu;
// Control characters cannot be written in a query at all, escaped or not.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: they are refused
const CONTROL_CHARS = /[\u0000-\u0008\u000e-\u001f\u007f]/u;

/**
 * Returns `value` escaped for use between the braces of a TAG clause.
 * Throws on an empty value or one with control characters, which no query
 * can match (the cache core's validation keeps both out of scopes).
 */
export function escapeTagValue(value: string): string {
  if (value.length === 0) {
    throw new RangeError("an empty TAG value cannot be queried");
  }
  if (CONTROL_CHARS.test(value)) {
    throw new RangeError("a TAG value with control characters cannot be queried");
  }
  return value.replace(NEEDS_ESCAPE, (ch) => `\\${ch}`);
}

/** Returns the query clause matching documents whose TAG `field` is exactly `value`. */
export function tagClause(field: string, value: string): string {
  return `@${field}:{${escapeTagValue(value)}}`;
}
