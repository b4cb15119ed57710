/**
 * The OpenAI endpoint's use of the Ask engine: the same engine instance as
 * the gRPC Ask, so lookups, single-flight (with Asks and AskStreams in
 * flight), fail-open and storing behave exactly alike. This is the only
 * module of the endpoint that talks to the engine.
 */
import type { AskEngine, AskOutcome, HitStart, OutcomeSource } from "../ask/ask-engine.js";
import { answerFactsOf } from "../ask/answer-metadata.js";
import type { AskInput } from "../ask/ask-plan.js";
import { AsyncQueue } from "../ask/async-queue.js";
import type { SemanticCache } from "../cache/semantic-cache.js";
import { SemcacheError } from "../errors/index.js";
import type { LlmClient, LlmCompletion, LlmEndEvent, LlmRequest } from "../llm/index.js";
import type { ChatAnswer } from "./completion-body.js";
import type { AnswerFacts } from "./semcache-headers.js";

/** An answer with its facts. */
export interface AskReply {
  readonly answer: ChatAnswer;
  readonly facts: AnswerFacts;
}

/** What the bridge needs: the shared engine, the current cache, and the (concurrency-limited) LLM client. */
export interface AskBridgeOptions {
  readonly engine: AskEngine;
  readonly cache: () => SemanticCache;
  readonly llm: LlmClient;
}

/** Receives a streamed LLM answer this request leads, as it comes. */
export interface StreamListener {
  /** The LLM call started: send the headers and the opening chunk. */
  started(facts: AnswerFacts): void;
  /** The next piece of text. */
  delta(text: string): void;
}

function hitReply(hit: HitStart): AskReply {
  const stored = answerFactsOf(hit.entry);
  return {
    answer: { ...stored, text: hit.entry.response },
    facts: { source: "cache", similarity: hit.similarity, entryId: hit.entry.id, tokensSaved: stored.completionTokens, cacheUnavailable: false, exploredEntryId: "" },
  };
}

function outcomeReply(outcome: AskOutcome, source: OutcomeSource, similarity: number, lookupFailed: boolean): AskReply {
  const own = source === "llm";
  return {
    // usage is what the answer cost upstream, whoever paid for it.
    answer: outcome,
    facts: {
      source,
      similarity: own ? undefined : similarity,
      entryId: outcome.entryId,
      tokensSaved: own ? 0 : outcome.completionTokens,
      cacheUnavailable: lookupFailed || outcome.storeFailed,
      exploredEntryId: own ? outcome.exploredEntryId : "",
    },
  };
}

/** Streams one completion, forwarding its deltas, and assembles it; never returns a truncated answer. */
async function streamCompletion(llm: LlmClient, request: LlmRequest, signal: AbortSignal, events: AsyncQueue<string | null>): Promise<LlmCompletion> {
  // null: the call started (so headers go out before the first token).
  events.push(null);
  let text = "";
  let end: LlmEndEvent | undefined;
  try {
    for await (const event of llm.stream(request, signal)) {
      if (event.type === "delta") {
        text += event.text;
        events.push(event.text);
      } else {
        end = event;
      }
    }
  } finally {
    events.close();
  }
  if (end === undefined) throw new SemcacheError("unavailable", "the LLM stream ended without its final event");
  return { text, finishReason: end.finishReason, model: end.model, promptTokens: end.promptTokens, completionTokens: end.completionTokens };
}

/** Ask for a whole answer: from the cache, a call in flight, or a new (non-streamed) LLM call. */
export async function askWhole(options: AskBridgeOptions, input: AskInput, signal: AbortSignal): Promise<AskReply> {
  const cache = options.cache();
  const plan = options.engine.plan(cache, input);
  const start = await options.engine.start(cache, plan, signal, (callSignal) => options.llm.complete(plan.llm, callSignal));
  if (start.kind === "hit") return hitReply(start);
  const { outcome, source } = await start.result;
  return outcomeReply(outcome, source, start.similarity, start.lookupFailed);
}

/**
 * Ask for a streamed answer. When this request leads a new LLM call,
 * `listener` hears of it as it streams, and the reply's answer is the whole
 * text (already sent); otherwise the listener is never called and the reply
 * is to be replayed. Answers are stored only once complete, as with AskStream.
 */
export async function askStreaming(options: AskBridgeOptions, input: AskInput, signal: AbortSignal, listener: StreamListener): Promise<{ reply: AskReply; streamed: boolean }> {
  const cache = options.cache();
  const plan = options.engine.plan(cache, input);
  const events = new AsyncQueue<string | null>();
  const start = await options.engine.start(cache, plan, signal, (callSignal) => streamCompletion(options.llm, plan.llm, callSignal, events));
  if (start.kind === "hit") return { reply: hitReply(start), streamed: false };
  // The queue closes itself only when this request's own call ran; any other ending must release the loop.
  void start.result.finally(() => events.close()).catch(() => undefined);
  let streamed = false;
  if (start.leader) {
    for await (const event of events.drain(signal)) {
      if (event === null) {
        streamed = true;
        listener.started({ source: "llm", similarity: undefined, entryId: "", tokensSaved: 0, cacheUnavailable: start.lookupFailed, exploredEntryId: start.exploring });
      } else {
        listener.delta(event);
      }
    }
  }
  const { outcome, source } = await start.result;
  return { reply: outcomeReply(outcome, source, start.similarity, start.lookupFailed), streamed };
}
