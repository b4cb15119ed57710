/**
 * LlmClient over any OpenAI-compatible chat-completions API (OpenAI, vLLM,
 * Ollama, llama.cpp server) through the `openai` package.
 *
 * The package's own retries are off: this module retries itself so that the
 * overall deadline, retry-after hints and backoff live in one place, and so
 * that a stream is only retried before its first token.
 */
import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import { CallScope } from "./call-scope.js";
import type { LlmClientConfig } from "./config.js";
import {
  classifyUpstreamError,
  incompleteStreamError,
  malformedResponseError,
  noModelError,
  unconfiguredError,
  type FailureContext,
  type UpstreamFailure,
} from "./errors.js";
import { pickLlmParams } from "./params.js";
import { backoffMs, DEFAULT_RETRY_BASE_DELAY_MS, DEFAULT_RETRY_MAX_DELAY_MS } from "./retry.js";
import type { LlmClient, LlmCompletion, LlmRequest, LlmStreamEvent } from "./types.js";

/** Where calls go when only an API key is configured. */
export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";

/** The OpenAI-compatible LlmClient, with what it was configured with (for logs and Stats). */
export interface OpenAiLlmClient extends LlmClient {
  /** False when neither a base URL nor an API key is set: every call fails with FAILED_PRECONDITION. */
  readonly configured: boolean;
  /** The API calls go to; undefined when unconfigured. */
  readonly baseUrl: string | undefined;
  /** Model used when a request names none. */
  readonly defaultModel: string | undefined;
}

type ChatBody = Omit<ChatCompletionCreateParamsBase, "stream" | "stream_options">;

interface Prepared {
  readonly body: ChatBody;
  readonly context: FailureContext;
}

function checkWhole(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be a whole number >= ${min}, got ${value}`);
}

/**
 * Creates the client. With neither `baseUrl` nor `apiKey` it is
 * "unconfigured" (the server still starts; Ask fails with a message naming
 * the settings). Without `apiKey` no Authorization header is sent, which is
 * what local servers expect.
 */
export function createOpenAiLlmClient(config: LlmClientConfig): OpenAiLlmClient {
  checkWhole("timeoutMs", config.timeoutMs, 1);
  checkWhole("maxRetries", config.maxRetries, 0);
  const defaultModel = config.defaultModel?.trim() || undefined;
  if (!config.baseUrl && !config.apiKey) {
    return {
      configured: false,
      baseUrl: undefined,
      defaultModel,
      complete: () => Promise.reject(unconfiguredError()),
      // biome-ignore lint/correctness/useYield: a stream that fails before its first chunk has nothing to yield
      stream: async function* () {
        throw unconfiguredError();
      },
    };
  }

  const baseUrl = config.baseUrl || DEFAULT_OPENAI_BASE_URL;
  const openai = new OpenAI({
    baseURL: baseUrl,
    // The package insists on a key; the null header below keeps this one off the wire.
    apiKey: config.apiKey || "unused",
    defaultHeaders: config.apiKey ? undefined : { Authorization: null },
    // Explicit nulls: the package would otherwise read OPENAI_ORG_ID / OPENAI_PROJECT_ID.
    organization: null,
    project: null,
    maxRetries: 0,
  });
  const { timeoutMs, maxRetries } = config;
  const baseDelay = config.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
  const maxDelay = config.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;

  function prepare(request: LlmRequest): Prepared {
    const model = request.model !== "" ? request.model : defaultModel;
    if (model === undefined) throw noModelError();
    const body: ChatBody = {
      ...pickLlmParams(request.params).params,
      model,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
    };
    return { body, context: { model, modelFromRequest: request.model !== "" } };
  }

  function attemptOptions(scope: CallScope, attempt: number) {
    return {
      signal: scope.signal,
      maxRetries: 0,
      // Our deadline aborts first; this is only a backstop for the package's own timer.
      timeout: Math.ceil(scope.remainingMs()) + 1_000,
      headers: { "X-Stainless-Retry-Count": String(attempt) },
    };
  }

  /** The wait before the next attempt, or the error to give up with. */
  function nextStep(failure: UpstreamFailure, retriesDone: number, scope: CallScope): number | Error {
    if (!failure.retryable || retriesDone >= maxRetries) return failure.error;
    const wait = failure.retryAfterMs ?? backoffMs(retriesDone, baseDelay, maxDelay);
    // Waiting into the deadline would only trade upstream's clear error for a vaguer timeout.
    if (wait >= scope.remainingMs()) return failure.error;
    return wait;
  }

  function toCompletion(response: ChatCompletion, requested: string): LlmCompletion {
    // A wrong base URL can answer 200 with an HTML page, which the package returns as text.
    if (typeof response !== "object" || response === null) throw malformedResponseError("not a chat completion");
    const choice = response.choices?.[0];
    if (choice === undefined) throw malformedResponseError("no choices");
    return {
      text: choice.message?.content ?? "",
      finishReason: choice.finish_reason ?? "",
      model: response.model || requested,
      promptTokens: response.usage?.prompt_tokens ?? 0,
      completionTokens: response.usage?.completion_tokens ?? 0,
    };
  }

  async function complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmCompletion> {
    const scope = new CallScope(timeoutMs, signal);
    try {
      const { body, context } = prepare(request);
      let last: UpstreamFailure | undefined;
      for (let attempt = 0; ; attempt++) {
        const early = scope.abortError(attempt, last);
        if (early) throw early;
        try {
          const response = await openai.chat.completions.create({ ...body, stream: false }, attemptOptions(scope, attempt));
          return toCompletion(response, body.model);
        } catch (error) {
          // An aborted attempt fails with a generic abort error; say which abort it was.
          const cut = scope.abortError(attempt + 1, last);
          if (cut) throw cut;
          last = classifyUpstreamError(error, context);
          const step = nextStep(last, attempt, scope);
          if (typeof step !== "number") throw step;
          await scope.sleep(step);
        }
      }
    } finally {
      scope.close();
    }
  }

  async function* stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmStreamEvent, void, undefined> {
    // Closing the scope in `finally` also runs when the consumer leaves its loop
    // early, which aborts the HTTP request so upstream stops generating.
    const scope = new CallScope(timeoutMs, signal);
    try {
      const { body, context } = prepare(request);
      let last: UpstreamFailure | undefined;
      for (let attempt = 0; ; attempt++) {
        const early = scope.abortError(attempt, last);
        if (early) throw early;
        let started = false;
        try {
          const chunks = await openai.chat.completions.create(
            { ...body, stream: true, stream_options: { include_usage: true } },
            attemptOptions(scope, attempt),
          );
          let finishReason = "";
          let model = body.model;
          let promptTokens = 0;
          let completionTokens = 0;
          for await (const chunk of chunks) {
            if (chunk.model) model = chunk.model;
            // With include_usage the totals come in a last chunk with no choices;
            // servers that ignore the option simply never set them.
            if (chunk.usage) {
              promptTokens = chunk.usage.prompt_tokens ?? 0;
              completionTokens = chunk.usage.completion_tokens ?? 0;
            }
            const choice = chunk.choices?.[0];
            if (choice?.finish_reason) finishReason = choice.finish_reason;
            const text = choice?.delta?.content;
            if (text) {
              started = true;
              yield { type: "delta", text };
            }
          }
          // The package ends the loop quietly, not with an error, when the request is aborted.
          const cut = scope.abortError(attempt + 1, last);
          if (cut) throw cut;
          // No finish reason means the connection was cut: never let a truncated answer look complete.
          if (finishReason === "") throw incompleteStreamError();
          yield { type: "end", finishReason, model, promptTokens, completionTokens };
          return;
        } catch (error) {
          const cut = scope.abortError(attempt + 1, last);
          if (cut) throw cut;
          last = classifyUpstreamError(error, context);
          // Tokens already reached the consumer: a retry would repeat or contradict them.
          if (started) throw last.error;
          const step = nextStep(last, attempt, scope);
          if (typeof step !== "number") throw step;
          await scope.sleep(step);
        }
      }
    } finally {
      scope.close();
    }
  }

  return { configured: true, baseUrl, defaultModel, complete, stream };
}
