/**
 * How both stores keep an entry's observations: a JSON array of
 * `[similarity, correct ? 1 : 0, atMs]` triples, oldest first. Compact (about
 * 25 bytes each, so 64 cost under 2 KB per entry), readable with
 * `sqlite3` / `redis-cli`, and simple to append to from a Redis Lua script
 * (cjson).
 */
import { MAX_OBSERVATIONS_PER_ENTRY, type Observation } from "./cache-store.js";

/** The encoding of no observations. */
export const NO_OBSERVATIONS_JSON = "[]";

/** One observation as stored. */
export type ObservationTuple = readonly [similarity: number, correct: 0 | 1, atMs: number];

/**
 * Checks an observation before it is stored and returns its stored form:
 * the similarity rounded to six decimals (more is noise for a float32
 * cosine, and it keeps every store's round trip exact). Throws RangeError
 * naming the bad field.
 */
export function toObservationTuple(observation: Observation): ObservationTuple {
  const { similarity, correct, atMs } = observation;
  if (typeof similarity !== "number" || !Number.isFinite(similarity) || similarity < -1 || similarity > 1) {
    throw new RangeError(`observation.similarity must be a number in [-1, 1] (got ${String(similarity)})`);
  }
  if (typeof correct !== "boolean") throw new RangeError(`observation.correct must be a boolean (got ${typeof correct})`);
  if (!Number.isSafeInteger(atMs) || atMs < 0) {
    throw new RangeError(`observation.atMs must be a whole, non-negative number of milliseconds (got ${String(atMs)})`);
  }
  // `+ 0` turns a rounded -0 into 0, which JSON cannot tell apart anyway.
  return [Math.round(similarity * 1e6) / 1e6 + 0, correct ? 1 : 0, atMs];
}

/** The observation a stored tuple stands for. */
export function fromObservationTuple(tuple: ObservationTuple): Observation {
  return { similarity: tuple[0], correct: tuple[1] === 1, atMs: tuple[2] };
}

/** Appends one tuple to a stored list, keeping the newest {@link MAX_OBSERVATIONS_PER_ENTRY}. */
export function appendObservation(json: string, tuple: ObservationTuple): string {
  const list = decodeTuples(json);
  list.push(tuple);
  return JSON.stringify(list.slice(-MAX_OBSERVATIONS_PER_ENTRY));
}

/**
 * Reads a stored list. Anything malformed (which only a hand edit can
 * produce) reads as no observations rather than failing the entry: the entry
 * stays servable, and it only loses evidence it would relearn.
 */
export function decodeObservations(json: string | undefined | null): Observation[] {
  return json === undefined || json === null ? [] : decodeTuples(json).map(fromObservationTuple);
}

function decodeTuples(json: string): ObservationTuple[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: ObservationTuple[] = [];
  for (const item of value) {
    if (!Array.isArray(item) || item.length !== 3) return [];
    const [similarity, correct, atMs] = item as unknown[];
    if (typeof similarity !== "number" || (correct !== 0 && correct !== 1) || typeof atMs !== "number") return [];
    out.push([similarity, correct, atMs]);
  }
  return out;
}
