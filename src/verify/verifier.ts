/**
 * Verified answers, as one object the cache core holds: it decides, per
 * request under an error budget, whether a semantic candidate is served or
 * explored, and learns from every observation recorded.
 *
 * How a request goes (the cache core calls these):
 * - an exact hit: {@link Verifier.countRequest} (it earns budget and is
 *   always served: the same normalised prompt is the same question);
 * - otherwise {@link Verifier.decide} with the store's candidates, best
 *   first: the first candidate whose bound the budget can pay is served;
 *   if none can, the request is explored against the nearest candidate at
 *   or above the exploration floor; with no such candidate it is a miss;
 * - after an exploration (the LLM's answer judged against the cached one)
 *   or a client's feedback: {@link Verifier.record}, then the store's
 *   `addObservation`, which makes it survive restarts.
 *
 * Explored less as confidence grows: exploration here is deterministic, not
 * random as in vCache. A request is explored exactly when its candidate's
 * upper bound on P(wrong) does not fit in the budget; each observation
 * narrows the entry's posterior (and its namespace's pooled prior), which
 * lowers the bound at the similarities it has seen right answers at, so the
 * share of requests explored falls as evidence grows, and only answers whose
 * bound the budget can pay are ever served. Served answers teach nothing
 * (nobody checks them) unless a client sends Feedback.
 */
import type { Observation } from "../store/cache-store.js";
import { meetsThreshold } from "../store/similarity.js";
import { assessCandidate, entryPosterior } from "./decision.js";
import { ErrorBudgetLedger } from "./error-budget.js";
import { boundaryFor } from "./logistic.js";
import { PooledPriors, type PooledPriorLimits } from "./pooled-prior.js";

/**
 * Candidates below this similarity are plain misses, not explorations,
 * unless the request sets its own `min_similarity`: an observation so far
 * from the entry teaches little and would crowd its bounded history.
 */
export const DEFAULT_EXPLORE_FLOOR = 0.6;

/** One candidate of the semantic layer, as the verifier sees it. */
export interface VerifyCandidate {
  readonly entryId: string;
  /** Cosine similarity of the prompt to the entry's prompt. */
  readonly similarity: number;
  /** The entry's observations as the store returned them, oldest first. */
  readonly observations: readonly Observation[];
  /** Whether the hard-negative guard rejected this match. */
  readonly guardRejected: boolean;
}

/** Why a candidate was explored. */
export type ExploreReason = "guard" | "wrong-closer" | "likely-wrong" | "over-budget";

/** What to do with a request's candidates. */
export type VerifiedChoice =
  /** Serve `candidates[index]`; `upperBound` is its bound on P(wrong), now spent from the budget. */
  | { readonly kind: "serve"; readonly index: number; readonly upperBound: number }
  /** Ask the LLM and judge `candidates[index]` against its answer. */
  | { readonly kind: "explore"; readonly index: number; readonly upperBound: number; readonly reason: ExploreReason }
  /** No candidate worth exploring: an ordinary miss. */
  | { readonly kind: "miss" };

/** Options of a {@link Verifier}. */
export interface VerifierOptions {
  /** Bounds of the pooled priors. */
  readonly pools?: PooledPriorLimits;
  /** Most ledger accounts (namespace × budget) kept; default 4096. */
  readonly maxAccounts?: number;
}

/** The decision model and its in-memory state (pooled priors and budget ledger). */
export class Verifier {
  private readonly priors: PooledPriors;
  private readonly ledger: ErrorBudgetLedger;

  constructor(options: VerifierOptions = {}) {
    this.priors = new PooledPriors(options.pools);
    this.ledger = new ErrorBudgetLedger(options.maxAccounts);
  }

  /** Counts a request that was answered without a decision (an exact hit): it earns its budget. */
  countRequest(namespace: string, budget: number): void {
    this.ledger.earn(namespace, budget);
  }

  /**
   * Decides a request's fate from its semantic candidates (best first); the
   * request is counted (it earns `budget`), and the candidates' stored
   * observations feed the namespace's pooled prior.
   *
   * @param floor candidates below it are ignored (default {@link DEFAULT_EXPLORE_FLOOR})
   */
  decide(namespace: string, budget: number, candidates: readonly VerifyCandidate[], floor = DEFAULT_EXPLORE_FLOOR): VerifiedChoice {
    this.ledger.earn(namespace, budget);
    for (const c of candidates) this.priors.absorb(namespace, c.entryId, c.observations);
    const prior = this.priors.prior(namespace);
    let explore: Extract<VerifiedChoice, { kind: "explore" }> | undefined;
    for (let index = 0; index < candidates.length; index++) {
      const candidate = candidates[index]!;
      if (!meetsThreshold(candidate.similarity, floor)) continue;
      const assessment = assessCandidate(candidate, prior);
      if (assessment.verdict === "bounded" && this.ledger.trySpend(namespace, budget, assessment.upperBound)) {
        return { kind: "serve", index, upperBound: assessment.upperBound };
      }
      explore ??= {
        kind: "explore",
        index,
        upperBound: assessment.upperBound,
        reason: assessment.verdict === "explore" ? assessment.reason : "over-budget",
      };
    }
    return explore ?? { kind: "miss" };
  }

  /** Learns from one new observation of an entry (an exploration's verdict, or feedback). */
  record(namespace: string, entryId: string, observation: Observation): void {
    this.priors.add(namespace, entryId, observation);
  }

  /**
   * The similarity at which an entry's estimated P(right) reaches
   * `1 − budget`, from its own observations and its namespace's pooled
   * prior; 0 when the entry has no observations of its own or the curve
   * never gets there.
   */
  learnedBoundary(namespace: string, observations: readonly Observation[], budget: number): number {
    if (observations.length === 0) return 0;
    return boundaryFor(entryPosterior(this.priors.prior(namespace), observations), budget);
  }

  /** Forgets what was learned and saved for one namespace (it was flushed), or for all. */
  forget(namespace?: string): void {
    this.priors.forget(namespace);
    this.ledger.forget(namespace);
  }
}
