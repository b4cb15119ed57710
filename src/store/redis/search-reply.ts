/**
 * Parsing FT.SEARCH replies in their RESP2 shape:
 * `[total, key1, [field, value, ...], key2, [...], ...]`, or
 * `[total, key1, key2, ...]` with NOCONTENT.
 */

/** One document of a search reply. */
export interface SearchDocument {
  readonly key: string;
  /** Returned fields; empty with NOCONTENT, or when the key vanished mid-query. */
  readonly fields: ReadonlyMap<string, string>;
}

/** A parsed search reply. */
export interface SearchReply {
  /** Matching documents in the index, beyond the returned page too. */
  readonly total: number;
  readonly documents: readonly SearchDocument[];
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number") return String(value);
  return undefined;
}

/**
 * Parses an FT.SEARCH reply. A document's field list may be missing (null or
 * empty) when its key expired or was deleted between indexing and loading;
 * such documents are returned with no fields and callers skip them.
 */
export function parseSearchReply(reply: unknown, options: { readonly noContent?: boolean } = {}): SearchReply {
  if (!Array.isArray(reply) || reply.length === 0) {
    throw new TypeError("unexpected FT.SEARCH reply: not a non-empty array");
  }
  const total = Number(text(reply[0]));
  if (!Number.isFinite(total)) throw new TypeError("unexpected FT.SEARCH reply: no total");
  const documents: SearchDocument[] = [];
  const step = options.noContent === true ? 1 : 2;
  for (let i = 1; i < reply.length; i += step) {
    const key = text(reply[i]);
    if (key === undefined) throw new TypeError(`unexpected FT.SEARCH reply: document ${i} has no key`);
    const fields = new Map<string, string>();
    const raw: unknown = step === 2 ? reply[i + 1] : undefined;
    if (Array.isArray(raw)) {
      for (let j = 0; j + 1 < raw.length; j += 2) {
        const name = text(raw[j]);
        const value = text(raw[j + 1]);
        if (name !== undefined && value !== undefined) fields.set(name, value);
      }
    }
    documents.push({ key, fields });
  }
  return { total, documents };
}
