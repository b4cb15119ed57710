/**
 * Configuration of the OpenAI-compatible LLM client, and how the server
 * reads it from the environment.
 */
import { integer, text, url, type Parser } from "../config/parsers.js";
import { StartupError } from "../errors/index.js";

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

/** The environment variables `llmConfigFromEnv` reads. */
export const LLM_ENV = {
  baseUrl: "SEMCACHE_LLM_BASE_URL",
  apiKey: "SEMCACHE_LLM_API_KEY",
  /** Read when SEMCACHE_LLM_API_KEY is unset, as every OpenAI tool does. */
  openAiApiKey: "OPENAI_API_KEY",
  model: "SEMCACHE_LLM_MODEL",
  timeoutMs: "SEMCACHE_LLM_TIMEOUT_MS",
  maxRetries: "SEMCACHE_LLM_MAX_RETRIES",
} as const;

/** Default deadline of one LLM call: long answers from slow local models fit. */
export const DEFAULT_LLM_TIMEOUT_MS = 120_000;
/** Default retries of one LLM call. */
export const DEFAULT_LLM_MAX_RETRIES = 2;
/** Accepted deadlines, in milliseconds: an hour is far beyond any sane answer. */
export const LLM_TIMEOUT_MS_RANGE = { min: 1, max: 3_600_000 } as const;
/** Accepted retry counts: more than ten only prolongs an outage for the caller. */
export const LLM_MAX_RETRIES_RANGE = { min: 0, max: 10 } as const;
/** Base URL schemes the client accepts. */
export const LLM_BASE_URL_PROTOCOLS = ["http:", "https:"] as const;

/** One or more LLM settings are invalid; the message names each variable. */
export class LlmConfigError extends StartupError {
  override readonly name = "LlmConfigError";
}

/**
 * Reads the LLM client's settings from environment variables (see `LLM_ENV`).
 * Empty values count as unset. Throws an LlmConfigError listing every bad
 * variable at once. The server itself goes through its settings table
 * (src/config/settings.ts) and `llmConfigFromSettings`; this is for tools
 * and tests that only have an environment. Both validate with the same
 * parsers and ranges.
 */
export function llmConfigFromEnv(env: NodeJS.ProcessEnv): LlmClientConfig {
  const errors: string[] = [];
  const read = <T>(name: string, parse: Parser<T>): T | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return undefined;
    try {
      return parse(raw);
    } catch (error) {
      errors.push(`${name}=${JSON.stringify(raw)}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const config = llmConfigFromSettings({
    llmBaseUrl: read(LLM_ENV.baseUrl, url(...LLM_BASE_URL_PROTOCOLS)),
    llmApiKey: read(LLM_ENV.apiKey, text),
    openAiApiKey: read(LLM_ENV.openAiApiKey, text),
    llmModel: read(LLM_ENV.model, text),
    llmTimeoutMs: read(LLM_ENV.timeoutMs, integer(LLM_TIMEOUT_MS_RANGE.min, LLM_TIMEOUT_MS_RANGE.max)) ?? DEFAULT_LLM_TIMEOUT_MS,
    llmMaxRetries: read(LLM_ENV.maxRetries, integer(LLM_MAX_RETRIES_RANGE.min, LLM_MAX_RETRIES_RANGE.max)) ?? DEFAULT_LLM_MAX_RETRIES,
  });
  if (errors.length > 0) throw new LlmConfigError(`invalid LLM configuration:\n  ${errors.join("\n  ")}`);
  return config;
}

/** The LLM part of the server's validated configuration (see src/config/settings.ts). */
export interface LlmSettings {
  readonly llmBaseUrl: string | undefined;
  readonly llmApiKey: string | undefined;
  /** OPENAI_API_KEY, used when `llmApiKey` is unset. */
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
