/** The unary Ask RPC. */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { AskResponseSchema, UsageSchema, type AskRequest, type AskResponse } from "../gen/semcache/v1/semantic_cache_pb.js";
import { tenantKey } from "../tenancy/tenant.js";
import type { LlmClient } from "../llm/index.js";
import type { CacheProvider } from "../cache/cache-provider.js";
import type { AskEngine } from "./ask-engine.js";
import { hitView, outcomeView, type AnswerView } from "./answer-view.js";

/** An AnswerView on the wire. */
export function toAskResponse(view: AnswerView): AskResponse {
  return create(AskResponseSchema, { ...view, usage: create(UsageSchema, view.usage) });
}

/**
 * Ask: a hit is served from the cache; a miss is answered by one whole
 * (non-streamed) completion shared by every identical Ask in flight, stored
 * before any of them is answered. Errors are SemcacheErrors, mapped at the
 * API edge.
 */
export function askHandler(
  cache: CacheProvider,
  engine: AskEngine,
  llm: LlmClient,
): (request: AskRequest, context: HandlerContext) => Promise<AskResponse> {
  return async (request, context) => {
    const current = cache();
    const plan = engine.plan(current, { ...request, tenant: context.values.get(tenantKey) });
    const start = await engine.start(current, plan, context.signal, (signal) => llm.complete(plan.llm, signal));
    if (start.kind === "hit") return toAskResponse(hitView(start));
    const { outcome, source } = await start.result;
    return toAskResponse(outcomeView(outcome, source, start.similarity, start.lookupFailed));
  };
}
