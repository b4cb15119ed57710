/**
 * The AskStream RPC: a start message, the answer's text as deltas, an end
 * message.
 *
 * On a miss the leader's deltas are forwarded as upstream produces them;
 * the answer is stored only once the stream completed (with its finish
 * reason), before the end message, so a failed or canceled stream never
 * leaves a truncated answer in the cache. Cached answers, and answers of a
 * call this stream only waited for, are replayed in one or a few deltas.
 *
 * AskStream takes part in single-flight like Ask: it can wait for an
 * identical (or near-duplicate) Ask or AskStream in flight, and Asks can
 * wait for the call it leads. When the leading stream's client goes away
 * the upstream call is aborted only if nobody else waits for it.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  AskStreamEndSchema,
  AskStreamResponseSchema,
  AskStreamStartSchema,
  Source,
  UsageSchema,
  type AskStreamRequest,
  type AskStreamResponse,
} from "../gen/semcache/v1/semantic_cache_pb.js";
import { SemcacheError } from "../errors/index.js";
import { tenantKey } from "../tenancy/tenant.js";
import type { LlmClient, LlmCompletion, LlmEndEvent } from "../llm/index.js";
import type { CacheProvider } from "../cache/cache-provider.js";
import type { AskEngine } from "./ask-engine.js";
import { hitView, outcomeView, type AnswerView } from "./answer-view.js";
import { AsyncQueue } from "./async-queue.js";
import { chunkText } from "./text-chunks.js";

/**
 * Response trailer set to "true" when the cache could not be used. The end
 * message has no cache_unavailable field, and a store failure after the
 * stream is only known then; the start message's flag covers the lookup.
 */
export const CACHE_UNAVAILABLE_TRAILER = "semcache-cache-unavailable";

type Event = { readonly type: "started" } | { readonly type: "delta"; readonly text: string };

function startMessage(view: Pick<AnswerView, "source" | "similarity" | "matchedPrompt" | "cacheUnavailable" | "model">): AskStreamResponse {
  return create(AskStreamResponseSchema, {
    event: {
      case: "start",
      value: create(AskStreamStartSchema, {
        source: view.source,
        similarity: view.similarity,
        matchedPrompt: view.matchedPrompt,
        cacheUnavailable: view.cacheUnavailable,
        model: view.model,
      }),
    },
  });
}

function deltaMessage(text: string): AskStreamResponse {
  return create(AskStreamResponseSchema, { event: { case: "delta", value: text } });
}

function endMessage(view: AnswerView): AskStreamResponse {
  return create(AskStreamResponseSchema, {
    event: {
      case: "end",
      value: create(AskStreamEndSchema, {
        finishReason: view.finishReason,
        usage: create(UsageSchema, view.usage),
        entryId: view.entryId,
        cacheUnavailable: view.cacheUnavailable,
        exploredEntryId: view.exploredEntryId,
      }),
    },
  });
}

/** A whole answer as a stream: start, the text in a few deltas, end. */
function* replay(view: AnswerView): Generator<AskStreamResponse> {
  yield startMessage(view);
  for (const chunk of chunkText(view.response)) yield deltaMessage(chunk);
  yield endMessage(view);
}

/**
 * Streams one completion from the LLM, forwarding each delta to `events`
 * (preceded by "started", so the handler can send its start message before
 * the first token), and returns the assembled completion.
 */
async function streamCompletion(llm: LlmClient, request: Parameters<LlmClient["stream"]>[0], signal: AbortSignal, events: AsyncQueue<Event>): Promise<LlmCompletion> {
  events.push({ type: "started" });
  let text = "";
  let end: LlmEndEvent | undefined;
  try {
    for await (const event of llm.stream(request, signal)) {
      if (event.type === "delta") {
        text += event.text;
        events.push({ type: "delta", text: event.text });
      } else {
        end = event;
      }
    }
  } finally {
    events.close();
  }
  // The client guarantees an end event for a stream that did not throw; never store without one.
  if (end === undefined) throw new SemcacheError("unavailable", "the LLM stream ended without its final event");
  return { text, finishReason: end.finishReason, model: end.model, promptTokens: end.promptTokens, completionTokens: end.completionTokens };
}

/** Builds the AskStream handler; see the module comment. Errors are SemcacheErrors, mapped at the API edge. */
export function askStreamHandler(
  cache: CacheProvider,
  engine: AskEngine,
  llm: LlmClient,
): (request: AskStreamRequest, context: HandlerContext) => AsyncGenerator<AskStreamResponse> {
  return async function* askStream(request, context) {
    const current = cache();
    const plan = engine.plan(current, { ...request, tenant: context.values.get(tenantKey) });
    const events = new AsyncQueue<Event>();
    const start = await engine.start(current, plan, context.signal, (signal) => streamCompletion(llm, plan.llm, signal, events));
    if (start.kind === "hit") {
      yield* replay(hitView(start));
      return;
    }
    // The queue only ever closes itself when this stream's own call ran; any other ending must release the loop below.
    void start.result.finally(() => events.close()).catch(() => undefined);

    let started = false;
    if (start.leader) {
      for await (const event of events.drain(context.signal)) {
        if (event.type === "started") {
          started = true;
          yield startMessage({ source: Source.LLM, similarity: 0, matchedPrompt: "", cacheUnavailable: start.lookupFailed, model: plan.prepared.scope.model });
        } else {
          yield deltaMessage(event.text);
        }
      }
    }
    // Rejects with CANCELED when this client left, or with the call's error.
    const { outcome, source } = await start.result;
    const view = outcomeView(outcome, source, start.similarity, start.lookupFailed);
    if (view.cacheUnavailable) context.responseTrailer.set(CACHE_UNAVAILABLE_TRAILER, "true");
    if (started) {
      yield endMessage(view);
    } else {
      // A shared call, or a leader that found an identical call's answer already stored.
      yield* replay(view);
    }
  };
}
