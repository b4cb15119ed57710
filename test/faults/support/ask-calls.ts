/**
 * Ask and AskStream as one kind of call for load tests: both reduced to the
 * answer's facts, so a test can mix them and assert on one shape.
 */
import type { CacheClient } from "../../support/clients.js";
import type { Source } from "../../../src/gen/semcache/v1/semantic_cache_pb.js";
import { collect } from "../../support/ask-server.js";

/** Which RPC answers. */
export type AskKind = "ask" | "askStream";

/** What either RPC says about its answer. */
export interface AnswerFacts {
  readonly kind: AskKind;
  readonly source: Source;
  readonly response: string;
  readonly entryId: string;
  readonly cacheUnavailable: boolean;
}

/** The scope fields the tests use. */
export interface TestScope {
  readonly namespace: string;
  readonly model?: string;
}

/**
 * Asks `prompt` by `kind`. A stream that ends with an error rejects with it
 * (its start message, sent before the LLM is called, is dropped), so a
 * failure looks the same for both RPCs.
 */
export async function askBy(client: CacheClient, kind: AskKind, prompt: string, scope: TestScope, signal?: AbortSignal): Promise<AnswerFacts> {
  const options = signal === undefined ? {} : { signal };
  if (kind === "ask") {
    const answer = await client.ask({ prompt, scope }, options);
    return { kind, source: answer.source, response: answer.response, entryId: answer.entryId, cacheUnavailable: answer.cacheUnavailable };
  }
  const stream = await collect(client.askStream({ prompt, scope }, options));
  if (stream.error !== undefined) throw stream.error;
  if (stream.start === undefined || stream.end === undefined) throw new Error(`the stream for "${prompt}" has no start or end message`);
  return {
    kind,
    source: stream.start.source,
    response: stream.text,
    entryId: stream.end.entryId,
    cacheUnavailable: stream.start.cacheUnavailable || stream.end.cacheUnavailable,
  };
}
