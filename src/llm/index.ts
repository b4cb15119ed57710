/** The LLM layer: an OpenAI-compatible client with retries and error mapping, and single-flight. */
export type { LlmClient, LlmCompletion, LlmDeltaEvent, LlmEndEvent, LlmMessage, LlmRequest, LlmStreamEvent } from "./types.js";
export { LLM_ENV, llmConfigFromSettings, type LlmClientConfig, type LlmSettings } from "./config.js";
export { createOpenAiLlmClient, DEFAULT_OPENAI_BASE_URL, type OpenAiLlmClient } from "./openai-client.js";
export { pickLlmParams, type LlmSamplingParams, type PickedParams } from "./params.js";
export { classifyUpstreamError, type FailureContext, type UpstreamFailure } from "./errors.js";
export { backoffMs, retryAfterMs } from "./retry.js";
export { limitConcurrency, SlotPool, type ConcurrencyLimits, type SlotCounts } from "./concurrency-limit.js";
