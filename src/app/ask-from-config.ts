/**
 * The Ask layer as the configuration describes it (SEMCACHE_LLM_*,
 * OPENAI_API_KEY, SEMCACHE_FAIL_OPEN): the composition root's reading of the
 * settings, so ask/ itself never reads them.
 */
import type { AskEngine } from "../ask/ask-engine.js";
import { askEngineOf, type AskLayerOptions } from "../ask/index.js";
import { SETTINGS, type ServerConfig } from "../config/settings.js";
import { createOpenAiLlmClient, limitConcurrency, llmConfigFromSettings, SlotPool } from "../llm/index.js";
import type { FleetSingleFlight } from "../fleet/fleet-single-flight.js";
import type { Logger } from "../observability/logger.js";

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
