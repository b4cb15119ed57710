import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_OBSERVATIONS_PER_ENTRY, type CacheStore, type NewEntry, type Observation, type StoredEntry } from "../../../src/store/cache-store.js";
import { entryOf, randomUnit, rotated, scopeOf } from "./vectors.js";

/** What a store implementation hands the contract suite for each test. */
export interface StoreHarness {
  /** A fresh, empty, open store. */
  readonly store: CacheStore;
  /** Opens a new store on the same data; the suite closes the previous store first. */
  readonly reopen: () => Promise<CacheStore>;
  /** Closes every store the harness opened (closing twice must be harmless) and deletes the data. */
  readonly cleanup: () => Promise<void>;
}

/**
 * Registers the CacheStore contract suite for one implementation. Uses the
 * interface only, so every store (embedded, Redis) runs the same tests.
 * Vectors have dimension 384; operations on a closed store must reject with
 * a message containing "closed".
 */
export function describeStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`CacheStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: CacheStore;
    // Per test, so a slow suite never drifts past the expiries tests set.
    let T0 = 0;
    let LATER = 0;

    beforeEach(async () => {
      T0 = Date.now();
      LATER = T0 + 1_000;
      harness = await open();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    async function reopen(): Promise<void> {
      await store.close();
      store = await harness.reopen();
    }

    const a = scopeOf("ns-a");
    const b = scopeOf("ns-b");

    it("stores an entry and reads it back by id, field for field", async () => {
      const scope = scopeOf("ns-a", "gpt-x", { temperature: "0", system: "be brief" });
      const entry = entryOf(scope, "What is 2+2?", rotated(0), {
        response: "4",
        createdAtMs: T0,
        expiresAtMs: T0 + 3_600_000,
        metadata: { completion_tokens: "1", "x-key": "vålue" },
      });
      expect(await store.put([entry])).toEqual([false]);
      const got = await store.get(entry.id, LATER);
      expect(got).toEqual(stored(entry));
      expect(await store.get("0".repeat(64), LATER)).toBeUndefined();
    });

    it("returns an empty result for an empty batch", async () => {
      expect(await store.put([])).toEqual([]);
    });

    it("finds the nearest entries within the scope, best first, with cosine similarity", async () => {
      const angles = [0.4, 0.05, 0.8, 0.2];
      const entries = angles.map((angle, i) => entryOf(a, `prompt ${i}`, rotated(angle), { createdAtMs: T0 }));
      await store.put(entries);
      const found = await store.search(a, rotated(0), 3, LATER);
      expect(found.map((n) => n.entry.prompt)).toEqual(["prompt 1", "prompt 3", "prompt 0"]);
      for (const [i, n] of found.entries()) expect(n.similarity).toBeCloseTo(Math.cos([0.05, 0.2, 0.4][i] as number), 4);
      expect(found[0]?.entry).toEqual(stored(entries[1] as NewEntry));
      expect(await store.search(a, rotated(0), 10, LATER)).toHaveLength(4);
      // A query far from every entry still gets the nearest ones, with low similarity.
      const opposite = await store.search(a, rotated(Math.PI), 1, LATER);
      expect(opposite[0]?.entry.prompt).toBe("prompt 2");
      expect(opposite[0]?.similarity).toBeCloseTo(Math.cos(Math.PI - 0.8), 4);
    });

    it("with a floor, returns only the entries at least that similar, or the nearest alone when none is", async () => {
      const angles = [0.4, 0.05, 0.8, 0.2];
      await store.put(angles.map((angle, i) => entryOf(a, `prompt ${i}`, rotated(angle), { createdAtMs: T0 })));
      const prompts = async (floor: number) => (await store.search(a, rotated(0), 4, LATER, floor)).map((n) => n.entry.prompt);
      expect(await prompts(Math.cos(0.3))).toEqual(["prompt 1", "prompt 3"]);
      // The floor itself is in: an entry exactly as similar as the floor comes back.
      const atFloor = (await store.search(a, rotated(0), 4, LATER))[1]!.similarity;
      expect(await prompts(atFloor)).toEqual(["prompt 1", "prompt 3"]);
      expect(await prompts(Math.cos(0.01))).toEqual(["prompt 1"]);
      expect(await prompts(-1)).toEqual(["prompt 1", "prompt 3", "prompt 0", "prompt 2"]);
      // Another scope's entries never stand in for the nearest; an empty scope finds nothing.
      expect(await store.search(b, rotated(0), 4, LATER, 0.5)).toEqual([]);
    });

    it("never returns entries of another scope key or namespace", async () => {
      const otherParams = scopeOf("ns-a", "gpt-test", { temperature: "1" });
      const otherModel = scopeOf("ns-a", "gpt-other");
      await store.put([
        entryOf(a, "mine", rotated(0.3)),
        entryOf(otherParams, "same vector, other params", rotated(0)),
        entryOf(otherModel, "same vector, other model", rotated(0)),
        entryOf(b, "same vector, other namespace", rotated(0)),
      ]);
      const found = await store.search(a, rotated(0), 10, LATER);
      expect(found.map((n) => n.entry.prompt)).toEqual(["mine"]);
      expect(await store.search(scopeOf("ns-c"), rotated(0), 10, LATER)).toEqual([]);
      const inB = await store.search(b, rotated(0), 10, LATER);
      expect(inB.map((n) => n.entry.prompt)).toEqual(["same vector, other namespace"]);
      expect(inB[0]?.similarity).toBeCloseTo(1, 5);
    });

    it("never returns an expired entry from get, search, listRecent or count", async () => {
      const now = Date.now();
      const expired = entryOf(a, "expired", rotated(0), { createdAtMs: now - 2_000, expiresAtMs: now - 1_000 });
      const live = entryOf(a, "live", rotated(0.5), { createdAtMs: now - 3_000, expiresAtMs: now + 3_600_000 });
      await store.put([expired, live]);
      expect(await store.get(expired.id, now)).toBeUndefined();
      expect((await store.search(a, rotated(0), 5, now)).map((n) => n.entry.prompt)).toEqual(["live"]);
      expect((await store.listRecent("ns-a", 10, now)).map((e) => e.prompt)).toEqual(["live"]);
      expect(await store.count("ns-a")).toBe(1);
      expect(await store.count()).toBe(1);
      // Judged against the caller's clock: the live entry expires for a caller an hour ahead.
      expect(await store.get(live.id, now + 3_600_001)).toBeUndefined();
      expect(await store.search(a, rotated(0), 5, now + 3_600_001)).toEqual([]);
      expect(await store.listRecent("ns-a", 10, now + 3_600_001)).toEqual([]);
      expect(await store.get(live.id, now + 3_599_999)).toBeDefined();
    });

    it("looks past expired near-duplicates to find a live match", async () => {
      const now = Date.now();
      const expired = Array.from({ length: 30 }, (_, i) =>
        entryOf(a, `stale ${i}`, rotated(0.001 * (i + 1)), { createdAtMs: now - 10_000, expiresAtMs: now - 5_000 }),
      );
      const live = entryOf(a, "fresh", rotated(0.6), { createdAtMs: now });
      await store.put([...expired, live]);
      const found = await store.search(a, rotated(0), 1, now);
      expect(found.map((n) => n.entry.prompt)).toEqual(["fresh"]);
      expect(found[0]?.similarity).toBeCloseTo(Math.cos(0.6), 4);
    });

    it("counts hits, reports them in get and search, and keeps them across reopen", async () => {
      const entry = entryOf(a, "popular", rotated(0));
      await store.put([entry]);
      expect(await store.recordHit(entry.id)).toBe(1);
      expect(await store.recordHit(entry.id)).toBe(2);
      expect(await store.recordHit("f".repeat(64))).toBe(0);
      expect((await store.get(entry.id, LATER))?.hits).toBe(2);
      expect((await store.search(a, rotated(0), 1, LATER))[0]?.entry.hits).toBe(2);
      expect((await store.listRecent("ns-a", 1, LATER))[0]?.hits).toBe(2);
      await reopen();
      expect((await store.get(entry.id, LATER))?.hits).toBe(2);
      expect(await store.recordHit(entry.id)).toBe(3);
    });

    it("replaces an entry with the same id: one entry, the new response, one search result", async () => {
      const first = entryOf(a, "question", rotated(0), { response: "old", createdAtMs: T0 });
      const second = { ...entryOf(a, "question", rotated(0.1), { response: "new", createdAtMs: T0 + 1 }) };
      expect(second.id).toBe(first.id);
      expect(await store.put([first])).toEqual([false]);
      expect(await store.put([second])).toEqual([true]);
      expect((await store.get(first.id, LATER))?.response).toBe("new");
      const found = await store.search(a, rotated(0), 10, LATER);
      expect(found.map((n) => [n.entry.id, n.entry.response])).toEqual([[first.id, "new"]]);
      expect(found[0]?.similarity).toBeCloseTo(Math.cos(0.1), 4);
      expect(await store.count("ns-a")).toBe(1);
      expect(await store.listRecent("ns-a", 10, LATER)).toHaveLength(1);
    });

    it("replaces within one batch: the later entry wins", async () => {
      const first = entryOf(a, "dup", rotated(0), { response: "one" });
      const second = entryOf(a, "dup", rotated(0.2), { response: "two" });
      expect(await store.put([first, second])).toEqual([false, true]);
      expect((await store.get(first.id, LATER))?.response).toBe("two");
      expect(await store.search(a, rotated(0), 10, LATER)).toHaveLength(1);
    });

    it("flushes one namespace and leaves the others intact", async () => {
      const inA = [0.1, 0.2, 0.3].map((t, i) => entryOf(a, `a${i}`, rotated(t)));
      const inA2 = entryOf(scopeOf("ns-a", "other-model"), "a-other", rotated(0));
      const inB = [0.1, 0.2].map((t, i) => entryOf(b, `b${i}`, rotated(t)));
      await store.put([...inA, inA2, ...inB]);
      expect(await store.flushNamespace("ns-a")).toBe(4);
      expect(await store.count("ns-a")).toBe(0);
      expect(await store.count("ns-b")).toBe(2);
      expect(await store.get(inA[0]!.id, LATER)).toBeUndefined();
      expect(await store.search(a, rotated(0), 10, LATER)).toEqual([]);
      expect(await store.listRecent("ns-a", 10, LATER)).toEqual([]);
      expect((await store.search(b, rotated(0), 10, LATER)).map((n) => n.entry.prompt)).toEqual(["b0", "b1"]);
      expect(await store.flushNamespace("ns-nothing")).toBe(0);
      // The namespace is usable again after a flush.
      await store.put([entryOf(a, "again", rotated(0))]);
      expect((await store.search(a, rotated(0), 10, LATER)).map((n) => n.entry.prompt)).toEqual(["again"]);
    });

    it("flushes everything", async () => {
      await store.put([entryOf(a, "x", rotated(0)), entryOf(b, "y", rotated(0)), entryOf(b, "z", rotated(0.1))]);
      expect(await store.flushAll()).toBe(3);
      expect(await store.count()).toBe(0);
      expect(await store.search(a, rotated(0), 10, LATER)).toEqual([]);
      expect(await store.search(b, rotated(0), 10, LATER)).toEqual([]);
      expect(await store.flushAll()).toBe(0);
    });

    it("counts entries per namespace and in all", async () => {
      await store.put([
        ...[0, 1, 2].map((i) => entryOf(a, `a${i}`, randomUnit(i))),
        ...[0, 1].map((i) => entryOf(b, `b${i}`, randomUnit(10 + i))),
        entryOf(scopeOf("ns-a", "m2"), "a-m2", randomUnit(20)),
      ]);
      expect(await store.count("ns-a")).toBe(4);
      expect(await store.count("ns-b")).toBe(2);
      expect(await store.count("ns-none")).toBe(0);
      expect(await store.count()).toBe(6);
    });

    it("lists the most recent entries of a namespace, newest first", async () => {
      const entries = [3, 1, 4, 0, 2].map((i) => entryOf(a, `p${i}`, randomUnit(i), { createdAtMs: T0 + i * 10 }));
      await store.put(entries);
      await store.put([entryOf(b, "other namespace", randomUnit(99), { createdAtMs: T0 + 1_000 })]);
      expect((await store.listRecent("ns-a", 10, LATER)).map((e) => e.prompt)).toEqual(["p4", "p3", "p2", "p1", "p0"]);
      expect((await store.listRecent("ns-a", 2, LATER)).map((e) => e.prompt)).toEqual(["p4", "p3"]);
      const first = (await store.listRecent("ns-a", 1, LATER))[0];
      expect(first).toEqual(stored(entries[2] as NewEntry));
    });

    it("keeps its data across close and reopen, and search still works", async () => {
      const entries = [0.3, 0.1, 0.2].map((t, i) => entryOf(a, `q${i}`, rotated(t), { createdAtMs: T0 + i, metadata: { i: String(i) } }));
      const other = entryOf(b, "in b", rotated(0));
      await store.put([...entries, other]);
      await reopen();
      for (const entry of entries) expect(await store.get(entry.id, LATER)).toEqual(stored(entry));
      expect((await store.search(a, rotated(0), 2, LATER)).map((n) => n.entry.prompt)).toEqual(["q1", "q2"]);
      expect((await store.search(b, rotated(0), 5, LATER)).map((n) => n.entry.prompt)).toEqual(["in b"]);
      expect(await store.count()).toBe(4);
      // Writes after a reopen index alongside the loaded entries.
      await store.put([entryOf(a, "new", rotated(0.05))]);
      expect((await store.search(a, rotated(0), 1, LATER))[0]?.entry.prompt).toBe("new");
    });

    it("stores a large batch in one put", async () => {
      const n = 2_000;
      const scopes = [a, scopeOf("ns-a", "gpt-test", { k: "v" }), b];
      const entries = Array.from({ length: n }, (_, i) =>
        entryOf(scopes[i % 3]!, `bulk ${i}`, randomUnit(1_000 + i), { createdAtMs: T0 + i }),
      );
      const replaced = await store.put(entries);
      expect(replaced).toHaveLength(n);
      expect(replaced.every((r) => r === false)).toBe(true);
      expect(await store.count()).toBe(n);
      for (const i of [0, 1, 2, 777, 1_998, 1_999]) {
        const entry = entries[i]!;
        expect(await store.get(entry.id, LATER)).toEqual(stored(entry));
        const found = await store.search(entry.scope, entry.vector, 3, LATER);
        expect(found[0]?.entry.id).toBe(entry.id);
        expect(found[0]?.similarity).toBeCloseTo(1, 4);
        expect(found.every((m) => m.entry.scope.scopeKey === entry.scope.scopeKey)).toBe(true);
      }
    });

    it("accepts many concurrent puts", async () => {
      const entries = Array.from({ length: 50 }, (_, i) => entryOf(a, `concurrent ${i}`, randomUnit(5_000 + i)));
      const results = await Promise.all(entries.map((entry) => store.put([entry])));
      expect(results).toEqual(entries.map(() => [false]));
      expect(await store.count("ns-a")).toBe(50);
      const found = await store.search(a, entries[17]!.vector, 1, LATER);
      expect(found[0]?.entry.id).toBe(entries[17]!.id);
    });

    const seen = (similarity: number, correct: boolean, atMs: number): Observation => ({ similarity, correct, atMs });

    it("keeps observations with the entry, oldest first, and returns them from get, search and listRecent", async () => {
      const entry = entryOf(a, "observed", rotated(0), { createdAtMs: T0 });
      await store.put([entry]);
      expect((await store.get(entry.id, LATER))?.observations).toEqual([]);
      expect(await store.addObservation(entry.id, seen(0.93, true, T0 + 1), LATER)).toBe(true);
      expect(await store.addObservation(entry.id, seen(0.871234567, false, T0 + 2), LATER)).toBe(true);
      // Six decimals are kept, so every store round-trips the same value.
      const expected = [seen(0.93, true, T0 + 1), seen(0.871235, false, T0 + 2)];
      expect((await store.get(entry.id, LATER))?.observations).toEqual(expected);
      expect((await store.search(a, rotated(0), 1, LATER))[0]?.entry.observations).toEqual(expected);
      expect((await store.listRecent("ns-a", 1, LATER))[0]?.observations).toEqual(expected);
      expect(await store.addObservation("f".repeat(64), seen(0.9, true, T0), LATER)).toBe(false);
      expect(await store.get("f".repeat(64), LATER)).toBeUndefined();
    });

    it(`keeps the newest ${MAX_OBSERVATIONS_PER_ENTRY} observations of an entry`, async () => {
      const entry = entryOf(a, "busy", rotated(0));
      await store.put([entry]);
      const total = MAX_OBSERVATIONS_PER_ENTRY + 6;
      for (let i = 0; i < total; i++) expect(await store.addObservation(entry.id, seen(0.5, i % 2 === 0, T0 + i), LATER)).toBe(true);
      const kept = (await store.get(entry.id, LATER))?.observations ?? [];
      expect(kept).toHaveLength(MAX_OBSERVATIONS_PER_ENTRY);
      expect(kept.map((o) => o.atMs)).toEqual(Array.from({ length: MAX_OBSERVATIONS_PER_ENTRY }, (_, i) => T0 + 6 + i));
    });

    it("lands every one of many concurrent observations", async () => {
      const entry = entryOf(a, "contended", rotated(0));
      await store.put([entry]);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => store.addObservation(entry.id, seen(0.9, true, T0 + i), LATER)));
      expect(results.every(Boolean)).toBe(true);
      const atMs = ((await store.get(entry.id, LATER))?.observations ?? []).map((o) => o.atMs);
      expect([...atMs].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => T0 + i));
    });

    it("never adds an observation to an expired or deleted entry, nor brings it back", async () => {
      const now = Date.now();
      const expiring = entryOf(a, "expiring", rotated(0), { createdAtMs: now - 2_000, expiresAtMs: now + 60_000 });
      const flushed = entryOf(b, "flushed", rotated(0));
      await store.put([expiring, flushed]);
      // Expired for a caller whose clock is past the expiry.
      expect(await store.addObservation(expiring.id, seen(0.9, true, now), now + 60_000)).toBe(false);
      expect((await store.get(expiring.id, now))?.observations).toEqual([]);
      expect(await store.flushNamespace("ns-b")).toBe(1);
      expect(await store.addObservation(flushed.id, seen(0.9, true, now), now)).toBe(false);
      expect(await store.get(flushed.id, now)).toBeUndefined();
      expect(await store.count("ns-b")).toBe(0);
      expect(await store.search(b, rotated(0), 5, now)).toEqual([]);
    });

    it("starts a replaced entry with no observations: the evidence was about the old answer", async () => {
      const first = entryOf(a, "replaced", rotated(0), { response: "old" });
      await store.put([first]);
      expect(await store.addObservation(first.id, seen(0.95, false, T0), LATER)).toBe(true);
      await store.put([entryOf(a, "replaced", rotated(0), { response: "new" })]);
      const got = await store.get(first.id, LATER);
      expect(got?.response).toBe("new");
      expect(got?.observations).toEqual([]);
    });

    it("keeps observations across reopen, and drops them with a flush", async () => {
      const entry = entryOf(a, "durable", rotated(0));
      await store.put([entry]);
      await store.addObservation(entry.id, seen(0.91, true, T0), LATER);
      await store.addObservation(entry.id, seen(-0.25, false, T0 + 5), LATER);
      await reopen();
      expect((await store.get(entry.id, LATER))?.observations).toEqual([seen(0.91, true, T0), seen(-0.25, false, T0 + 5)]);
      expect(await store.flushAll()).toBe(1);
      expect(await store.addObservation(entry.id, seen(0.9, true, T0), LATER)).toBe(false);
      await store.put([entry]);
      expect((await store.get(entry.id, LATER))?.observations).toEqual([]);
    });

    it("refuses an observation out of range", async () => {
      const entry = entryOf(a, "strict", rotated(0));
      await store.put([entry]);
      await expect(store.addObservation(entry.id, seen(Number.NaN, true, T0), LATER)).rejects.toThrow(RangeError);
      await expect(store.addObservation(entry.id, seen(1.5, true, T0), LATER)).rejects.toThrow(/similarity/);
      await expect(store.addObservation(entry.id, seen(0.5, true, -1), LATER)).rejects.toThrow(/atMs/);
      expect((await store.get(entry.id, LATER))?.observations).toEqual([]);
    });

    it("answers ping while open", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("rejects operations after close", async () => {
      await store.close();
      await expect(store.get("x", LATER)).rejects.toThrow(/closed/i);
      await expect(store.put([entryOf(a, "late", rotated(0))])).rejects.toThrow(/closed/i);
      await expect(store.search(a, rotated(0), 1, LATER)).rejects.toThrow(/closed/i);
      await expect(store.count()).rejects.toThrow(/closed/i);
      await expect(store.addObservation("x", { similarity: 0.9, correct: true, atMs: 1 }, LATER)).rejects.toThrow(/closed/i);
      await expect(store.ping()).rejects.toThrow(/closed/i);
    });
  });
}

/** What a store should return for an entry it was given (no hits, no observations yet). */
export function stored(entry: NewEntry): StoredEntry {
  const { vector: _vector, ...rest } = entry;
  return { ...rest, hits: 0, observations: [] };
}
