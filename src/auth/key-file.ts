import { readFile } from "node:fs/promises";
import { StartupError } from "../errors/index.js";
import { KEY_HASH_PATTERN } from "./key-hash.js";
import { NamespaceGrants } from "./namespace-grants.js";
import { ROLES, type Principal, type RateLimit, type Role } from "./principal.js";

/** One key as the key file holds it. */
export interface KeyFileEntry {
  /** A name for the key, unique in the file; shows in logs. */
  readonly id: string;
  /** SHA-256 of the key, lowercase hex (`semcache keys hash` prints it). */
  readonly sha256: string;
  readonly role: Role;
  /** Namespaces (or `prefix*` patterns) a user key may use; admin keys get all. */
  readonly namespaces?: readonly string[];
  /** Namespace for requests that leave it empty; default: the key's only namespace, else "default". */
  readonly defaultNamespace?: string;
  /** This key's own request rate; default: SEMCACHE_RATE_LIMIT_RPS / _BURST. */
  readonly rateLimit?: RateLimit;
  /** Free text for people. */
  readonly description?: string;
}

/** The key file: `{"keys": [...]}`. */
export interface KeyFile {
  readonly keys: readonly KeyFileEntry[];
}

/** A key ready for matching: its principal and its hash as bytes. */
export interface CompiledKey {
  readonly principal: Principal;
  readonly hash: Buffer;
}

/** A key file that cannot be used; the message names the file, the key and the field. */
export class KeyFileError extends StartupError {
  override readonly name = "KeyFileError";
}

const ID_PATTERN = /^[A-Za-z0-9_.@:-]{1,64}$/;
const ENTRY_FIELDS = new Set(["id", "sha256", "role", "namespaces", "defaultNamespace", "rateLimit", "description"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseRateLimit(value: unknown): RateLimit {
  if (!isRecord(value)) throw new Error('must be an object {"requestsPerSecond": N, "burst": N}');
  const { requestsPerSecond, burst } = value;
  if (typeof requestsPerSecond !== "number" || !Number.isFinite(requestsPerSecond) || requestsPerSecond < 0) {
    throw new Error("requestsPerSecond must be a number ≥ 0 (0: unlimited)");
  }
  if (typeof burst !== "number" || !Number.isInteger(burst) || burst < 1) throw new Error("burst must be a whole number ≥ 1");
  return { requestsPerSecond, burst };
}

function compileEntry(raw: unknown): CompiledKey {
  if (!isRecord(raw)) throw new Error("must be an object");
  for (const field of Object.keys(raw)) {
    if (!ENTRY_FIELDS.has(field)) throw new Error(`unknown field ${JSON.stringify(field)} (known: ${[...ENTRY_FIELDS].join(", ")})`);
  }
  const { id, sha256, role, namespaces, defaultNamespace, rateLimit, description } = raw;
  if (typeof id !== "string" || !ID_PATTERN.test(id)) throw new Error('"id" must be 1 to 64 characters from letters, digits and "_ . @ : -"');
  if (typeof sha256 !== "string" || !KEY_HASH_PATTERN.test(sha256)) {
    throw new Error('"sha256" must be the key\'s SHA-256 in lowercase hex (64 characters); `semcache keys hash` prints it');
  }
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) throw new Error(`"role" must be one of ${ROLES.join(", ")}`);
  if (description !== undefined && typeof description !== "string") throw new Error('"description" must be a string');
  let grants: NamespaceGrants;
  if (role === "user") {
    if (!Array.isArray(namespaces) || !namespaces.every((n): n is string => typeof n === "string")) {
      throw new Error('"namespaces" must be a list of namespaces for a user key');
    }
    try {
      grants = NamespaceGrants.parse(namespaces);
    } catch (error) {
      throw new Error(`"namespaces": ${(error as Error).message}`);
    }
  } else {
    if (namespaces !== undefined) throw new Error(`"namespaces" is for user keys; a ${role} key ${role === "admin" ? "may use every namespace" : "uses none"}`);
    grants = NamespaceGrants.all();
  }
  if (defaultNamespace !== undefined && (typeof defaultNamespace !== "string" || !grants.allows(defaultNamespace) || defaultNamespace.endsWith("*"))) {
    throw new Error('"defaultNamespace" must be one of the namespaces the key may use');
  }
  let limit: RateLimit | undefined;
  if (rateLimit !== undefined) {
    try {
      limit = parseRateLimit(rateLimit);
    } catch (error) {
      throw new Error(`"rateLimit": ${(error as Error).message}`);
    }
  }
  return {
    hash: Buffer.from(sha256, "hex"),
    principal: {
      keyId: id,
      role: role as Role,
      namespaces: grants,
      defaultNamespace: (defaultNamespace as string | undefined) ?? grants.single ?? "default",
      rateLimit: limit,
    },
  };
}

/**
 * Parses and validates a key file's text. Every problem throws a
 * KeyFileError naming the key (by position and id) and the field; hashes and
 * ids must be unique.
 */
export function parseKeyFile(text: string, path: string): CompiledKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new KeyFileError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json) || !Array.isArray(json["keys"])) throw new KeyFileError(`${path}: must be a JSON object {"keys": [...]}`);
  const compiled: CompiledKey[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  json["keys"].forEach((entry: unknown, i: number) => {
    const label = isRecord(entry) && typeof entry["id"] === "string" ? `keys[${i}] (${JSON.stringify(entry["id"])})` : `keys[${i}]`;
    let key: CompiledKey;
    try {
      key = compileEntry(entry);
    } catch (error) {
      throw new KeyFileError(`${path}: ${label}: ${(error as Error).message}`);
    }
    if (ids.has(key.principal.keyId)) throw new KeyFileError(`${path}: ${label}: the id is used by another key`);
    const hex = key.hash.toString("hex");
    if (hashes.has(hex)) throw new KeyFileError(`${path}: ${label}: the same key hash appears twice`);
    ids.add(key.principal.keyId);
    hashes.add(hex);
    compiled.push(key);
  });
  return compiled;
}

/** Reads and validates a key file; a missing or unreadable file is a KeyFileError naming the path. */
export async function readKeyFile(path: string): Promise<CompiledKey[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new KeyFileError(`${path}: cannot read the API key file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseKeyFile(text, path);
}
