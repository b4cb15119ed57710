/**
 * One shape for every way an Ask can be answered (hit, own LLM call, shared
 * call), so Ask and AskStream report the same fields the same way.
 */
import { Source } from "../gen/semcache/v1/semantic_cache_pb.js";
import { answerFactsOf } from "./answer-metadata.js";
import type { AskOutcome, HitStart, OutcomeSource } from "./ask-engine.js";

/** Token counts as reported to the caller. */
export interface UsageView {
  /** Tokens this Ask's own LLM call used; 0 on a hit or a shared call. */
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Completion tokens this Ask did not spend: the stored or shared answer's cost. */
  readonly tokensSaved: number;
}

/** Everything an AskResponse carries. */
export interface AnswerView {
  readonly response: string;
  readonly source: Source;
  readonly similarity: number;
  readonly entryId: string;
  readonly matchedPrompt: string;
  readonly usage: UsageView;
  readonly cacheUnavailable: boolean;
  readonly finishReason: string;
  readonly model: string;
  /** The cached candidate this Ask's LLM answer was judged against (an exploration under an error budget); "" otherwise. */
  readonly exploredEntryId: string;
}

/** A cache hit: the stored answer, with what it cost when it was produced as tokens saved. */
export function hitView(hit: HitStart): AnswerView {
  const facts = answerFactsOf(hit.entry);
  return {
    response: hit.entry.response,
    source: Source.CACHE,
    similarity: hit.similarity,
    entryId: hit.entry.id,
    matchedPrompt: hit.entry.prompt,
    usage: { promptTokens: 0, completionTokens: 0, tokensSaved: facts.completionTokens },
    cacheUnavailable: false,
    finishReason: facts.finishReason,
    model: facts.model,
    exploredEntryId: "",
  };
}

/**
 * An answer from an LLM call. Its usage is charged to the Ask that made the
 * call; an Ask that shared it reports the same tokens as saved instead, so
 * summing usage over all answers gives what upstream really billed.
 */
export function outcomeView(outcome: AskOutcome, source: OutcomeSource, similarity: number, lookupFailed: boolean): AnswerView {
  const own = source === "llm";
  return {
    response: outcome.text,
    source: own ? Source.LLM : Source.COALESCED,
    similarity: own ? 0 : similarity,
    entryId: outcome.entryId,
    matchedPrompt: own ? "" : outcome.prompt,
    usage: own
      ? { promptTokens: outcome.promptTokens, completionTokens: outcome.completionTokens, tokensSaved: 0 }
      : { promptTokens: 0, completionTokens: 0, tokensSaved: outcome.completionTokens },
    cacheUnavailable: lookupFailed || outcome.storeFailed,
    finishReason: outcome.finishReason,
    model: outcome.model,
    exploredEntryId: own ? outcome.exploredEntryId : "",
  };
}
