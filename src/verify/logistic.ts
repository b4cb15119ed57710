/**
 * The curve verified answers learn: the probability that a cached answer is
 * right for a prompt at cosine similarity `s` to the entry's prompt,
 *
 *     P(right | s) = σ(a + b·(s − CENTER)),   σ(x) = 1 / (1 + e^−x),
 *
 * with a Gaussian prior on θ = (a, b). Why a logistic: correctness falls off
 * as the similarity drops, and one intercept and one slope say where (the
 * boundary) and how sharply; vCache (arXiv 2502.03771) uses the same family
 * per entry. Why a Gaussian prior and a MAP fit by Newton's method: a new
 * entry has no observations of its own, so its estimate must come from
 * somewhere (the pooled prior of its namespace, see pooled-prior.ts), and a
 * Gaussian prior on the logistic's parameters makes the posterior's mode a
 * few Newton (IRLS) steps away, with the inverse Hessian there as the
 * posterior covariance (the Laplace approximation). That covariance is what
 * turns an estimate into a confidence bound: few observations, wide bound.
 *
 * Everything here is pure arithmetic on 2-vectors and 2×2 matrices.
 */

/** Where the similarity axis is centred: `a` is the log-odds of "right" at this similarity. */
export const CENTER = 0.9;

/** A Gaussian over θ = (a, b): a mean and a symmetric positive-definite 2×2 covariance. */
export interface Gaussian2 {
  /** Mean of (a, b). */
  readonly mean: readonly [number, number];
  /** Covariance, row-major: [[caa, cab], [cab, cbb]]. */
  readonly cov: readonly [readonly [number, number], readonly [number, number]];
}

/** One labelled point for the fit: a similarity and whether the answer was right. */
export interface LabelledPoint {
  readonly similarity: number;
  readonly correct: boolean;
}

/** The logistic function σ(x), computed without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The log-odds of p, clamped away from ±∞. */
export function logit(p: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(q / (1 - q));
}

type Mat2 = [[number, number], [number, number]];

function invert(m: readonly (readonly [number, number])[]): Mat2 {
  const [[p, q], [r, s]] = m as readonly [readonly [number, number], readonly [number, number]];
  const det = p * s - q * r;
  if (!(Math.abs(det) > 1e-300)) throw new RangeError("singular 2×2 matrix");
  return [
    [s / det, -q / det],
    [-r / det, p / det],
  ];
}

/** A Gaussian with the same mean and `extra` added to the diagonal of its covariance. */
export function widen(g: Gaussian2, extraA: number, extraB: number): Gaussian2 {
  return {
    mean: g.mean,
    cov: [
      [g.cov[0][0] + extraA, g.cov[0][1]],
      [g.cov[1][0], g.cov[1][1] + extraB],
    ],
  };
}

/** Most Newton steps of a fit; the log-posterior is concave, so a handful always suffice. */
const MAX_STEPS = 30;

/**
 * The posterior of θ given `points` and a Gaussian `prior`, in the Laplace
 * approximation: its mode (maximum a posteriori, by Newton's method on the
 * concave log-posterior) and the inverse of the negative Hessian there.
 * With no points it is the prior itself.
 */
export function fitPosterior(points: readonly LabelledPoint[], prior: Gaussian2): Gaussian2 {
  if (points.length === 0) return prior;
  const precision = invert(prior.cov);
  const [ma, mb] = prior.mean;
  let a = ma;
  let b = mb;
  let hessian: Mat2 = precision;
  for (let step = 0; step < MAX_STEPS; step++) {
    // Gradient and negative Hessian of the log-posterior at (a, b).
    let ga = -(precision[0][0] * (a - ma) + precision[0][1] * (b - mb));
    let gb = -(precision[1][0] * (a - ma) + precision[1][1] * (b - mb));
    let haa = precision[0][0];
    let hab = precision[0][1];
    let hbb = precision[1][1];
    for (const point of points) {
      const x = point.similarity - CENTER;
      const p = sigmoid(a + b * x);
      const residual = (point.correct ? 1 : 0) - p;
      const w = p * (1 - p);
      ga += residual;
      gb += residual * x;
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    hessian = [
      [haa, hab],
      [hab, hbb],
    ];
    const inv = invert(hessian);
    const da = inv[0][0] * ga + inv[0][1] * gb;
    const db = inv[1][0] * ga + inv[1][1] * gb;
    a += da;
    b += db;
    if (Math.abs(da) < 1e-9 && Math.abs(db) < 1e-9) break;
  }
  // The covariance at the mode (one more Hessian, since the last step moved θ).
  let haa = precision[0][0];
  let hab = precision[0][1];
  let hbb = precision[1][1];
  for (const point of points) {
    const x = point.similarity - CENTER;
    const p = sigmoid(a + b * x);
    const w = p * (1 - p);
    haa += w;
    hab += w * x;
    hbb += w * x * x;
  }
  hessian = [
    [haa, hab],
    [hab, hbb],
  ];
  return { mean: [a, b], cov: invert(hessian) };
}

/** The point estimate of P(right | similarity) under a posterior. */
export function probabilityRight(posterior: Gaussian2, similarity: number): number {
  return sigmoid(posterior.mean[0] + posterior.mean[1] * (similarity - CENTER));
}

/**
 * An upper confidence bound on P(wrong | similarity): the log-odds of
 * "right" at this similarity is Gaussian under the posterior (it is linear
 * in θ), so its lower `z`-sigma bound gives an upper bound on the chance of
 * a wrong answer (z = 1.645: one-sided 95%).
 */
export function upperBoundWrong(posterior: Gaussian2, similarity: number, z: number): number {
  const x = similarity - CENTER;
  const [a, b] = posterior.mean;
  const [[caa, cab], [, cbb]] = posterior.cov;
  const eta = a + b * x;
  const variance = Math.max(0, caa + 2 * cab * x + cbb * x * x);
  return sigmoid(-(eta - z * Math.sqrt(variance)));
}

/**
 * The similarity at which the estimated P(right) reaches `1 − budget`, or 0
 * when no similarity in (0, 1] reaches it (a flat or falling curve, or a
 * boundary above 1).
 */
export function boundaryFor(posterior: Gaussian2, budget: number): number {
  const [a, b] = posterior.mean;
  if (!(b > 1e-9)) return 0;
  const s = CENTER + (logit(1 - budget) - a) / b;
  return s > 0 && s <= 1 ? s : 0;
}
