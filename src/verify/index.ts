/**
 * Verified answers: an error budget the cache keeps, learned per entry
 * (after vCache, arXiv 2502.03771, in semcache's own terms). See
 * verifier.ts for how a request goes, decision.ts for the per-candidate
 * rules, error-budget.ts for why the realised error rate stays within the
 * budget, logistic.ts and pooled-prior.ts for the model, answer-match.ts
 * for how answers are judged.
 */
export { DEFAULT_ANSWER_MATCH, judgeAnswers, normalizeAnswer, type AnswerVerdict } from "./answer-match.js";
export { checkErrorBudget } from "./budget.js";
export { CONFIDENCE_Z, ENTRY_SPREAD, MAX_POINT_WRONG, assessCandidate, entryPosterior, type Assessment, type CandidateEvidence } from "./decision.js";
export { ErrorBudgetLedger, SAVINGS_WINDOW } from "./error-budget.js";
export { CENTER, boundaryFor, fitPosterior, probabilityRight, sigmoid, upperBoundWrong, type Gaussian2, type LabelledPoint } from "./logistic.js";
export { CAUTIOUS_PRIOR, PooledPriors, type PooledPriorLimits } from "./pooled-prior.js";
export { DEFAULT_EXPLORE_FLOOR, Verifier, type ExploreReason, type VerifiedChoice, type VerifierOptions, type VerifyCandidate } from "./verifier.js";
export { ServedLog } from "./served-log.js";
