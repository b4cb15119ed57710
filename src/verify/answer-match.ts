import { cosineSimilarity } from "../embedder/pooling.js";
/**
 * Whether two answers are the same answer: the rule an exploration uses to
 * judge a cached answer against the LLM's fresh one.
 *
 * Equal after normalisation (Unicode NFC, case folded, white space runs
 * collapsed, trailing sentence punctuation dropped), or, failing that,
 * cosine similarity of the two answers' embeddings at or above the match
 * threshold (`SEMCACHE_ANSWER_MATCH`, default {@link DEFAULT_ANSWER_MATCH}).
 *
 * Why 0.95: a wrong "same" verdict loosens an entry (a risk to the error
 * budget), a wrong "different" verdict only tightens it (a cost in hit
 * rate), so the default leans strict: rewordings of one short answer score
 * above it, while two different short answers on one topic ("Vienna." /
 * "Canberra.", "use git rebase" / "use git merge") score below it with the
 * production model. Limits: a sentence embedding summarises a text, so two
 * long free-form answers that differ in one fact (a number, a "not") can
 * still score above any threshold, and an LLM sampling at a high
 * temperature rewords long answers enough to fall below it. For long answers
 * the verdict is coarse; a threshold of 1 keeps only the normalised
 * equality (deterministic LLM settings make that the right choice).
 */

/** The default answer-embedding similarity at or above which two answers match. */
export const DEFAULT_ANSWER_MATCH = 0.95;

/** An answer as compared: NFC, case folded, white space collapsed, trailing sentence punctuation dropped. */
export function normalizeAnswer(text: string): string {
  return text
    .normalize("NFC")
    .toLowerCase()
    .replace(/\s+/gu, " ")
    .trim()
    .replace(/[\s.!?。！？…]+$/u, "");
}

/** The verdict on two answers, with how it was reached. */
export interface AnswerVerdict {
  readonly match: boolean;
  /** 1 when equal after normalisation; else the embeddings' cosine (or 0 when not compared). */
  readonly similarity: number;
}

/**
 * Judges a cached answer against a fresh one. `embed` is only called when
 * the normalised texts differ and `threshold` is below 1.
 */
export async function judgeAnswers(
  cached: string,
  fresh: string,
  threshold: number,
  embed: (text: string) => Promise<Float32Array>,
): Promise<AnswerVerdict> {
  if (normalizeAnswer(cached) === normalizeAnswer(fresh)) return { match: true, similarity: 1 };
  if (threshold >= 1) return { match: false, similarity: 0 };
  const [a, b] = await Promise.all([embed(cached), embed(fresh)]);
  const similarity = cosineSimilarity(a, b);
  return { match: similarity >= threshold, similarity };
}
