/**
 * Runs every curl example of the README's "Drop-in for OpenAI SDKs" section,
 * as written (only the server's address changed), against a test server
 * whose upstream is the OpenAI test server, and checks what each one says it
 * shows.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const run = promisify(execFile);
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The sh blocks between the README's curl-example markers. */
function examples(): string[] {
  const start = README.indexOf("<!-- openai-curl-examples");
  const end = README.indexOf("<!-- /openai-curl-examples -->");
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return [...README.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/gu)].map((match) => match[1] ?? "");
}

let llm: OpenAiTestServer;
let server: TestServer;

beforeAll(async () => {
  llm = await startOpenAiServer({ models: ["gpt-4o-mini"] });
  server = await startTestServer({ env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LOG_LEVEL: "error" } });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});

async function curl(example: string): Promise<string> {
  const { stdout } = await run("bash", ["-c", example.replaceAll("http://localhost:8080", server.url)], { timeout: 20_000 });
  return stdout;
}

describe("the README's curl examples", () => {
  it("run as documented", async () => {
    const [miss, stream, controls, tools, models, ...rest] = examples();
    expect(rest).toEqual([]);

    const first = await curl(miss ?? "");
    expect(first).toMatch(/^HTTP\/1\.1 200/u);
    expect(first).toMatch(/^x-semcache-source: llm\r$/mu);
    expect(first).toContain('"object":"chat.completion"');
    const again = await curl(miss ?? "");
    expect(again).toMatch(/^x-semcache-source: cache\r$/mu);
    expect(again).toContain("ANSWER: What is the capital of France?");

    const streamed = await curl(stream ?? "");
    expect(streamed).toContain('"object":"chat.completion.chunk"');
    // The paraphrase is answered from the cache, replayed as chunks.
    expect(streamed).toContain("ANSWER: What is the capital of France?");
    expect(streamed).toContain('"usage":{"prompt_tokens"');
    expect(streamed.trimEnd().endsWith("data: [DONE]")).toBe(true);

    const controlled = await curl(controls ?? "");
    expect(controlled).toMatch(/^HTTP\/1\.1 200/u);
    expect(controlled).toMatch(/^x-semcache-source: llm\r$/mu);
    expect(controlled).not.toMatch(/^x-semcache-entry-id:/mu);
    expect(llm.requests.at(-1)?.body?.temperature).toBe(0);

    const calls = llm.counts().total;
    const bypassed = await curl(tools ?? "");
    expect(bypassed).toMatch(/^x-semcache-source: bypass\r$/mu);
    expect(bypassed).toMatch(/^x-semcache-bypass-reason: tools/mu);
    expect(llm.counts().total).toBe(calls + 1);

    const listed = JSON.parse(await curl(models ?? "")) as { data: { id: string }[] };
    expect(listed.data.map((model) => model.id)).toEqual(["gpt-4o-mini"]);
  });
});
