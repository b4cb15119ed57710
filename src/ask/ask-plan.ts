/**
 * Validates an Ask up front and works out everything the rest of the flow
 * needs: the scope it is cached under, the text that is matched, the LLM
 * request and the single-flight key. All validation happens here, before any
 * cache or LLM work, so an invalid request is always INVALID_ARGUMENT and
 * never reaches fail-open handling or the LLM.
 */
import { InvalidInputError } from "../cache/errors.js";
import type { ScopeInput } from "../cache/scope.js";
import type { MatchPolicy, PreparedPrompt, SemanticCache } from "../cache/semantic-cache.js";
import type { LlmRequest } from "../llm/index.js";
import { CONVERSATION_PARAM, readConversation, type ChatTurn } from "./conversation.js";

/** The fields AskRequest and AskStreamRequest share, as the generated code has them. */
export interface AskInput {
  readonly prompt: string;
  readonly messages: readonly ChatTurn[];
  readonly scope?: { readonly namespace: string; readonly model: string; readonly params: Readonly<Record<string, string>> } | undefined;
  readonly minSimilarity?: number | undefined;
  readonly maxErrorRate?: number | undefined;
  readonly ttlSeconds?: number | undefined;
  readonly noCache: boolean;
  readonly noStore: boolean;
  /** Who asks (tenancy/tenant.ts): the API key's id when keys are on; unset, the namespace. */
  readonly tenant?: string | undefined;
}

/** A validated Ask. */
export interface AskPlan {
  /**
   * The text looked up and stored (the prompt, or the last user turn), in
   * the scope the answer is cached under (model resolved, conversation hash
   * added): validated once, here.
   */
  readonly prepared: PreparedPrompt;
  /** What the LLM is asked on a miss. */
  readonly llm: LlmRequest;
  /** How the lookup decides a semantic match: a threshold, or an error budget (verified answers). */
  readonly match: MatchPolicy;
  /**
   * The similarity a near-duplicate call in flight needs to be joined;
   * undefined under an error budget, where only identical calls are joined
   * (joining a near-duplicate would serve its answer unverified).
   */
  readonly joinThreshold: number | undefined;
  readonly ttlSeconds: number | undefined;
  readonly noCache: boolean;
  readonly noStore: boolean;
  /**
   * Identical Asks share one LLM call under this key. no_store is part of it:
   * a caller that wants the answer stored must not ride on a call that will
   * not store it, and the other way round.
   */
  readonly flightKey: string;
}

/**
 * The model an Ask's answer is cached under: scope.model, or else the
 * server's default model, so that `model: ""` and `model: "<default>"` share
 * entries and changing SEMCACHE_LLM_MODEL starts a fresh partition instead of
 * serving the old model's answers. With no default model either, it stays
 * "" (which also lets Ask serve entries Stored with an empty model).
 */
export function cacheModel(requested: string, defaultModel: string | undefined): string {
  return requested !== "" ? requested : (defaultModel ?? "");
}

/** Validates an Ask against the cache's limits and builds its plan; throws InvalidInputError. */
export function planAsk(input: AskInput, cache: SemanticCache, defaultModel: string | undefined): AskPlan {
  const conversation = readConversation(input.prompt, input.messages, cache.limits);
  const requested = input.scope ?? { namespace: "", model: "", params: {} };
  if (Object.hasOwn(requested.params, CONVERSATION_PARAM)) {
    throw new InvalidInputError("scope.params", `${JSON.stringify(CONVERSATION_PARAM)} is reserved for the hash of the conversation (send messages instead)`);
  }
  const params: Record<string, string> = { ...requested.params };
  if (conversation.conversationKey !== undefined) params[CONVERSATION_PARAM] = conversation.conversationKey;
  const scope: ScopeInput = { namespace: requested.namespace, model: cacheModel(requested.model, defaultModel), params };
  const field = input.messages.length === 0 ? "prompt" : `messages[${input.messages.length - 1}].content`;
  const prepared = cache.prepare({ prompt: conversation.prompt, scope, field, tenant: input.tenant });
  const match = cache.matchPolicy(input.minSimilarity, input.maxErrorRate);
  return {
    prepared,
    // The request's own model, not the resolved one: the LLM layer reports a
    // missing default model differently from a missing requested one.
    llm: { model: requested.model, messages: conversation.messages, params: requested.params, tenant: prepared.tenant },
    match,
    joinThreshold: match.budget === undefined ? match.threshold : undefined,
    ttlSeconds: input.ttlSeconds,
    noCache: input.noCache,
    noStore: input.noStore,
    flightKey: input.noStore ? `${prepared.entryId}/no-store` : prepared.entryId,
  };
}
