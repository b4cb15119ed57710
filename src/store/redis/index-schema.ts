/**
 * The vector index's definition and the FT.CREATE command that builds it.
 *
 * Kept to syntax RediSearch 2.6 already accepts (Redis Stack 6.2.6+), which
 * later versions, Redis 8's built-in query engine included, still accept.
 */
import type { IndexParams } from "../cache-store.js";
import { FIELD } from "./entry-codec.js";

/** Everything that determines the index's shape. */
export interface IndexDefinition {
  /** The index's name (see `indexName`). */
  readonly name: string;
  /** The key prefix whose hashes it indexes (see `entryKeyPrefix`). */
  readonly prefix: string;
  /** The `emb` value an entry needs to be admitted (see `embeddingTag`). */
  readonly embedding: string;
  readonly dimension: number;
  readonly params: IndexParams;
}

/** A schema attribute as the index is meant to have it. */
export interface ExpectedAttribute {
  readonly name: string;
  readonly type: "TAG" | "NUMERIC" | "VECTOR";
  /** Flags FT.INFO must report for it (others, like UNF, are ignored). */
  readonly flags: readonly string[];
}

/**
 * The schema, in FT.CREATE order. TAGs are CASESENSITIVE because namespaces
 * differing only in case are distinct namespaces (RediSearch lower-cases TAG
 * values otherwise, so "Team" and "team" would share entries). `created` is
 * SORTABLE because listRecent sorts on it and older RediSearch versions only
 * sort quickly (or at all) on sortable fields.
 */
export const SCHEMA_ATTRIBUTES: readonly ExpectedAttribute[] = [
  { name: FIELD.namespace, type: "TAG", flags: ["CASESENSITIVE"] },
  { name: FIELD.scopeKey, type: "TAG", flags: ["CASESENSITIVE"] },
  { name: FIELD.model, type: "TAG", flags: ["CASESENSITIVE"] },
  { name: FIELD.created, type: "NUMERIC", flags: ["SORTABLE"] },
  { name: FIELD.vector, type: "VECTOR", flags: [] },
];

/**
 * The index's FILTER: only entries of this embedding space. All models share
 * one key prefix (ids do not depend on the model), so without it a second
 * model's index would also pick up the first model's vectors.
 */
export function filterExpression(embedding: string): string {
  if (!/^[a-z0-9._:-]+$/u.test(embedding)) {
    // Callers pass embeddingTag(); anything else could break out of the quotes.
    throw new RangeError(`unsafe embedding tag ${JSON.stringify(embedding)}`);
  }
  return `@${FIELD.embedding}=="${embedding}"`;
}

// Upper limits are left to RediSearch, whose error names them precisely.
function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a whole number of at least 1 (got ${value})`);
  }
}

/**
 * The FT.CREATE argument list, command name included. The number after
 * HNSW counts the name and value tokens that follow it (6 pairs: 12).
 */
export function buildCreateIndexArgs(def: IndexDefinition): string[] {
  checkPositiveInteger("dimension", def.dimension);
  checkPositiveInteger("m", def.params.m);
  checkPositiveInteger("efConstruction", def.params.efConstruction);
  checkPositiveInteger("efSearch", def.params.efSearch);
  const vectorAttributes = [
    "TYPE", "FLOAT32",
    "DIM", String(def.dimension),
    "DISTANCE_METRIC", "COSINE",
    "M", String(def.params.m),
    "EF_CONSTRUCTION", String(def.params.efConstruction),
    "EF_RUNTIME", String(def.params.efSearch),
  ];
  const schema: string[] = [];
  for (const attribute of SCHEMA_ATTRIBUTES) {
    schema.push(attribute.name, attribute.type);
    if (attribute.type === "VECTOR") {
      schema.push("HNSW", String(vectorAttributes.length), ...vectorAttributes);
    } else {
      schema.push(...attribute.flags);
    }
  }
  return [
    "FT.CREATE", def.name,
    "ON", "HASH",
    "PREFIX", "1", def.prefix,
    "FILTER", filterExpression(def.embedding),
    "SCHEMA", ...schema,
  ];
}
