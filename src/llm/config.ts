/**
 * Configuration of the OpenAI-compatible LLM client. The server reads it
 * from its one settings table (src/config/settings.ts: the SEMCACHE_LLM_*
 * variables and OPENAI_API_KEY, validated there) through
 * `llmConfigFromSettings`.
 */

/**
 * The environment variables of the LLM client's settings. They are named
 * here, not read from the settings table, because the client's errors tell
 * the operator which one to change and the LLM layer sits below the table;
 * the table (config/settings.ts) takes its names from here.
 */
export const LLM_ENV = {
  baseUrl: "SEMCACHE_LLM_BASE_URL",
  apiKey: "SEMCACHE_LLM_API_KEY",
  openAiApiKey: "OPENAI_API_KEY",
  model: "SEMCACHE_LLM_MODEL",
  timeoutMs: "SEMCACHE_LLM_TIMEOUT_MS",
  maxRetries: "SEMCACHE_LLM_MAX_RETRIES",
} as const;

/** Settings of `createOpenAiLlmClient`. */
export interface LlmClientConfig {
  /**
   * Base URL of an OpenAI-compatible API, including the version path, e.g.
   * `http://localhost:11434/v1`. Unset: OpenAI's, when an API key is set.
   */
  readonly baseUrl?: string;
  /** Bearer token; unset: no Authorization header (local servers need none). */
  readonly apiKey?: string;
  /** Model used when a request names none. */
  readonly defaultModel?: string;
  /**
   * Deadline of one call in milliseconds, covering every retry and, for a
   * stream, the whole stream.
   */
  readonly timeoutMs: number;
  /** Retries after the first attempt, for 429, 5xx and connection errors. */
  readonly maxRetries: number;
  /** First retry's backoff before jitter; doubles per retry. Default 250. */
  readonly retryBaseDelayMs?: number;
  /** Longest backoff before jitter. Default 8000. */
  readonly retryMaxDelayMs?: number;
}

/** The LLM part of the server's validated configuration (see src/config/settings.ts; its ServerConfig is one). */
export interface LlmSettings {
  readonly llmBaseUrl: string | undefined;
  readonly llmApiKey: string | undefined;
  readonly openAiApiKey: string | undefined;
  readonly llmModel: string | undefined;
  readonly llmTimeoutMs: number;
  readonly llmMaxRetries: number;
}

/**
 * The client configuration for already-validated settings. Only the key
 * fallback happens here: SEMCACHE_LLM_API_KEY wins over OPENAI_API_KEY, so a
 * machine-wide OpenAI key never overrides the one meant for semcache.
 */
export function llmConfigFromSettings(settings: LlmSettings): LlmClientConfig {
  return {
    baseUrl: settings.llmBaseUrl,
    apiKey: settings.llmApiKey ?? settings.openAiApiKey,
    defaultModel: settings.llmModel,
    timeoutMs: settings.llmTimeoutMs,
    maxRetries: settings.llmMaxRetries,
  };
}
