/**
 * After the load: every acknowledged write (each Store the server confirmed,
 * each Ask answer it stored) must still be there, found by an exact Lookup
 * with the id it was acknowledged with and the answer last acknowledged.
 */
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import type { CacheClient } from "../../test/support/clients.js";
import type { Ledger, LedgerEntry, Origin } from "./ledger.js";
import { runPool } from "./pool.js";
import { codeName } from "./recorder.js";
import { scopeOf } from "./runner.js";

/** A check that failed, for the report. */
export interface VerifyFailure {
  readonly namespace: number;
  readonly prompt: string;
  readonly origin: Origin;
  readonly problem: string;
}

/** The result of the check. */
export interface VerifyReport {
  /** Acknowledged entries in the ledger. */
  readonly acknowledged: number;
  readonly acknowledgedByOrigin: Readonly<Record<Origin, number>>;
  /** Entries looked up (all of them unless the deadline cut the check short). */
  readonly checked: number;
  /** Found as an exact hit with the acknowledged id and an accepted answer. */
  readonly found: number;
  readonly missing: number;
  readonly wrongId: number;
  readonly wrongResponse: number;
  /** Lookups of the check that failed with an error. */
  readonly errors: number;
  /** Acknowledged replacements whose id differed from the prompt's first id (must be 0). */
  readonly idChanges: number;
  /** True when every acknowledged entry was checked and found. */
  readonly passed: boolean;
  /** The first few failures. */
  readonly failures: readonly VerifyFailure[];
  readonly seconds: number;
}

/** Looks up every acknowledged entry (gRPC, `concurrency` at once) until done or `deadline`. */
export async function verifyAcknowledged(client: CacheClient, ledger: Ledger, concurrency: number, deadline: number): Promise<VerifyReport> {
  const entries = ledger.entries();
  let found = 0;
  let missing = 0;
  let wrongId = 0;
  let wrongResponse = 0;
  let errors = 0;
  const failures: VerifyFailure[] = [];
  const fail = (entry: LedgerEntry, problem: string): void => {
    if (failures.length < 20) failures.push({ namespace: entry.namespace, prompt: entry.prompt, origin: entry.origin, problem });
  };
  const pool = await runPool(entries.length, concurrency, deadline, async (i) => {
    const entry = entries[i]!;
    try {
      const r = await client.lookup({ prompt: entry.prompt, scope: scopeOf(entry.namespace) }, { timeoutMs: 60_000 });
      if (!r.hit || r.kind !== MatchKind.EXACT || r.entry === undefined) {
        missing++;
        fail(entry, r.hit ? `matched ${MatchKind[r.kind]}, not exactly` : "not found");
      } else if (r.entry.id !== entry.id) {
        wrongId++;
        fail(entry, `id ${r.entry.id}, acknowledged ${entry.id}`);
      } else if (!entry.accepted.includes(r.entry.response)) {
        wrongResponse++;
        fail(entry, `answer ${JSON.stringify(r.entry.response.slice(0, 80))} is not the acknowledged one`);
      } else found++;
    } catch (error) {
      errors++;
      fail(entry, `lookup failed: ${codeName(error)} ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return {
    acknowledged: entries.length,
    acknowledgedByOrigin: ledger.counts(),
    checked: pool.issued,
    found,
    missing,
    wrongId,
    wrongResponse,
    errors,
    idChanges: ledger.idChanges,
    passed: pool.issued === entries.length && found === entries.length && ledger.idChanges === 0,
    failures,
    seconds: Math.round(pool.seconds * 10) / 10,
  };
}
