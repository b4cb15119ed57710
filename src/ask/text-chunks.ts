/**
 * Splits a cached answer into the few deltas AskStream replays it as. Large
 * answers are split so no single stream message approaches the message size
 * limits of clients; never inside a surrogate pair, which protobuf would
 * turn into U+FFFD on both halves.
 */

/** Characters (UTF-16 code units) per replayed delta. */
export const REPLAY_CHUNK_CHARS = 16 * 1024;

/** The text in chunks of at most `size` code units (one fewer at a split surrogate pair); none for "". */
export function chunkText(text: string, size: number = REPLAY_CHUNK_CHARS): string[] {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`size must be an integer >= 2 (got ${size})`);
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    // A high surrogate at the end would be separated from its low half.
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}
