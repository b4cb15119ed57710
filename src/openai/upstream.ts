/**
 * The upstream OpenAI-compatible API, for what the cache does not answer:
 * pass-through chat requests (forwarded as sent, answer relayed as received,
 * nothing stored) and the model list. Always with the server's credential
 * (SEMCACHE_LLM_API_KEY / OPENAI_API_KEY), never the caller's: with API keys
 * on, the caller's bearer token is a semcache key.
 */
import { SemcacheError } from "../errors/index.js";
import { classifyUpstreamError, unconfiguredError } from "../llm/errors.js";
import { DEFAULT_OPENAI_BASE_URL, LLM_ENV, type LlmClientConfig } from "../llm/index.js";
import type { JsonObject } from "./field-readers.js";

/** Upstream response headers relayed to the caller: content and retry hints, nothing about the server's account. */
const RELAYED_HEADERS = ["content-type", "retry-after", "retry-after-ms", "x-should-retry", "x-request-id"] as const;

/** An upstream answer to relay: status, the headers worth relaying, and the body as it streams in. */
export interface RelayedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** The upstream, as the server's LLM settings describe it. */
export class Upstream {
  /** The API's base URL (with `/v1`); undefined when no LLM is configured. */
  readonly baseUrl: string | undefined;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  /** The model a request without one gets (SEMCACHE_LLM_MODEL), listed when the upstream lists none. */
  readonly defaultModel: string | undefined;

  constructor(config: LlmClientConfig) {
    this.baseUrl = config.baseUrl || (config.apiKey ? DEFAULT_OPENAI_BASE_URL : undefined);
    this.apiKey = config.apiKey || undefined;
    this.timeoutMs = config.timeoutMs;
    this.defaultModel = config.defaultModel?.trim() || undefined;
  }

  private url(path: string): string {
    if (this.baseUrl === undefined) throw unconfiguredError();
    return `${this.baseUrl.replace(/\/+$/u, "")}${path}`;
  }

  private headers(): Record<string, string> {
    return { accept: "application/json, text/event-stream", ...(this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` }) };
  }

  /**
   * Sends `init` to `path` within the LLM deadline (SEMCACHE_LLM_TIMEOUT_MS,
   * which covers a streamed body too) or until `signal` aborts. Failing to
   * get an answer at all is a SemcacheError (unavailable, deadline_exceeded,
   * canceled); an answer of any status is returned.
   */
  private async send(path: string, init: RequestInit, signal: AbortSignal | undefined, model: string): Promise<Response> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
    try {
      return await fetch(this.url(path), { ...init, headers: { ...this.headers(), ...init.headers }, signal: combined });
    } catch (error) {
      if (error instanceof SemcacheError) throw error;
      if (signal?.aborted === true) throw new SemcacheError("canceled", "the caller went away", { cause: error });
      if (deadline.aborted) throw new SemcacheError("deadline_exceeded", `the LLM upstream did not answer within ${this.timeoutMs} ms (${LLM_ENV.timeoutMs})`, { cause: error });
      throw classifyUpstreamError(error, { model, modelFromRequest: true }).error;
    }
  }

  /**
   * Forwards a chat request as sent. Upstream's own errors are relayed as
   * they are (they are already in OpenAI's shape), except a refusal of the
   * server's credential (401, 402, 403): that is the operator's to fix, not
   * the caller's, and becomes failed_precondition.
   */
  async chat(body: JsonObject, model: string, signal?: AbortSignal): Promise<RelayedResponse> {
    const response = await this.send("/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, signal, model);
    if (response.status === 401 || response.status === 402 || response.status === 403) {
      const text = await response.text().catch(() => "");
      throw new SemcacheError(
        "failed_precondition",
        `LLM upstream refused semcache's credential (HTTP ${response.status}; check ${LLM_ENV.apiKey} / ${LLM_ENV.openAiApiKey}): ${text.slice(0, 300)}`,
      );
    }
    const headers: Record<string, string> = {};
    for (const name of RELAYED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    return { status: response.status, headers, body: response.body };
  }

  /**
   * The upstream's model list (`GET /models`), as it sent it; when there is
   * no upstream, or it has no such endpoint or an empty list, a list of the
   * configured default model (empty when there is none either).
   */
  async models(signal?: AbortSignal): Promise<JsonObject> {
    if (this.baseUrl !== undefined) {
      try {
        const response = await this.send("/models", { method: "GET" }, signal, "");
        if (response.ok) {
          const listed: unknown = await response.json();
          const data = (listed as { data?: unknown } | null)?.data;
          if (Array.isArray(data) && data.length > 0) return listed as JsonObject;
        } else {
          await response.body?.cancel();
        }
      } catch (error) {
        if (signal?.aborted === true) throw error;
        // Not every OpenAI-compatible server lists models; the configured one is still right.
      }
    }
    const data = this.defaultModel === undefined ? [] : [{ id: this.defaultModel, object: "model", created: 0, owned_by: "semcache" }];
    return { object: "list", data };
  }
}
