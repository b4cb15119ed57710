const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Counts how deeply a JSON text nests arrays and objects, a chunk at a time,
 * without parsing it: brackets inside strings do not count. `JSON.parse` and
 * protobuf-es's JSON reader recurse once per level, so a few megabytes of
 * `[[[[…` cost the main thread most of a second before anything can refuse
 * them; this byte scan refuses them after `maxDepth + 1` bytes.
 * It does not validate the JSON: the parser after it still does.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxDepth: number) {}

  /** Scans the next bytes; true as soon as the nesting has gone deeper than the limit. */
  tooDeep(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
      } else if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        if (++this.depth > this.maxDepth) return true;
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
        this.depth--;
      }
    }
    return false;
  }
}
