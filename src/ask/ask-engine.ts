/**
 * The Ask flow shared by Ask and AskStream, up to the answer: join an
 * identical call in flight, else look the prompt up, else join a
 * near-duplicate call in flight, else lead a new LLM call whose answer is
 * stored before anyone waiting for it is answered (in a fleet, only if no
 * other replica is already making that call: then its stored answer). Ask and AskStream differ
 * only in how the LLM is called (whole or streamed) and how the result is
 * sent, which they supply and do.
 */
import { InvalidInputError } from "../cache/errors.js";
import type { SemanticCache } from "../cache/semantic-cache.js";
import type { FleetSingleFlight } from "../fleet/fleet-single-flight.js";
import type { LlmCompletion } from "../llm/index.js";
import type { Logger } from "../observability/logger.js";
import type { StoredEntry } from "../store/cache-store.js";
import type { PreparedPrompt, UncertainCandidate } from "../cache/semantic-cache.js";
import { answerFactsOf, answerMetadata } from "./answer-metadata.js";
import { planAsk, type AskInput, type AskPlan } from "./ask-plan.js";
import type { FailOpenPolicy } from "./fail-open.js";
import { InFlightAsks, type Participation } from "./in-flight.js";

/** The answer of one shared LLM call, as every participant receives it. */
export interface AskOutcome {
  readonly text: string;
  readonly finishReason: string;
  /** The model that answered. */
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** The entry the answer was stored as; "" when it was not stored. */
  readonly entryId: string;
  /** True when storing the answer failed (fail-open): nothing was cached. */
  readonly storeFailed: boolean;
  /**
   * False when the leader, about to call the LLM, found the answer an
   * identical call had stored since its own lookup missed.
   */
  readonly fromLlm: boolean;
  /** The prompt of the Ask that led the call, as sent. */
  readonly prompt: string;
  /** Under an error budget: the cached candidate this call's answer was judged against (an exploration); "" otherwise. */
  readonly exploredEntryId: string;
}

/** Where a participant's answer came from. */
export type OutcomeSource = "llm" | "coalesced";

/** How a miss is answered: Ask asks for a whole completion, AskStream streams one. */
export type LlmCall = (signal: AbortSignal) => Promise<LlmCompletion>;

/** A cache hit. */
export interface HitStart {
  readonly kind: "hit";
  readonly plan: AskPlan;
  readonly entry: StoredEntry;
  readonly similarity: number;
}

/** A miss: this Ask leads or joins an LLM call. */
export interface FlightStart {
  readonly kind: "flight";
  readonly plan: AskPlan;
  /** True when this Ask's own LlmCall is the one that runs (it may still find a fresh entry instead; see AskOutcome.fromLlm). */
  readonly leader: boolean;
  /** Similarity to the prompt of the call: 1 for an identical one (or its own), the embeddings' similarity for a near-duplicate. */
  readonly similarity: number;
  /** True when this Ask's lookup failed (fail-open). */
  readonly lookupFailed: boolean;
  /**
   * Under an error budget, when this Ask leads: the cached candidate its LLM
   * answer will be judged against (an exploration), known before the call
   * starts so a stream can say so in its headers; "" otherwise.
   */
  readonly exploring: string;
  /** Settles with the shared answer, or the shared call's error (or CANCELED for this caller alone). */
  readonly result: Promise<{ readonly outcome: AskOutcome; readonly source: OutcomeSource }>;
}

/** What `AskEngine.start` resolves to. */
export type AskStart = HitStart | FlightStart;

/** What the engine needs besides the cache. */
export interface AskEngineOptions {
  /** The server's default model (SEMCACHE_LLM_MODEL). */
  readonly defaultModel: string | undefined;
  /** False when no LLM is configured: nothing is counted as an LLM call. */
  readonly llmConfigured: boolean;
  readonly policy: FailOpenPolicy;
  readonly logger: Logger;
  /** With a Redis store: the replicas of a fleet agree on one LLM call per burst (src/fleet). */
  readonly fleet?: Pick<FleetSingleFlight, "run">;
}

/** See the module comment. One per server: it holds the calls in flight. */
export class AskEngine {
  /** The calls in flight. */
  readonly inFlight = new InFlightAsks<AskOutcome>();

  constructor(private readonly options: AskEngineOptions) {}

  /** Validates a request (once: the plan carries the prepared prompt); throws InvalidInputError. */
  plan(cache: SemanticCache, input: AskInput): AskPlan {
    return planAsk(input, cache, this.options.defaultModel);
  }

  /**
   * Finds the answer's source and starts (or joins) the LLM call on a miss.
   * `signal` is the caller's: it ends this caller's wait, and the shared call
   * only when nobody else waits for it.
   */
  async start(cache: SemanticCache, plan: AskPlan, signal: AbortSignal, call: LlmCall): Promise<AskStart> {
    // Before the lookup, not only after: a burst's followers then skip the embedding altogether.
    const identical = this.inFlight.join(plan.flightKey, signal);
    if (identical !== undefined) return this.flight(cache, plan, identical, 1, false, "");

    const { prepared } = plan;
    let vector: Float32Array | undefined;
    let lookupFailed = false;
    let explore: UncertainCandidate | undefined;
    if (!plan.noCache) {
      const lookup = await this.options.policy.attempt(cache, prepared.scope.namespace, "lookup", () => cache.lookupPrepared(prepared, plan.match));
      if (!lookup.ok) lookupFailed = true;
      else if (lookup.value.hit) return { kind: "hit", plan, entry: lookup.value.entry, similarity: lookup.value.similarity };
      else {
        vector = lookup.value.vector;
        explore = lookup.value.uncertain;
      }
    }

    if (vector !== undefined && plan.joinThreshold !== undefined) {
      const near = this.inFlight.findNear(prepared.scope.scopeKey, { vector, normalized: prepared.normalized }, plan.joinThreshold, plan.noStore, (query, inFlight) =>
        cache.passesGuard(query, inFlight),
      );
      const joined = near === undefined ? undefined : this.inFlight.join(near.key, signal);
      if (near !== undefined && joined !== undefined) return this.flight(cache, plan, joined, near.similarity, lookupFailed, "");
    }

    const recheck = !plan.noCache && !lookupFailed;
    const participation = this.inFlight.run(
      plan.flightKey,
      { scopeKey: prepared.scope.scopeKey, normalized: prepared.normalized, prompt: prepared.prompt, vector, noStore: plan.noStore },
      (flightSignal) => this.lead(cache, plan, flightSignal, call, vector, recheck, explore),
      signal,
    );
    return this.flight(cache, plan, participation, 1, lookupFailed, participation.leader ? (explore?.entry.id ?? "") : "");
  }

  private flight(cache: SemanticCache, plan: AskPlan, participation: Participation<AskOutcome>, similarity: number, lookupFailed: boolean, exploring: string): FlightStart {
    const namespace = plan.prepared.scope.namespace;
    const result = participation.result.then(({ value, leader }) => {
      const source: OutcomeSource = leader && value.fromLlm ? "llm" : "coalesced";
      if (source === "coalesced") {
        cache.count(namespace, "coalescedCalls");
        // Tokens this Ask did not spend because another one did.
        if (value.completionTokens > 0) cache.count(namespace, "tokensSaved", value.completionTokens);
      }
      return { outcome: value, source };
    });
    // A stream whose client left stops awaiting this; its rejection must not go unhandled.
    result.catch(() => undefined);
    return { kind: "flight", plan, leader: participation.leader, similarity, lookupFailed, exploring, result };
  }

  /** The shared call: the LLM, then the store, so every participant's answer is already cached. */
  private async lead(
    cache: SemanticCache,
    plan: AskPlan,
    signal: AbortSignal,
    call: LlmCall,
    vector: Float32Array | undefined,
    recheck: boolean,
    explore: UncertainCandidate | undefined,
  ): Promise<AskOutcome> {
    const { fleet } = this.options;
    // Only for answers that get stored (the other replicas wait for the stored one) and may be read from the cache.
    if (fleet !== undefined && !plan.noStore && !plan.noCache) {
      return fleet.run(plan.prepared.entryId, signal, {
        stored: () => this.storedAnswer(cache, plan),
        run: () => this.callAndStore(cache, plan, signal, call, vector, explore),
      });
    }
    if (recheck) {
      const fresh = await this.storedSinceLookup(cache, plan);
      if (fresh !== undefined) return fresh;
    }
    return this.callAndStore(cache, plan, signal, call, vector, explore);
  }

  /** The LLM call, then the store. */
  private async callAndStore(
    cache: SemanticCache,
    plan: AskPlan,
    signal: AbortSignal,
    call: LlmCall,
    vector: Float32Array | undefined,
    explore: UncertainCandidate | undefined,
  ): Promise<AskOutcome> {
    const { prepared } = plan;
    const namespace = prepared.scope.namespace;
    if (this.options.llmConfigured && (plan.llm.model !== "" || this.options.defaultModel !== undefined)) {
      cache.count(namespace, "llmCalls");
    }
    const completion = await call(signal);
    const facts = { finishReason: completion.finishReason, model: completion.model, promptTokens: completion.promptTokens, completionTokens: completion.completionTokens };
    let outcome: AskOutcome = { ...facts, text: completion.text, entryId: "", storeFailed: false, fromLlm: true, prompt: prepared.prompt, exploredEntryId: "" };
    if (explore !== undefined) outcome = { ...outcome, exploredEntryId: explore.entry.id, storeFailed: !(await this.judge(cache, prepared, explore, completion.text)) };
    if (plan.noStore) return outcome;
    try {
      const stored = await this.options.policy.attempt(cache, namespace, "store", () =>
        cache.storePrepared(prepared, {
          response: completion.text,
          ttlSeconds: plan.ttlSeconds,
          metadata: answerMetadata(facts, cache.limits),
          ...(vector === undefined ? {} : { vector }),
        }),
      );
      return stored.ok ? { ...outcome, entryId: stored.value.id } : { ...outcome, storeFailed: true };
    } catch (error) {
      // The request was valid; the answer is not cacheable (empty, or above
      // SEMCACHE_MAX_RESPONSE_BYTES). The caller still gets it.
      if (!(error instanceof InvalidInputError)) throw error;
      this.options.logger.info({ namespace, reason: error.message }, "LLM answer not cached");
      return outcome;
    }
  }

  /**
   * An exploration's verdict: the LLM's fresh answer judged against the
   * cached candidate's, recorded on the candidate (durably, and in what the
   * verifier learned). A cache failure here is handled like a failed store
   * (fail-open: the answer is still served); resolves to false then.
   */
  private async judge(cache: SemanticCache, prepared: PreparedPrompt, explore: UncertainCandidate, fresh: string): Promise<boolean> {
    const namespace = prepared.scope.namespace;
    cache.count(namespace, "explorations");
    const recorded = await this.options.policy.attempt(cache, namespace, "store", async () => {
      const verdict = await cache.judgeAnswers(explore.entry.response, fresh, prepared.tenant);
      return cache.recordObservation(namespace, explore.entry.id, { similarity: explore.similarity, correct: verdict.match, atMs: Date.now() });
    });
    return recorded.ok;
  }

  /**
   * The entry an identical call stored between this Ask's lookup and now, if
   * any. Closes the gap where that call finished (and left the in-flight
   * registry) while this Ask was still looking up: without this, a burst
   * could cost two LLM calls.
   */
  private async storedSinceLookup(cache: SemanticCache, plan: AskPlan): Promise<AskOutcome | undefined> {
    try {
      return await this.storedAnswer(cache, plan);
    } catch {
      // Only an optimisation, and the lookup just worked: a failure here is not worth failing over.
      return undefined;
    }
  }

  /** The answer stored under the plan's exact key, as an outcome not from the LLM; throws what the store throws. */
  private async storedAnswer(cache: SemanticCache, plan: AskPlan): Promise<AskOutcome | undefined> {
    const entry: StoredEntry | undefined = await cache.getFresh(plan.prepared.entryId);
    if (entry === undefined) return undefined;
    return { ...answerFactsOf(entry), text: entry.response, entryId: entry.id, storeFailed: false, fromLlm: false, prompt: entry.prompt, exploredEntryId: "" };
  }
}
