/**
 * The LLM layer's contract. Ask talks to an LlmClient only, so tests and
 * alternative backends can stand in for the OpenAI-compatible one.
 */

/** One turn of a conversation, as in the OpenAI chat API. */
export interface LlmMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** One chat-completion call. */
export interface LlmRequest {
  /** Model to ask; empty means the client's default model. */
  readonly model: string;
  readonly messages: readonly LlmMessage[];
  /**
   * The scope's params. Only well-known sampling params (temperature, top_p,
   * max_tokens, seed, ...) with valid values are forwarded; see `pickLlmParams`.
   */
  readonly params?: Readonly<Record<string, string>>;
  /**
   * Who asks (tenancy/tenant.ts): the LLM slots are shared fairly between
   * tenants (llm/concurrency-limit.ts). Never sent upstream. Unset: NO_TENANT.
   */
  readonly tenant?: string;
}

/** A finished answer. */
export interface LlmCompletion {
  readonly text: string;
  /** Upstream's finish reason ("stop", "length", ...); empty when it sent none. */
  readonly finishReason: string;
  /** The model upstream says answered (falls back to the requested one). */
  readonly model: string;
  /** Prompt tokens upstream reported; 0 when it reported no usage. */
  readonly promptTokens: number;
  /** Completion tokens upstream reported; 0 when it reported no usage. */
  readonly completionTokens: number;
}

/** The next piece of a streamed answer's text (never empty). */
export interface LlmDeltaEvent {
  readonly type: "delta";
  readonly text: string;
}

/** The last event of a stream that completed; carries everything but the text. */
export interface LlmEndEvent extends Omit<LlmCompletion, "text"> {
  readonly type: "end";
}

/** What `LlmClient.stream` yields: deltas, then exactly one end event. */
export type LlmStreamEvent = LlmDeltaEvent | LlmEndEvent;

/**
 * Calls an LLM. Every failure is a SemcacheError whose code is meant to be
 * returned to semcache's own caller as is (see errors.ts for the mapping), or
 * the caller's own abort reason when that already has a status (connect's
 * deadline or shutdown ConnectError, passed through by the API edge).
 */
export interface LlmClient {
  /** Asks for a whole answer. Aborting `signal` cancels the upstream request. */
  complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmCompletion>;
  /**
   * Asks for a streamed answer. Text deltas come first, then one end event.
   * Aborting `signal`, or leaving the loop early, closes the upstream request.
   */
  stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmStreamEvent>;
}
