import { describe, expect, it } from "vitest";
import type { Observation } from "../../src/store/cache-store.js";
import { assessCandidate, MAX_POINT_WRONG } from "../../src/verify/decision.js";
import { CAUTIOUS_PRIOR } from "../../src/verify/pooled-prior.js";
import { DEFAULT_EXPLORE_FLOOR, Verifier, type VerifyCandidate } from "../../src/verify/verifier.js";

const obs = (similarity: number, correct: boolean, atMs = 0): Observation => ({ similarity, correct, atMs });
const candidate = (entryId: string, similarity: number, observations: Observation[] = [], guardRejected = false): VerifyCandidate => ({
  entryId,
  similarity,
  observations,
  guardRejected,
});

/** Teaches a namespace that answers hold at 0.9 and above and fail below 0.85. */
function teachSteep(verifier: Verifier, namespace: string): void {
  for (let e = 0; e < 60; e++) {
    for (const s of [0.8, 0.83, 0.9, 0.93, 0.96, 0.99]) verifier.record(namespace, `t${e}`, obs(s, s >= 0.9, e));
  }
}

describe("assessCandidate", () => {
  it("explores a guard-rejected candidate, whatever the evidence", () => {
    const a = assessCandidate({ similarity: 0.99, observations: [obs(0.9, true)], guardRejected: true }, CAUTIOUS_PRIOR);
    expect(a).toMatchObject({ verdict: "explore", reason: "guard" });
  });

  it("explores an entry already wrong at this similarity or above (one wrong answer tightens it at once)", () => {
    const evidence = { observations: [obs(0.95, true), obs(0.96, false)], guardRejected: false };
    expect(assessCandidate({ ...evidence, similarity: 0.96 }, CAUTIOUS_PRIOR)).toMatchObject({ verdict: "explore", reason: "wrong-closer" });
    expect(assessCandidate({ ...evidence, similarity: 0.93 }, CAUTIOUS_PRIOR)).toMatchObject({ verdict: "explore", reason: "wrong-closer" });
    expect(assessCandidate({ ...evidence, similarity: 0.97 }, CAUTIOUS_PRIOR).verdict).not.toBe("explore");
  });

  it("never offers an answer estimated more likely wrong than right", () => {
    const a = assessCandidate({ similarity: 0.85, observations: [], guardRejected: false }, CAUTIOUS_PRIOR);
    expect(a).toMatchObject({ verdict: "explore", reason: "likely-wrong" });
    const b = assessCandidate({ similarity: 0.99, observations: [], guardRejected: false }, CAUTIOUS_PRIOR);
    expect(b.verdict).toBe("bounded");
    if (b.verdict === "bounded") expect(b.pointWrong).toBeLessThan(MAX_POINT_WRONG);
  });

  it("an entry's own right answers lower its bound; a wrong one raises it", () => {
    const none = assessCandidate({ similarity: 0.97, observations: [], guardRejected: false }, CAUTIOUS_PRIOR);
    const right = assessCandidate(
      { similarity: 0.97, observations: [obs(0.9, true), obs(0.92, true), obs(0.95, true), obs(0.96, true)], guardRejected: false },
      CAUTIOUS_PRIOR,
    );
    const wrongBelow = assessCandidate({ similarity: 0.97, observations: [obs(0.9, false)], guardRejected: false }, CAUTIOUS_PRIOR);
    expect(right.upperBound).toBeLessThan(none.upperBound);
    expect(wrongBelow.upperBound).toBeGreaterThan(none.upperBound);
  });
});

describe("Verifier", () => {
  it("a fresh namespace starts cautious: its prior's bound is far above the budget, so only saved-up budget pays", () => {
    const v = new Verifier();
    const first = v.decide("ns", 0.02, [candidate("a", 0.995)]);
    expect(first).toMatchObject({ kind: "explore", reason: "over-budget" });
    if (first.kind === "explore") expect(first.upperBound).toBeGreaterThan(10 * 0.02);
    let requests = 1;
    let served = 0;
    for (; served === 0 && requests < 1000; requests++) if (v.decide("ns", 0.02, [candidate("a", 0.995)]).kind === "serve") served++;
    // One such answer costs as much budget as many requests earn.
    expect(requests).toBeGreaterThan(10);
  });

  it("serves what its namespace's evidence supports, once the budget can pay for it", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    const choice = v.decide("ns", 0.05, [candidate("new", 0.98)]);
    expect(choice).toMatchObject({ kind: "serve", index: 0 });
    if (choice.kind === "serve") expect(choice.upperBound).toBeLessThanOrEqual(0.05);
    // Below the learned boundary: explored.
    expect(v.decide("ns", 0.05, [candidate("new", 0.84)]).kind).toBe("explore");
    // Other namespaces learned nothing.
    expect(v.decide("other", 0.05, [candidate("x", 0.98)]).kind).toBe("explore");
  });

  it("walks candidates best first: serves the first one the budget can pay, else explores the nearest", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    const choice = v.decide("ns", 0.05, [candidate("near-miss", 0.99, [], true), candidate("para", 0.98)]);
    expect(choice).toMatchObject({ kind: "serve", index: 1 });
    const explored = v.decide("ns", 0.05, [candidate("a", 0.86), candidate("b", 0.85)]);
    expect(explored).toMatchObject({ kind: "explore", index: 0 });
  });

  it("below the exploration floor a candidate is a plain miss; the request's own floor overrides it", () => {
    const v = new Verifier();
    expect(v.decide("ns", 0.02, [candidate("a", DEFAULT_EXPLORE_FLOOR - 0.05)])).toEqual({ kind: "miss" });
    expect(v.decide("ns", 0.02, [])).toEqual({ kind: "miss" });
    expect(v.decide("ns", 0.02, [candidate("a", 0.9)], 0.95)).toEqual({ kind: "miss" });
  });

  it("spends no more than the budget has earned over all requests (exact hits count)", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    let spent = 0;
    let requests = 0;
    for (let i = 0; i < 400; i++) {
      requests++;
      if (i % 2 === 0) {
        v.countRequest("ns", 0.02);
        continue;
      }
      const choice = v.decide("ns", 0.02, [candidate(`c${i}`, 0.93 + (i % 7) / 100)]);
      if (choice.kind === "serve") spent += choice.upperBound;
      expect(spent).toBeLessThanOrEqual(0.02 * requests + 1e-9);
    }
    expect(spent).toBeGreaterThan(0);
  });

  it("learns from recorded observations: a served entry found wrong is explored next time", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    expect(v.decide("ns", 0.05, [candidate("e", 0.97)]).kind).toBe("serve");
    const wrong = obs(0.97, false, 99);
    v.record("ns", "e", wrong);
    expect(v.decide("ns", 0.05, [candidate("e", 0.97, [wrong])])).toMatchObject({ kind: "explore", reason: "wrong-closer" });
  });

  it("reports a learned boundary only for entries with observations of their own", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    expect(v.learnedBoundary("ns", [], 0.02)).toBe(0);
    const b = v.learnedBoundary("ns", [obs(0.95, true), obs(0.97, true)], 0.02);
    expect(b).toBeGreaterThan(0.85);
    expect(b).toBeLessThanOrEqual(1);
  });

  it("forgets a flushed namespace: back to cautious", () => {
    const v = new Verifier();
    teachSteep(v, "ns");
    v.forget("ns");
    expect(v.decide("ns", 0.05, [candidate("new", 0.98)]).kind).toBe("explore");
  });
});
