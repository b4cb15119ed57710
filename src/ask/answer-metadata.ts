/**
 * What Ask stores about an LLM answer besides its text, in the entry's
 * metadata, so that a later hit can report what the answer cost (tokens
 * saved), why it ended and which model wrote it. Plain string metadata keeps
 * entries readable through Lookup and portable across stores.
 */
import { checkMetadata, type InputLimits } from "../cache/limits.js";
import type { StoredEntry } from "../store/cache-store.js";

/** Metadata keys Ask writes. `completion_tokens` is also what a hit counts as tokens saved ({@link tokensSavedOnHit}). */
export const ANSWER_METADATA = {
  completionTokens: "completion_tokens",
  promptTokens: "prompt_tokens",
  finishReason: "finish_reason",
  model: "llm_model",
} as const;

/** An answer's facts, from the LLM or from a stored entry. */
export interface AnswerFacts {
  readonly finishReason: string;
  /** The model that wrote the answer ("" when unknown). */
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/**
 * The metadata to store with an answer. Empty when even these four keys
 * exceed the configured metadata limits: the answer is still worth caching,
 * it just cannot report tokens saved.
 */
export function answerMetadata(facts: AnswerFacts, limits: InputLimits): Record<string, string> {
  const metadata: Record<string, string> = {
    [ANSWER_METADATA.completionTokens]: String(facts.completionTokens),
    [ANSWER_METADATA.promptTokens]: String(facts.promptTokens),
    [ANSWER_METADATA.finishReason]: facts.finishReason,
    [ANSWER_METADATA.model]: facts.model,
  };
  try {
    checkMetadata(metadata, limits);
    return metadata;
  } catch {
    return {};
  }
}

function count(value: string | undefined): number {
  const n = Number(value ?? "");
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * The facts of a stored entry. Entries written by Store may lack any of the
 * keys; they then report 0 tokens, no finish reason and the scope's model.
 */
export function answerFactsOf(entry: StoredEntry): AnswerFacts {
  return {
    finishReason: entry.metadata[ANSWER_METADATA.finishReason] ?? "",
    model: entry.metadata[ANSWER_METADATA.model] || entry.scope.model,
    promptTokens: count(entry.metadata[ANSWER_METADATA.promptTokens]),
    completionTokens: count(entry.metadata[ANSWER_METADATA.completionTokens]),
  };
}

/**
 * The tokens a cache hit on `entry` saved: what producing its answer cost,
 * as Ask recorded it. The composition root gives this to the cache core
 * (SemanticCacheOptions.tokensSavedOnHit), which counts it for every hit,
 * Lookup's included, without knowing Ask's metadata keys.
 */
export function tokensSavedOnHit(entry: StoredEntry): number {
  return answerFactsOf(entry).completionTokens;
}
