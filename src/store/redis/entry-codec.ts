/**
 * The hash layout of one entry and its conversion to and from StoredEntry.
 *
 * Every value is a string except `vec`, a FLOAT32 little-endian blob as the
 * vector index expects (store/vectors.ts). `vec` is written but never read
 * back by the store (no StoredEntry carries its vector), so reads name their
 * fields and stay text-only.
 */
import type { EntryScope, NewEntry, StoredEntry } from "../cache-store.js";
import { decodeObservations } from "../observations.js";
import { encodeFloat32 } from "../vectors.js";

/** Hash field names, in one place so writes, reads and the index agree. */
export const FIELD = {
  prompt: "prompt",
  response: "response",
  namespace: "ns",
  model: "model",
  scopeKey: "scope",
  params: "params",
  created: "created",
  expires: "expires",
  hits: "hits",
  metadata: "meta",
  /** Observations (JSON, see store/observations.ts); absent until the first one. */
  observations: "obs",
  vector: "vec",
  embedding: "emb",
} as const;

/** The fields that make up a StoredEntry, in the order `decodeEntry` expects them. */
export const READ_FIELDS: readonly string[] = [
  FIELD.prompt,
  FIELD.response,
  FIELD.namespace,
  FIELD.model,
  FIELD.scopeKey,
  FIELD.params,
  FIELD.created,
  FIELD.expires,
  FIELD.hits,
  FIELD.metadata,
  FIELD.observations,
];

/**
 * The field/value pairs of an entry's hash, ready for HSET. `hits` starts at
 * 0 and `obs` is absent: a replaced entry is a new answer, so it inherits
 * neither the old count nor the evidence about the old answer.
 */
export function encodeEntry(entry: NewEntry, embedding: string): (string | Buffer)[] {
  return [
    FIELD.prompt, entry.prompt,
    FIELD.response, entry.response,
    FIELD.namespace, entry.scope.namespace,
    FIELD.model, entry.scope.model,
    FIELD.scopeKey, entry.scope.scopeKey,
    FIELD.params, JSON.stringify(entry.scope.params),
    FIELD.created, String(Math.trunc(entry.createdAtMs)),
    FIELD.expires, String(Math.trunc(entry.expiresAtMs)),
    FIELD.hits, "0",
    FIELD.metadata, JSON.stringify(entry.metadata),
    FIELD.vector, encodeFloat32(entry.vector),
    FIELD.embedding, embedding,
  ];
}

/** Looks a field up in a decoded reply, whichever shape the reply came in. */
export type FieldSource = ReadonlyMap<string, string> | readonly (string | null | undefined)[];

function fieldAt(source: FieldSource, name: string): string | undefined {
  if (Array.isArray(source)) {
    const value = (source as readonly (string | null | undefined)[])[READ_FIELDS.indexOf(name)];
    return value ?? undefined;
  }
  return (source as ReadonlyMap<string, string>).get(name);
}

function parseStringRecord(json: string): Record<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== "string") return undefined;
      out[key] = item;
    }
    return out;
  } catch {
    return undefined;
  }
}

function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/u.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Rebuilds a StoredEntry from its hash fields (an HMGET reply in READ_FIELDS
 * order, or a name → value map from FT.SEARCH). Returns undefined when the
 * hash is missing or not a whole entry, so a stray or half-written key reads
 * as "no entry" rather than as garbage.
 */
export function decodeEntry(id: string, source: FieldSource): StoredEntry | undefined {
  const prompt = fieldAt(source, FIELD.prompt);
  const response = fieldAt(source, FIELD.response);
  const namespace = fieldAt(source, FIELD.namespace);
  const model = fieldAt(source, FIELD.model);
  const scopeKey = fieldAt(source, FIELD.scopeKey);
  const paramsJson = fieldAt(source, FIELD.params);
  const created = parseInteger(fieldAt(source, FIELD.created));
  const expires = parseInteger(fieldAt(source, FIELD.expires));
  const hits = parseInteger(fieldAt(source, FIELD.hits) ?? "0");
  const metaJson = fieldAt(source, FIELD.metadata);
  if (
    prompt === undefined || response === undefined || namespace === undefined || model === undefined ||
    scopeKey === undefined || paramsJson === undefined || created === undefined || expires === undefined ||
    hits === undefined || metaJson === undefined
  ) {
    return undefined;
  }
  const params = parseStringRecord(paramsJson);
  const metadata = parseStringRecord(metaJson);
  if (params === undefined || metadata === undefined) return undefined;
  const scope: EntryScope = { namespace, model, params, scopeKey };
  const observations = decodeObservations(fieldAt(source, FIELD.observations));
  return { id, scope, prompt, response, createdAtMs: created, expiresAtMs: expires, hits, metadata, observations };
}
