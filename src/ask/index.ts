/**
 * The Ask layer: Ask and AskStream over the cache core and an LLM. The
 * composition root passes `askLayerFromConfig(config, logger)` as the
 * server's `ask` option.
 */
import { SETTINGS, type ServerConfig } from "../config/settings.js";
import { createOpenAiLlmClient, limitConcurrency, llmConfigFromSettings, SlotPool, type LlmClient } from "../llm/index.js";
import type { CacheProvider, SemanticCacheServiceImpl } from "../server/api/semantic-cache-service.js";
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
export type AskLayer = (cache: CacheProvider) => Pick<SemanticCacheServiceImpl, "ask" | "askStream">;

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

/** The Ask layer the configuration describes (SEMCACHE_LLM_*, OPENAI_API_KEY, SEMCACHE_FAIL_OPEN). */
export function askLayerFromConfig(config: ServerConfig, logger: Logger): AskLayer {
  const { options, engine } = askPartsFromConfig(config, logger);
  return createAskLayer(options, engine);
}

/** The options and engine of the configured Ask layer, for other doors to Ask to share (same engine, same LLM slots). */
export function askPartsFromConfig(
  config: ServerConfig,
  logger: Logger,
  fleet?: Pick<FleetSingleFlight, "run">,
): { readonly options: AskLayerOptions; readonly engine: AskEngine; readonly slots: SlotPool } {
  const llm = createOpenAiLlmClient(llmConfigFromSettings(config));
  if (llm.configured) {
    logger.info({ llm: llm.baseUrl, model: llm.defaultModel ?? null, failOpen: config.failOpen }, "Ask answers misses from the LLM");
  } else {
    logger.warn(`no LLM configured (${SETTINGS.llmBaseUrl.env} / ${SETTINGS.llmApiKey.env}): Ask serves cache hits only`);
  }
  // Bounds distinct upstream requests: a burst beyond what the upstream can take queues here, then fails fast.
  const slots = new SlotPool({ maxInFlight: config.llmMaxConcurrency, maxQueued: config.llmMaxQueue, maxQueuedPerTenant: config.llmMaxQueuePerTenant });
  const options: AskLayerOptions = { llm: limitConcurrency(llm, slots), llmConfigured: llm.configured, defaultModel: llm.defaultModel, failOpen: config.failOpen, logger, ...(fleet === undefined ? {} : { fleet }) };
  return { options, engine: askEngineOf(options), slots };
}
