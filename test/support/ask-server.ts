/** Asking a semcache server in tests: servers wired to the fake LLM, stream collection, error checks (Ask, faults, observability, server, verify tests). */
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import type { AskStreamResponse, AskStreamStart, AskStreamEnd } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import type { OpenAiTestServer } from "./openai-server.js";
import type { ServerParts } from "../../src/app/start-server.js";
import { startTestServer, type TestServer } from "./test-server.js";

/** The model the fake LLM serves by default in these tests. */
export const MODEL = "test-model";

/**
 * A semcache server whose LLM is `llm`, with a short deadline so failure
 * tests stay fast. `env` overrides anything; `parts` replace production ones.
 */
export function startAskServer(llm: OpenAiTestServer | undefined, env: Record<string, string> = {}, parts?: ServerParts): Promise<TestServer> {
  return startTestServer({
    env: {
      ...(llm === undefined ? {} : { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: MODEL }),
      SEMCACHE_LLM_TIMEOUT_MS: "5000",
      SEMCACHE_LLM_MAX_RETRIES: "2",
      ...env,
    },
    ...(parts === undefined ? {} : { parts }),
  });
}

/** A stream's messages split by kind, and the error that ended it, if any. */
export interface CollectedStream {
  readonly messages: AskStreamResponse[];
  readonly start: AskStreamStart | undefined;
  readonly deltas: string[];
  readonly text: string;
  readonly end: AskStreamEnd | undefined;
  readonly error: ConnectError | undefined;
}

/** Reads a stream to its end (or error). */
export async function collect(stream: AsyncIterable<AskStreamResponse>): Promise<CollectedStream> {
  const messages: AskStreamResponse[] = [];
  let error: ConnectError | undefined;
  try {
    for await (const message of stream) messages.push(message);
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    error = e;
  }
  return split(messages, error);
}

/** Splits messages by kind. */
export function split(messages: AskStreamResponse[], error?: ConnectError): CollectedStream {
  const deltas = messages.flatMap((m) => (m.event.case === "delta" ? [m.event.value] : []));
  return {
    messages,
    start: messages.find((m) => m.event.case === "start")?.event.value as AskStreamStart | undefined,
    deltas,
    text: deltas.join(""),
    end: messages.find((m) => m.event.case === "end")?.event.value as AskStreamEnd | undefined,
    error,
  };
}

/** The ConnectError a call fails with; fails the test when it succeeds. */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome, "the call should have failed").toBeInstanceOf(ConnectError);
  return outcome as ConnectError;
}

/** Asserts a call fails with `code` (compared by name, for readable diffs) and a message matching `message`. */
export async function expectCode(call: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  const error = await failure(call);
  expect(Code[error.code], error.rawMessage).toBe(Code[code]);
  if (message !== undefined) expect(error.rawMessage).toMatch(message);
  return error;
}

/** The name of an error's code, or "none" when there was no error (for readable assertions). */
export function codeOf(error: ConnectError | undefined): string {
  return error === undefined ? "none" : Code[error.code];
}
