import { describe, expect, it } from "vitest";
import { MAX_OBSERVATIONS_PER_ENTRY, type Observation } from "../../src/store/cache-store.js";
import { probabilityRight } from "../../src/verify/logistic.js";
import { CAUTIOUS_PRIOR, PooledPriors } from "../../src/verify/pooled-prior.js";

const obs = (similarity: number, correct: boolean, atMs: number): Observation => ({ similarity, correct, atMs });

/** A namespace where answers hold above about 0.9 and fail below. */
function steepEvidence(priors: PooledPriors, pool: string, entries = 40): void {
  for (let e = 0; e < entries; e++) {
    for (let i = 0; i < 5; i++) {
      const s = 0.8 + 0.2 * ((e * 5 + i) % 21) / 20;
      priors.add(pool, `e${e}`, obs(s, s >= 0.9, e * 10 + i));
    }
  }
}

describe("pooled priors", () => {
  it("start cautious: a namespace without evidence gets the cautious prior", () => {
    expect(new PooledPriors().prior("fresh")).toBe(CAUTIOUS_PRIOR);
  });

  it("learn a namespace's curve from its observations, and keep namespaces apart", () => {
    const priors = new PooledPriors();
    steepEvidence(priors, "steep");
    const steep = priors.prior("steep");
    expect(probabilityRight(steep, 0.97)).toBeGreaterThan(0.9);
    expect(probabilityRight(steep, 0.82)).toBeLessThan(0.1);
    expect(priors.prior("other")).toBe(CAUTIOUS_PRIOR);
    expect(priors.size("steep")).toBe(200);
  });

  it("absorb merges an entry's stored observations with recorded ones, without double counting", () => {
    const priors = new PooledPriors();
    priors.add("ns", "a", obs(0.9, true, 1));
    priors.absorb("ns", "a", [obs(0.9, true, 1), obs(0.95, false, 2)]);
    expect(priors.size("ns")).toBe(2);
    // A store that keeps similarities as float32 is the same observation.
    priors.absorb("ns", "a", [obs(Math.fround(0.9), true, 1)]);
    expect(priors.size("ns")).toBe(2);
    priors.absorb("ns", "b", []);
    expect(priors.size("ns")).toBe(2);
  });

  it("refits when evidence changes (a cached fit is not served stale)", () => {
    const priors = new PooledPriors();
    steepEvidence(priors, "ns");
    const before = probabilityRight(priors.prior("ns"), 0.95);
    for (let i = 0; i < 200; i++) priors.add("ns", `w${i}`, obs(0.95, false, 1000 + i));
    expect(probabilityRight(priors.prior("ns"), 0.95)).toBeLessThan(before - 0.3);
  });

  it("is bounded: observations per entry, entries per pool, and pools", () => {
    const priors = new PooledPriors({ maxPools: 2, maxEntriesPerPool: 3 });
    for (let i = 0; i < MAX_OBSERVATIONS_PER_ENTRY + 10; i++) priors.add("ns", "a", obs(0.9, true, i));
    expect(priors.size("ns")).toBe(MAX_OBSERVATIONS_PER_ENTRY);
    for (const id of ["b", "c", "d"]) priors.add("ns", id, obs(0.9, true, 1));
    expect(priors.size("ns")).toBe(3); // "a" (least recently touched) went
    priors.add("p2", "x", obs(0.9, true, 1));
    priors.add("p3", "x", obs(0.9, true, 1));
    expect(priors.size("ns")).toBe(0);
    expect(priors.prior("ns")).toBe(CAUTIOUS_PRIOR);
  });

  it("forgets one namespace or all", () => {
    const priors = new PooledPriors();
    steepEvidence(priors, "a", 2);
    steepEvidence(priors, "b", 2);
    priors.forget("a");
    expect(priors.size("a")).toBe(0);
    expect(priors.size("b")).toBe(10);
    priors.forget();
    expect(priors.size("b")).toBe(0);
  });
});
