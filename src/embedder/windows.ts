/**
 * Splitting a long token sequence into overlapping model windows, so that a
 * prompt is embedded over its whole length instead of being truncated.
 */
import { TextTooLongError } from "./errors.js";

/** How windows are cut and framed. */
export interface WindowLayout {
  /** Longest sequence the model takes, special tokens included (MiniLM: 256). */
  readonly maxTokens: number;
  /** Tokens shared by neighbouring windows, so no boundary splits a phrase unseen; capped at half a window. */
  readonly overlap: number;
  /** Upper bound on windows per text; more raises {@link TextTooLongError}. */
  readonly maxWindows: number;
  /** Ids placed before each window, such as [CLS]. */
  readonly prefixIds: readonly number[];
  /** Ids placed after each window, such as [SEP]. */
  readonly suffixIds: readonly number[];
}

/** One model input cut from a text. */
export interface TokenWindow {
  /** Framed ids, ready for the model. */
  readonly ids: number[];
  /** The text's own tokens in this window, used to weight the combination. */
  readonly weight: number;
}

/**
 * Cuts `tokens` into framed windows of at most `maxTokens` ids. A text that
 * fits yields exactly one window (the usual sentence-transformers input).
 * Longer texts get the fewest windows that keep at least `overlap` tokens
 * shared between neighbours, spread evenly so all windows are full-sized.
 *
 * @throws TextTooLongError when more than `maxWindows` windows are needed.
 */
export function splitIntoWindows(tokens: readonly number[], layout: WindowLayout): TokenWindow[] {
  const body = layout.maxTokens - layout.prefixIds.length - layout.suffixIds.length;
  if (body < 1) throw new RangeError(`maxTokens ${layout.maxTokens} leaves no room between the special tokens.`);
  // At most half a window, so each window adds at least half a window of new text.
  const overlap = Math.min(Math.max(0, Math.floor(layout.overlap)), Math.floor(body / 2));
  const frame = (slice: readonly number[]): TokenWindow => ({
    ids: [...layout.prefixIds, ...slice, ...layout.suffixIds],
    weight: Math.max(1, slice.length),
  });
  if (tokens.length <= body) return [frame(tokens)];

  const stride = body - overlap;
  const count = Math.ceil((tokens.length - overlap) / stride);
  if (count > layout.maxWindows) throw new TextTooLongError(tokens.length, count, layout.maxWindows);
  const lastStart = tokens.length - body;
  const windows: TokenWindow[] = [];
  for (let i = 0; i < count; i++) {
    // Even spacing: window i starts at i/(count-1) of the way to the last start.
    const start = Math.round((i * lastStart) / (count - 1));
    windows.push(frame(tokens.slice(start, start + body)));
  }
  return windows;
}
