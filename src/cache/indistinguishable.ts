/**
 * Differences the embedder cannot see. A BERT-uncased tokenizer strips
 * accents ("año" reads as "ano"), maps every word it has no piece for to
 * one `[UNK]` ("☠️", "🍄", "❌" and "✅" all read alike), drops control and
 * zero-width characters, and never sees white space, so two prompts that
 * differ only there get the same token ids and a similarity of exactly 1.
 * Such a similarity is no evidence that they ask the same thing, so a
 * semantic match between them must never be served on similarity alone.
 *
 * Letter case is the one such difference let through: an uncased model
 * folds it on purpose, and "what is the capital of france" asks what
 * "What is the capital of France?" asks far more often than case changes a
 * question ("US" vs "us").
 *
 * The check is pure: it takes the model's own tokenizer (as a
 * {@link WordPieces} function) rather than imitating it, so it is exact for
 * whatever model is loaded (a cased model makes case visible, and nothing
 * changes here).
 */

/** The model's tokens of a text as strings, e.g. "año?" → ["ano", "?"] (see Embedder.wordPieces). */
export type WordPieces = (text: string) => readonly string[];

/** One prompt as this check reads it; built once per prompt and memoised by the caller. */
export interface TextView {
  /** The text lower-cased. */
  readonly lower: string;
  /** The lower-cased white-space-separated chunks, in order. */
  readonly chunks: readonly string[];
  /** Whether some chunk may read differently to the model than it is written (see {@link isPlainChunk}). */
  readonly unusual: boolean;
  /** Lazily: for each model reading of a chunk, the chunks (as written, lower-cased) that read so. */
  readings?: Map<string, Set<string>>;
}

/**
 * Longest chunk assumed to read as written: BERT's WordPiece turns any word
 * longer than this (`max_input_chars_per_word`) into `[UNK]`, so two
 * different long hashes read alike.
 */
export const PLAIN_CHUNK_MAX = 100;

/**
 * A chunk of printable ASCII up to {@link PLAIN_CHUNK_MAX} characters: every
 * tokenizer semcache can load reads two such different (lower-cased) chunks
 * differently, so they need no tokenising. Anything else (a letter with an
 * accent, an emoji, a curly quote, a long token) might read like another.
 */
export function isPlainChunk(chunk: string): boolean {
  return chunk.length <= PLAIN_CHUNK_MAX && /^[\x21-\x7e]*$/.test(chunk);
}

/** Reads a text for {@link invisibleDifference}. */
export function viewText(text: string): TextView {
  const lower = text.toLowerCase();
  const chunks = lower.split(/\s+/u).filter((c) => c !== "");
  return { lower, chunks, unusual: chunks.some((c) => !isPlainChunk(c)) };
}

function readingsOf(view: TextView, wordPieces: WordPieces): Map<string, Set<string>> {
  if (view.readings !== undefined) return view.readings;
  const readings = new Map<string, Set<string>>();
  for (const chunk of new Set(view.chunks)) {
    // A NUL cannot occur in a token string, so joined readings never collide by accident.
    const reading = wordPieces(chunk).join("\u0000");
    const written = readings.get(reading) ?? new Set<string>();
    written.add(chunk);
    readings.set(reading, written);
  }
  view.readings = readings;
  return readings;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const quote = (chunks: ReadonlySet<string>): string => [...chunks].map((c) => JSON.stringify(c)).join(", ");

/**
 * Why two (normalised) prompts differ in what the embedder cannot see, or
 * undefined when they do not (equal but for letter case, or different in
 * words the model reads differently). Two rules:
 *
 * - a chunk (a white-space-separated word with its punctuation) of one text
 *   reads to the model like a chunk of the other but is written differently:
 *   accents, symbols read as `[UNK]`, dropped characters ("año?" / "ano?",
 *   "☠️" / "🍄"). Needs `wordPieces`; without it this rule is skipped.
 * - the texts have the same chunks in the same order but different white
 *   space: line breaks or indentation, which the model does not see.
 */
export function invisibleDifference(query: TextView, stored: TextView, wordPieces?: WordPieces): string | undefined {
  if (query.lower === stored.lower) return undefined;
  if (wordPieces !== undefined && (query.unusual || stored.unusual)) {
    const a = readingsOf(query, wordPieces);
    const b = readingsOf(stored, wordPieces);
    for (const [reading, writtenA] of a) {
      const writtenB = b.get(reading);
      if (writtenB !== undefined && !sameSet(writtenA, writtenB)) {
        return `written differently where the model reads the same: ${quote(writtenA)} vs ${quote(writtenB)}`;
      }
    }
  }
  if (query.chunks.length === stored.chunks.length && query.chunks.every((c, i) => c === stored.chunks[i])) {
    return "different only in white space (line breaks or indentation), which the model does not see";
  }
  return undefined;
}
