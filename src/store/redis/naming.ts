/**
 * Key and index names: everything the store derives from its key prefix and
 * the embedding model, in one place so the layout is easy to audit.
 */
import { createHash } from "node:crypto";

/** Default prefix of every key the store writes. */
export const DEFAULT_KEY_PREFIX = "semcache:";

// Index names and the FILTER expression stay readable and need no quoting
// when they are built from these characters only.
const SLUG_UNSAFE = /[^a-z0-9._-]+/gu;
const MAX_SLUG_LENGTH = 64;

/**
 * A readable, Redis-safe form of an embedding model id. When the id had to be
 * changed (case, punctuation, length), a short hash of the original is
 * appended so two different ids never share a slug.
 */
export function modelSlug(modelId: string): string {
  if (modelId.length === 0) throw new RangeError("the embedding model id must not be empty");
  const cleaned = modelId.toLowerCase().replace(SLUG_UNSAFE, "-").replace(/^-+|-+$/gu, "").slice(0, MAX_SLUG_LENGTH);
  if (cleaned === modelId) return cleaned;
  const hash = createHash("sha256").update(modelId).digest("hex").slice(0, 8);
  return cleaned.length === 0 ? hash : `${cleaned}-${hash}`;
}

/**
 * The value of an entry's `emb` field: which embedding space its vector
 * lives in. The index only admits entries with its own value, so vectors of
 * two models (or two dimensions) never meet in one index.
 */
export function embeddingTag(modelId: string, dimension: number): string {
  return `${modelSlug(modelId)}:${dimension}`;
}

/** The vector index for one embedding model and dimension, e.g. `semcache:idx:minilm:384`. */
export function indexName(keyPrefix: string, modelId: string, dimension: number): string {
  return `${keyPrefix}idx:${embeddingTag(modelId, dimension)}`;
}

/** The prefix shared by every entry key; also the index's PREFIX. */
export function entryKeyPrefix(keyPrefix: string): string {
  return `${keyPrefix}entry:`;
}

/** The key of the hash holding one entry. */
export function entryKey(keyPrefix: string, id: string): string {
  return `${entryKeyPrefix(keyPrefix)}${id}`;
}

/** The id inside an entry key, or undefined for a key outside the entry prefix. */
export function idFromEntryKey(keyPrefix: string, key: string): string | undefined {
  const prefix = entryKeyPrefix(keyPrefix);
  return key.startsWith(prefix) && key.length > prefix.length ? key.slice(prefix.length) : undefined;
}

/** Escapes a literal for a SCAN MATCH glob, so a prefix like `a*b:` matches only itself. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/gu, (ch) => `\\${ch}`);
}

/** A Redis URL fit for logs and errors: the password is dropped, the rest kept. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "<unparsable Redis URL>";
  }
}
