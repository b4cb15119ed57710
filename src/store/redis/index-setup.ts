/**
 * Creating the vector index, and deciding whether an existing one is the
 * one this store needs: at start (openRedisStore) and whenever the index is
 * found missing while running (SearchIndex re-creates it).
 */
import { ErrorReply } from "redis";
import type { StoreConnection } from "./connection.js";
import { FIELD } from "./entry-codec.js";
import { compareIndex, parseIndexInfo, parseVecsimInfo, withVectorDetails } from "./index-info.js";
import { buildCreateIndexArgs, type IndexDefinition } from "./index-schema.js";
import { RedisStoreStartupError } from "./startup-error.js";
import { probeVectorField } from "./vector-probe.js";

// FT.CREATE only registers the index (existing keys are indexed in the
// background), but a busy server may take a moment: not worth a failure.
/** Upper bound on the administrative commands (FT.CREATE, FT.INFO, the probe). */
export const ADMIN_TIMEOUT_MS = 10_000;

/**
 * The names of the existing indexes, or undefined when the server has no
 * query engine. FT._LIST rather than MODULE LIST: Redis 8 has the engine
 * built in and lists no module for it.
 */
export async function listIndexes(connection: StoreConnection): Promise<string[] | undefined> {
  try {
    const reply = await connection.command<unknown>(["FT._LIST"]);
    return Array.isArray(reply) ? reply.map((name) => String(name)) : [];
  } catch (error) {
    if (error instanceof ErrorReply && /unknown command/iu.test(error.message)) return undefined;
    throw error;
  }
}

/**
 * Creates the index. Idempotent: when another instance (a replica racing
 * this one) created it first, FT.CREATE's "Index already exists" counts as
 * done. Resolves to whether this call created it. RediSearch then indexes
 * the hashes already under the prefix by itself, in the background.
 */
export async function createIndex(connection: StoreConnection, def: IndexDefinition): Promise<boolean> {
  try {
    await connection.command(buildCreateIndexArgs(def), { timeoutMs: ADMIN_TIMEOUT_MS });
    return true;
  } catch (error) {
    if (error instanceof ErrorReply && /already exists/iu.test(error.message)) return false;
    throw error;
  }
}

/** HNSW parameters an existing index reports (where FT.INFO says). */
export interface ReportedParams {
  readonly m?: number;
  readonly efConstruction?: number;
}

/**
 * Creates the index if `exists` is false, then checks it: FT.INFO where it
 * describes the vector field (RediSearch 2.8+, Redis 8); where it does not
 * (2.6), FT.DEBUG VECSIM_INFO if the server allows it, and a probe entry
 * (vector-probe.ts) in any case. Throws RedisStoreStartupError naming what
 * differs; tuning differences (HNSW M, EF_CONSTRUCTION) go to `onWarning`.
 */
export async function ensureIndex(
  connection: StoreConnection,
  def: IndexDefinition,
  exists: boolean,
  onWarning: (message: string) => void,
): Promise<ReportedParams> {
  if (!exists) {
    try {
      await createIndex(connection, def);
    } catch (error) {
      if (!(error instanceof ErrorReply)) throw error;
      throw new RedisStoreStartupError(
        `FT.CREATE ${def.name} failed on ${connection.safeUrl}: ${error.message} ` +
          `(the store needs RediSearch 2.6 or later: Redis Stack 6.2.6+ or Redis 8)`,
      );
    }
  }
  const info = parseIndexInfo(await connection.command(["FT.INFO", def.name], { timeoutMs: ADMIN_TIMEOUT_MS }));
  let comparison = compareIndex(info, def);
  if (comparison.problems.length === 0 && !comparison.vectorDetailsReported) {
    // 2.6: FT.DEBUG describes the field where the server allows it (managed
    // services often do not); the probe entry checks it either way.
    const details = await vectorDebugInfo(connection, def.name);
    if (details.size > 0) comparison = compareIndex(withVectorDetails(info, FIELD.vector, details), def);
  }
  const problems = [...comparison.problems];
  if (problems.length === 0 && !info.attributes.some((a) => a.attribute === FIELD.vector && a.details.has("dim"))) {
    problems.push(...(await probeVectorField(connection, def, { timeoutMs: ADMIN_TIMEOUT_MS })));
  }
  if (problems.length > 0) throw mismatchError(connection, def, problems);
  for (const warning of comparison.warnings) {
    onWarning(`index ${def.name}: ${warning}; drop it (FT.DROPINDEX ${def.name}) to rebuild with the configured settings`);
  }
  return comparison.actual;
}

/** The vector field's details by FT.DEBUG VECSIM_INFO; empty when the server refuses the command. */
async function vectorDebugInfo(connection: StoreConnection, index: string): Promise<Map<string, string>> {
  try {
    return parseVecsimInfo(await connection.command(["FT.DEBUG", "VECSIM_INFO", index, FIELD.vector], { timeoutMs: ADMIN_TIMEOUT_MS }));
  } catch (error) {
    if (error instanceof ErrorReply) return new Map();
    throw error;
  }
}

function mismatchError(connection: StoreConnection, def: IndexDefinition, problems: readonly string[]): RedisStoreStartupError {
  return new RedisStoreStartupError(
    `the index ${def.name} on ${connection.safeUrl} is not the one this store needs: ${problems.join("; ")}. ` +
      `It is never reused as it is: drop it with FT.DROPINDEX ${def.name} (entries are kept and re-indexed), ` +
      `or use another key prefix.`,
  );
}
