import { describe, expect, it } from "vitest";
import { CAUTIOUS_PRIOR } from "../../src/verify/pooled-prior.js";
import { boundaryFor, fitPosterior, logit, probabilityRight, sigmoid, upperBoundWrong, type LabelledPoint } from "../../src/verify/logistic.js";

/** Points drawn (deterministically) from a known curve: right with P = σ(a + b(s − 0.9)). */
function pointsFrom(a: number, b: number, n: number): LabelledPoint[] {
  const out: LabelledPoint[] = [];
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const similarity = 0.6 + 0.4 * rand();
    out.push({ similarity, correct: rand() < sigmoid(a + b * (similarity - 0.9)) });
  }
  return out;
}

describe("logistic model", () => {
  it("sigmoid and logit are inverse and do not overflow", () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(logit(0.98))).toBeCloseTo(0.98, 12);
    expect(Number.isFinite(logit(0))).toBe(true);
  });

  it("is the prior when there is nothing to fit", () => {
    expect(fitPosterior([], CAUTIOUS_PRIOR)).toBe(CAUTIOUS_PRIOR);
  });

  it("recovers a known curve from many points, and narrows as points grow", () => {
    const few = fitPosterior(pointsFrom(1, 30, 40), CAUTIOUS_PRIOR);
    const many = fitPosterior(pointsFrom(1, 30, 4000), CAUTIOUS_PRIOR);
    expect(many.mean[0]).toBeGreaterThan(0.6);
    expect(many.mean[0]).toBeLessThan(1.4);
    expect(many.mean[1]).toBeGreaterThan(22);
    expect(many.mean[1]).toBeLessThan(38);
    expect(many.cov[0][0]).toBeLessThan(few.cov[0][0]);
    expect(many.cov[1][1]).toBeLessThan(few.cov[1][1]);
    // The covariance stays symmetric positive-definite.
    expect(many.cov[0][1]).toBeCloseTo(many.cov[1][0], 12);
    expect(many.cov[0][0] * many.cov[1][1] - many.cov[0][1] ** 2).toBeGreaterThan(0);
  });

  it("stays finite on separable data (the prior keeps the mode bounded)", () => {
    const points: LabelledPoint[] = [
      ...Array.from({ length: 50 }, () => ({ similarity: 0.95, correct: true })),
      ...Array.from({ length: 50 }, () => ({ similarity: 0.7, correct: false })),
    ];
    const fit = fitPosterior(points, CAUTIOUS_PRIOR);
    expect(Number.isFinite(fit.mean[0]) && Number.isFinite(fit.mean[1])).toBe(true);
    expect(probabilityRight(fit, 0.95)).toBeGreaterThan(0.9);
    expect(probabilityRight(fit, 0.7)).toBeLessThan(0.1);
  });

  it("the upper bound on P(wrong) lies above the point estimate and shrinks with evidence", () => {
    const few = fitPosterior(pointsFrom(2, 30, 30), CAUTIOUS_PRIOR);
    const many = fitPosterior(pointsFrom(2, 30, 3000), CAUTIOUS_PRIOR);
    for (const s of [0.8, 0.9, 0.97]) {
      expect(upperBoundWrong(few, s, 1.645)).toBeGreaterThan(1 - probabilityRight(few, s));
      expect(upperBoundWrong(few, s, 0)).toBeCloseTo(1 - probabilityRight(few, s), 12);
    }
    expect(upperBoundWrong(many, 0.97, 1.645) - (1 - probabilityRight(many, 0.97))).toBeLessThan(
      upperBoundWrong(few, 0.97, 1.645) - (1 - probabilityRight(few, 0.97)),
    );
  });

  it("the cautious prior alone never bounds P(wrong) below 5% anywhere", () => {
    for (let s = 0.5; s <= 1; s += 0.01) expect(upperBoundWrong(CAUTIOUS_PRIOR, s, 1.645)).toBeGreaterThan(0.05);
  });

  it("finds the boundary where P(right) reaches 1 − budget, or 0", () => {
    const curve = { mean: [1, 40] as [number, number], cov: CAUTIOUS_PRIOR.cov };
    const s = boundaryFor(curve, 0.02);
    expect(probabilityRight(curve, s)).toBeCloseTo(0.98, 9);
    expect(boundaryFor({ mean: [1, -3], cov: CAUTIOUS_PRIOR.cov }, 0.02)).toBe(0); // falling curve
    expect(boundaryFor({ mean: [-5, 10], cov: CAUTIOUS_PRIOR.cov }, 0.02)).toBe(0); // above 1
  });
});
