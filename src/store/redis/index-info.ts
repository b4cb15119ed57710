/**
 * Reading FT.INFO and deciding whether an existing index is the one this
 * store would have created. Reusing an index with another prefix, schema or
 * vector shape would silently return wrong neighbours, so a mismatch stops
 * the store from starting.
 */
import type { IndexDefinition } from "./index-schema.js";
import { SCHEMA_ATTRIBUTES, filterExpression } from "./index-schema.js";

/** One schema attribute as FT.INFO reports it. */
export interface ReportedAttribute {
  /** The hash field. */
  readonly identifier: string;
  /** The name queries use (differs from identifier only with AS). */
  readonly attribute: string;
  readonly type: string;
  /** Key/value details, keys lower-cased: separator, algorithm, data_type, dim, distance_metric, m, ef_construction... */
  readonly details: ReadonlyMap<string, string>;
  /** Bare flags, upper-cased: CASESENSITIVE, SORTABLE, UNF... */
  readonly flags: ReadonlySet<string>;
}

/** The parts of FT.INFO the store checks or uses. */
export interface IndexInfo {
  readonly keyType?: string;
  readonly prefixes: readonly string[];
  readonly filter?: string;
  readonly attributes: readonly ReportedAttribute[];
  readonly numDocs?: number;
}

/**
 * Attribute details FT.INFO prints as a key and a value (lower-cased). Over
 * RESP2 the flags (SORTABLE, CASESENSITIVE...) follow in the same flat list
 * without values, so any other token is read as a flag: an unknown future
 * key then shows up as two harmless extra flags, whereas an unknown future
 * flag read as a key could swallow a flag that matters.
 */
const DETAIL_KEYS = new Set([
  "identifier", "attribute", "type", "types", "separator", "weight", "phonetic", "coord_system",
  "algorithm", "data_type", "dim", "distance_metric", "m", "ef_construction", "ef_runtime", "epsilon",
  "initial_cap", "block_size", "flags",
]);

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return "";
}

/** Key/value pairs of a RESP2 flat array, a RESP3 Map or a plain object. */
function entriesOf(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) {
    const out: [string, unknown][] = [];
    for (let i = 0; i + 1 < value.length; i += 2) out.push([text(value[i]), value[i + 1]]);
    return out;
  }
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [text(k), v]);
  if (value !== null && typeof value === "object") return Object.entries(value);
  return [];
}

function parseAttribute(raw: unknown): ReportedAttribute {
  let identifier = "";
  let attribute = "";
  let type = "";
  const details = new Map<string, string>();
  const flags = new Set<string>();
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; ) {
      const token = text(raw[i]);
      if (!DETAIL_KEYS.has(token.toLowerCase())) {
        flags.add(token.toUpperCase());
        i += 1;
        continue;
      }
      const value = raw[i + 1];
      if (token === "flags" && Array.isArray(value)) {
        for (const flag of value) flags.add(text(flag).toUpperCase());
      } else if (token === "identifier") identifier = text(value);
      else if (token === "attribute") attribute = text(value);
      else if (token === "type") type = text(value);
      else details.set(token.toLowerCase(), text(value));
      i += 2;
    }
  } else {
    for (const [key, value] of entriesOf(raw)) {
      if (key === "flags" && Array.isArray(value)) {
        for (const flag of value) flags.add(text(flag).toUpperCase());
      } else if (key === "identifier") identifier = text(value);
      else if (key === "attribute") attribute = text(value);
      else if (key === "type") type = text(value);
      else details.set(key.toLowerCase(), text(value));
    }
  }
  return { identifier, attribute: attribute || identifier, type: type.toUpperCase(), details, flags };
}

/** Parses an FT.INFO reply (RESP2 or RESP3 shape). */
export function parseIndexInfo(reply: unknown): IndexInfo {
  let keyType: string | undefined;
  let prefixes: string[] = [];
  let filter: string | undefined;
  let attributes: ReportedAttribute[] = [];
  let numDocs: number | undefined;
  for (const [key, value] of entriesOf(reply)) {
    if (key === "index_definition") {
      for (const [defKey, defValue] of entriesOf(value)) {
        if (defKey === "key_type") keyType = text(defValue);
        else if (defKey === "prefixes" && Array.isArray(defValue)) prefixes = defValue.map(text);
        else if (defKey === "filter") filter = text(defValue);
      }
    } else if (key === "attributes" && Array.isArray(value)) {
      attributes = value.map(parseAttribute);
    } else if (key === "num_docs") {
      const n = Number(text(value));
      if (Number.isFinite(n)) numDocs = n;
    }
  }
  return { keyType, prefixes, filter, attributes, numDocs };
}

// FT.DEBUG VECSIM_INFO's names for what FT.INFO calls the vector field's details.
const VECSIM_DETAIL_KEYS: Readonly<Record<string, string>> = {
  ALGORITHM: "algorithm",
  TYPE: "data_type",
  DIMENSION: "dim",
  METRIC: "distance_metric",
  M: "m",
  EF_CONSTRUCTION: "ef_construction",
};

/**
 * The vector field's details from an `FT.DEBUG VECSIM_INFO` reply (a flat
 * list of names and values), keyed as FT.INFO keys them on versions that
 * report them; empty for a reply of another shape.
 */
export function parseVecsimInfo(reply: unknown): Map<string, string> {
  const details = new Map<string, string>();
  for (const [key, value] of entriesOf(reply)) {
    const name = VECSIM_DETAIL_KEYS[key.toUpperCase()];
    if (name !== undefined) details.set(name, text(value));
  }
  return details;
}

/** `info` with `details` added to its vector attribute `field` (what FT.INFO on 2.6 leaves out). */
export function withVectorDetails(info: IndexInfo, field: string, details: ReadonlyMap<string, string>): IndexInfo {
  return {
    ...info,
    attributes: info.attributes.map((attribute) =>
      attribute.attribute === field ? { ...attribute, details: new Map([...attribute.details, ...details]) } : attribute,
    ),
  };
}

/** The outcome of comparing an existing index with the wanted one. */
export interface IndexComparison {
  /** Differences that make the index unusable: never reuse it. */
  readonly problems: readonly string[];
  /** Differences that only affect speed or recall (HNSW tuning). */
  readonly warnings: readonly string[];
  /**
   * Whether FT.INFO described the vector field (RediSearch 2.8+ / Redis 8 do;
   * 2.6 does not, and then dimension and metric must be checked otherwise).
   */
  readonly vectorDetailsReported: boolean;
  /** HNSW parameters the index actually has, where FT.INFO says. */
  readonly actual: { readonly m?: number; readonly efConstruction?: number };
}

function numberDetail(attr: ReportedAttribute, key: string): number | undefined {
  const raw = attr.details.get(key);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** Compares an existing index (from FT.INFO) with the definition this store needs. */
export function compareIndex(info: IndexInfo, def: IndexDefinition): IndexComparison {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (info.keyType !== undefined && info.keyType.toUpperCase() !== "HASH") {
    problems.push(`it indexes ${info.keyType} keys, not HASH`);
  }
  if (info.prefixes.length !== 1 || info.prefixes[0] !== def.prefix) {
    problems.push(`its key prefixes are ${JSON.stringify(info.prefixes)}, not ["${def.prefix}"]`);
  }
  const wantFilter = filterExpression(def.embedding);
  if ((info.filter ?? "").trim() !== wantFilter) {
    problems.push(`its FILTER is ${JSON.stringify(info.filter ?? "")}, not ${JSON.stringify(wantFilter)}`);
  }

  const byName = new Map(info.attributes.map((a) => [a.attribute, a]));
  for (const want of SCHEMA_ATTRIBUTES) {
    const got = byName.get(want.name);
    if (got === undefined) {
      problems.push(`it has no attribute "${want.name}"`);
      continue;
    }
    if (got.identifier !== want.name) problems.push(`attribute "${want.name}" reads hash field "${got.identifier}"`);
    if (got.type !== want.type) problems.push(`attribute "${want.name}" is ${got.type}, not ${want.type}`);
    for (const flag of want.flags) {
      if (!got.flags.has(flag)) problems.push(`attribute "${want.name}" is not ${flag}`);
    }
    if (want.type === "TAG" && !want.flags.includes("CASESENSITIVE") && got.flags.has("CASESENSITIVE")) {
      problems.push(`attribute "${want.name}" is CASESENSITIVE`);
    }
    const separator = got.details.get("separator");
    if (want.type === "TAG" && separator !== undefined && separator !== ",") {
      problems.push(`attribute "${want.name}" uses separator ${JSON.stringify(separator)}, not ","`);
    }
  }
  const wanted = new Set(SCHEMA_ATTRIBUTES.map((a) => a.name));
  for (const extra of info.attributes) {
    if (!wanted.has(extra.attribute)) problems.push(`it has an unexpected attribute "${extra.attribute}"`);
  }

  const vec = byName.get(SCHEMA_ATTRIBUTES.find((a) => a.type === "VECTOR")?.name ?? "");
  const vectorDetailsReported = vec !== undefined && vec.details.has("dim");
  const actual: { m?: number; efConstruction?: number } = {};
  if (vec !== undefined && vectorDetailsReported) {
    // Redis 8 runs HNSW as a tiered index and may name it either way.
    const algorithm = vec.details.get("algorithm")?.toUpperCase();
    if (algorithm !== undefined && !["HNSW", "HNSWLIB", "TIERED"].includes(algorithm)) {
      problems.push(`the vector field uses ${algorithm}, not HNSW`);
    }
    const dataType = vec.details.get("data_type")?.toUpperCase();
    if (dataType !== undefined && dataType !== "FLOAT32") problems.push(`the vector field holds ${dataType}, not FLOAT32`);
    const dim = numberDetail(vec, "dim");
    if (dim !== def.dimension) problems.push(`the vector field has dimension ${dim}, not ${def.dimension}`);
    const metric = vec.details.get("distance_metric")?.toUpperCase();
    if (metric !== undefined && metric !== "COSINE") problems.push(`the vector field uses ${metric} distance, not COSINE`);
    const m = numberDetail(vec, "m");
    const efc = numberDetail(vec, "ef_construction");
    if (m !== undefined) {
      actual.m = m;
      if (m !== def.params.m) warnings.push(`HNSW M is ${m}, not the configured ${def.params.m}`);
    }
    if (efc !== undefined) {
      actual.efConstruction = efc;
      if (efc !== def.params.efConstruction) {
        warnings.push(`HNSW EF_CONSTRUCTION is ${efc}, not the configured ${def.params.efConstruction}`);
      }
    }
  }
  return { problems, warnings, vectorDetailsReported, actual };
}
