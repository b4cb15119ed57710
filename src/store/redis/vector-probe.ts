/**
 * Checking an existing index's vector field on RediSearch versions whose
 * FT.INFO does not describe it (2.6): what the field does is observed
 * instead of read. The store writes one probe entry of its own (its own
 * embedding tag, a scope no caller can have, a TTL in case the process dies
 * mid-probe), searches for it with KNN queries, and deletes it.
 *
 * - Dimension: a `dimension`-long FLOAT32 vector is indexed and found only
 *   when the field has that dimension (and a query vector of another length
 *   is refused outright).
 * - Distance metric: the distance RediSearch reports between two vectors of
 *   different lengths differs between COSINE, IP and L2.
 * - Algorithm: only HNSW accepts the EF_RUNTIME query attribute; FLAT
 *   refuses it.
 *
 * HNSW's M and EF_CONSTRUCTION cannot be observed this way; they only
 * affect speed and recall (README, Redis store).
 */
import { randomUUID } from "node:crypto";
import { ErrorReply } from "redis";
import { encodeFloat32 } from "../vectors.js";
import type { StoreConnection } from "./connection.js";
import { encodeEntry } from "./entry-codec.js";
import type { IndexDefinition } from "./index-schema.js";
import { PUT_ENTRY } from "./scripts.js";
import { DISTANCE_FIELD, buildKnnSearchArgs } from "./search-query.js";
import { parseSearchReply } from "./search-reply.js";

/** How long a probe entry may outlive a process that died mid-probe. */
const PROBE_TTL_MS = 60_000;
/** How far a reported distance may be from the expected one (float32 arithmetic). */
const TOLERANCE = 1e-3;

/** The probe's stored and query vectors: different lengths, so every metric gives a different distance. */
export function probeVectors(dimension: number): { stored: Float32Array; query: Float32Array } {
  const stored = new Float32Array(dimension);
  const query = new Float32Array(dimension);
  query[0] = 1;
  if (dimension === 1) {
    stored[0] = 3;
  } else {
    stored[0] = 3;
    stored[1] = 4;
  }
  return { stored, query };
}

/** The distance each metric reports between `a` and `b`, as RediSearch defines it. */
export function metricDistances(a: Float32Array, b: Float32Array): { COSINE: number; IP: number; L2: number } {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  return { COSINE: 1 - dot / Math.sqrt(na * nb), IP: 1 - dot, L2: l2 };
}

/** Timeouts and retries of one probe. */
export interface ProbeOptions {
  readonly timeoutMs: number;
  /** How long to wait for the probe entry to become searchable (indexing is synchronous in 2.6; this is slack). */
  readonly indexWaitMs?: number;
}

/**
 * Probes the vector field of the index `def.name`; resolves to the problems
 * found (empty when the field behaves as `def` says it should).
 */
export async function probeVectorField(connection: StoreConnection, def: IndexDefinition, options: ProbeOptions): Promise<string[]> {
  const tag = `semcache-vector-probe-${randomUUID()}`;
  const id = `~${tag}`;
  const key = `${def.prefix}${id}`;
  const { stored, query } = probeVectors(def.dimension);
  const timeout = { timeoutMs: options.timeoutMs };
  const search = (efRuntime?: number): (string | Buffer)[] =>
    buildKnnSearchArgs({ index: def.name, namespace: tag, scopeKey: tag, vector: encodeFloat32(query), k: 1, ...(efRuntime === undefined ? {} : { efRuntime }) });
  const entry = {
    id,
    scope: { namespace: tag, model: "probe", params: {}, scopeKey: tag },
    prompt: "",
    response: "",
    createdAtMs: 0,
    expiresAtMs: Date.now() + PROBE_TTL_MS,
    metadata: {},
    vector: stored,
  };
  try {
    await connection.script(PUT_ENTRY, [key], [String(entry.expiresAtMs), ...encodeEntry(entry, def.embedding)]);
    let distance: number | undefined;
    const deadline = Date.now() + (options.indexWaitMs ?? 1_000);
    for (;;) {
      let reply: unknown;
      try {
        reply = await connection.command(search(), timeout);
      } catch (error) {
        if (!(error instanceof ErrorReply)) throw error;
        return [`its vector field rejects ${def.dimension}-dimensional query vectors, so its DIM is not ${def.dimension} (${error.message})`];
      }
      const found = parseSearchReply(reply).documents.find((doc) => doc.key === key);
      if (found !== undefined) {
        distance = Number(found.fields.get(DISTANCE_FIELD));
        break;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (distance === undefined) {
      return [`it does not index a ${def.dimension}-dimensional FLOAT32 vector, so its vector field's DIM or TYPE differs`];
    }
    const problems: string[] = [];
    const expected = metricDistances(stored, query);
    if (!(Math.abs(distance - expected.COSINE) <= TOLERANCE)) {
      const metric = (["IP", "L2"] as const).find((name) => Math.abs(distance - expected[name]) <= TOLERANCE);
      problems.push(
        metric === undefined
          ? `its vector field reports a distance of ${distance} where COSINE gives ${expected.COSINE.toFixed(4)}, so its DISTANCE_METRIC is not COSINE`
          : `its vector field uses DISTANCE_METRIC ${metric}, not COSINE`,
      );
    }
    try {
      await connection.command(search(10), timeout);
    } catch (error) {
      if (!(error instanceof ErrorReply)) throw error;
      problems.push(`its vector field refuses the HNSW query attribute EF_RUNTIME, so its algorithm is not HNSW (FLAT?) (${error.message})`);
    }
    return problems;
  } finally {
    await connection.command(["DEL", key], timeout).catch(() => undefined);
  }
}
