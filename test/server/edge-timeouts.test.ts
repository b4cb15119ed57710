import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, MODEL, startAskServer } from "../support/ask-server.js";
import { clientFor, PROTOCOLS } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import type { TestServer } from "../support/test-server.js";

// The request and idle timeouts are about receiving a request and about connections doing nothing:
// a response that streams for longer than both must still reach its end, on every protocol.
const TIMEOUT_MS = 1_000;
const ANSWER = "one two three four five six seven eight nine ten";
const CHUNK_DELAY_MS = 350;

let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  llm = await startOpenAiServer();
  llm.setBehaviour({ answer: ANSWER, chunkDelayMs: CHUNK_DELAY_MS });
  server = await startAskServer(llm, { SEMCACHE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS), SEMCACHE_IDLE_TIMEOUT_MS: String(TIMEOUT_MS), SEMCACHE_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS) });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

describe("timeouts on receiving requests never cut a streaming response", () => {
  it("streams an AskStream answer for several times SEMCACHE_REQUEST_TIMEOUT_MS / SEMCACHE_IDLE_TIMEOUT_MS, on every protocol", async () => {
    const started = performance.now();
    const results = await Promise.all(
      PROTOCOLS.map((protocol) => collect(clientFor(protocol, server.url).askStream({ prompt: `Count to ten, please (${protocol})`, scope: { namespace: "edge", model: MODEL } }))),
    );
    // The answer took well over the timeouts to arrive.
    expect(performance.now() - started).toBeGreaterThan(2.5 * TIMEOUT_MS);
    for (const result of results) {
      expect(result.error).toBeUndefined();
      expect(result.text).toBe(ANSWER);
    }
  }, 60_000);
});
