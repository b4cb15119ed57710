/** An LLM client and requests for tests, and what a caller sees of its errors and streams (LLM and Ask tests). */
import { ConnectError } from "@connectrpc/connect";
import { toConnectError } from "../../src/server/api/errors.js";
import { createOpenAiLlmClient, type OpenAiLlmClient } from "../../src/llm/openai-client.js";
import type { LlmClientConfig } from "../../src/llm/config.js";
import type { LlmRequest, LlmStreamEvent } from "../../src/llm/types.js";

/** A client for `baseUrl` with test-friendly timing: short backoff, 5 s deadline. */
export function testClient(baseUrl: string, overrides: Partial<LlmClientConfig> = {}): OpenAiLlmClient {
  return createOpenAiLlmClient({
    baseUrl,
    defaultModel: "test-model",
    timeoutMs: 5_000,
    maxRetries: 2,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    ...overrides,
  });
}

/** A one-turn request. */
export function ask(prompt: string, extra: Partial<LlmRequest> = {}): LlmRequest {
  return { model: "test-model", messages: [{ role: "user", content: prompt }], ...extra };
}

/**
 * What a caller on the wire sees of an LLM-layer error: the error mapped by
 * the API edge's one mapping. Anything it would answer as INTERNAL (not a
 * SemcacheError) fails the test instead.
 */
export function asCallerSees(error: unknown): ConnectError {
  return toConnectError(error, (unexpected) => {
    throw new Error(`expected a SemcacheError or ConnectError, got ${String(unexpected)}`, { cause: unexpected });
  });
}

/** The error `promise` rejects with, as a caller sees it; fails when it resolves or rejects with something unexpected. */
export async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return asCallerSees(error);
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Every event of a stream, and the error that ended it, if any. */
export async function drain(stream: AsyncIterable<LlmStreamEvent>): Promise<{ events: LlmStreamEvent[]; error?: ConnectError }> {
  const events: LlmStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events };
  } catch (error) {
    return { events, error: asCallerSees(error) };
  }
}

/** The concatenated text deltas. */
export function textOf(events: readonly LlmStreamEvent[]): string {
  return events.map((event) => (event.type === "delta" ? event.text : "")).join("");
}
