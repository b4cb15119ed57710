/**
 * The Ask layer: Ask and AskStream over the cache core and an LLM. The
 * composition root builds it from the configuration (app/ask-from-config.ts)
 * and passes it as the server's `ask` option.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { CacheProvider } from "../cache/cache-provider.js";
import type { SemanticCacheService } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { LlmClient } from "../llm/index.js";
import type { Logger } from "../observability/logger.js";
import type { FleetSingleFlight } from "../fleet/fleet-single-flight.js";
import { AskEngine } from "./ask-engine.js";
import { askHandler } from "./ask-service.js";
import { FailOpenPolicy } from "./fail-open.js";
import { askStreamHandler } from "./stream-service.js";

export { ANSWER_METADATA, tokensSavedOnHit } from "./answer-metadata.js";
export { cacheModel } from "./ask-plan.js";
export { CONVERSATION_PARAM, conversationKey } from "./conversation.js";
export { CACHE_UNAVAILABLE_TRAILER } from "./stream-service.js";

/** What the Ask layer is built from. */
export interface AskLayerOptions {
  readonly llm: LlmClient;
  /** False when no LLM is configured: misses fail with FAILED_PRECONDITION, hits are still served. */
  readonly llmConfigured: boolean;
  /** Model for Asks whose scope.model is empty (and the model they are cached under). */
  readonly defaultModel: string | undefined;
  /** SEMCACHE_FAIL_OPEN. */
  readonly failOpen: boolean;
  readonly logger: Logger;
  /** With a Redis store: one LLM call per burst across the fleet (src/fleet). */
  readonly fleet?: Pick<FleetSingleFlight, "run">;
}

/** The Ask and AskStream handlers, as the server's `ask` option wants them. */
export type AskLayer = (cache: CacheProvider) => Pick<ServiceImpl<typeof SemanticCacheService>, "ask" | "askStream">;

/** The engine of an Ask layer: one per server, shared by every door to Ask (Ask, AskStream, /v1/chat/completions). */
export function askEngineOf(options: AskLayerOptions): AskEngine {
  return new AskEngine({
    defaultModel: options.defaultModel,
    llmConfigured: options.llmConfigured,
    policy: new FailOpenPolicy(options.failOpen, options.logger),
    logger: options.logger,
    ...(options.fleet === undefined ? {} : { fleet: options.fleet }),
  });
}

/** Builds Ask and AskStream over an LLM client; one engine, so both share the calls in flight. */
export function createAskLayer(options: AskLayerOptions, engine: AskEngine = askEngineOf(options)): AskLayer {
  return (cache) => ({
    ask: askHandler(cache, engine, options.llm),
    askStream: askStreamHandler(cache, engine, options.llm),
  });
}
