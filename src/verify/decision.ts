/**
 * The per-candidate decision of verified answers: serve the cached answer,
 * or explore (ask the LLM, compare, and learn).
 *
 * For a candidate entry at similarity `s` to the prompt:
 * 1. A candidate the hard-negative guard rejected is explored, never served:
 *    the guard's verdict is a veto on serving but not on learning. Its
 *    rules are cheap heuristics that also reject true paraphrases, yet a
 *    rejection costs one LLM call, never a wrong answer, and the exploration
 *    records who was right, so the entry's curve learns from it either way.
 * 2. An entry that was already wrong for a prompt at least as similar as
 *    this one is explored: a wrong observation tightens its entry at once,
 *    whatever the fitted curve says (a curve is a smooth summary, and one
 *    wrong answer just above `s` is hard evidence against serving at `s`).
 * 3. Otherwise the entry's posterior is fitted from its own observations,
 *    starting from its namespace's pooled prior widened by
 *    {@link ENTRY_SPREAD} (entries differ: some sit next to a hard negative,
 *    some have no neighbour at all), and `u`, the upper confidence bound on
 *    P(wrong | s), is what the error budget's ledger is asked to pay.
 * 4. Whatever the ledger holds, an answer whose point estimate of P(wrong)
 *    is {@link MAX_POINT_WRONG} or more is never offered for serving: a
 *    budget pays for a few risky answers, not for guesses.
 */
import type { Observation } from "../store/cache-store.js";
import { meetsThreshold } from "../store/similarity.js";
import { fitPosterior, probabilityRight, upperBoundWrong, widen, type Gaussian2 } from "./logistic.js";

/** z of the one-sided confidence bound on P(wrong): 1.645 is 95%. */
export const CONFIDENCE_Z = 1.645;

/**
 * Variance added to the pooled prior's (log-odds at 0.90, slope) before an
 * entry's own observations update it: how much one entry may differ from its
 * namespace's typical curve.
 */
export const ENTRY_SPREAD = { a: 1.0 ** 2, b: 5 ** 2 } as const;

/** An answer estimated at least this likely to be wrong is explored, never served. */
export const MAX_POINT_WRONG = 0.5;

/** What the decision looks at for one candidate. */
export interface CandidateEvidence {
  /** Cosine similarity of the prompt to the entry's prompt. */
  readonly similarity: number;
  /** The entry's own observations, oldest first. */
  readonly observations: readonly Observation[];
  /** Whether the hard-negative guard rejected this match. */
  readonly guardRejected: boolean;
}

/** The risk assessment of one candidate, before the ledger is asked. */
export type Assessment =
  | { readonly verdict: "explore"; readonly reason: "guard" | "wrong-closer" | "likely-wrong"; readonly upperBound: number }
  | {
      readonly verdict: "bounded";
      /** Upper confidence bound on P(wrong) at the candidate's similarity. */
      readonly upperBound: number;
      /** The point estimate of P(wrong) there. */
      readonly pointWrong: number;
      readonly posterior: Gaussian2;
    };

/** The posterior of one entry: its pooled prior, widened, updated with its own observations. */
export function entryPosterior(pooledPrior: Gaussian2, observations: readonly Observation[]): Gaussian2 {
  return fitPosterior(observations, widen(pooledPrior, ENTRY_SPREAD.a, ENTRY_SPREAD.b));
}

/** Assesses one candidate: explore outright (guard, a closer wrong answer), or its bound on P(wrong). */
export function assessCandidate(candidate: CandidateEvidence, pooledPrior: Gaussian2): Assessment {
  if (candidate.guardRejected) return { verdict: "explore", reason: "guard", upperBound: 1 };
  const s = candidate.similarity;
  // A wrong answer seen at this very similarity (through float32) counts as closer.
  if (candidate.observations.some((o) => !o.correct && meetsThreshold(o.similarity, s))) {
    return { verdict: "explore", reason: "wrong-closer", upperBound: 1 };
  }
  const posterior = entryPosterior(pooledPrior, candidate.observations);
  const upperBound = upperBoundWrong(posterior, s, CONFIDENCE_Z);
  const pointWrong = 1 - probabilityRight(posterior, s);
  if (pointWrong >= MAX_POINT_WRONG) return { verdict: "explore", reason: "likely-wrong", upperBound };
  return { verdict: "bounded", upperBound, pointWrong, posterior };
}
