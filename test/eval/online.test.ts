import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizePrompt } from "../../src/cache/normalize.js";
import { parseDataset } from "../../src/eval/dataset.js";
import { startIntentLlm, type IntentLlm } from "../../src/eval/intent-llm.js";
import {
  answerFor,
  buildStream,
  checkGoal,
  evaluateOnline,
  intentByPrompt,
  onlineSummary,
  plotOnline,
  rowOf,
  writeOnlineReport,
  type OnlineConfig,
} from "../../src/eval/online.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { TINY_INTENTS } from "./support/tiny.js";

const dataset = parseDataset(TINY_INTENTS);

describe("online evaluation, pure parts", () => {
  it("a stream is every line twice, each pass a permutation, the same for the same seed", () => {
    const a = buildStream(dataset, 7);
    expect(a).toHaveLength(dataset.lines.length * 2);
    const sorted = (lines: readonly { line: number }[]): number[] => lines.map((l) => l.line).sort((x, y) => x - y);
    expect(sorted(a.slice(0, dataset.lines.length))).toEqual(sorted(dataset.lines));
    expect(sorted(a.slice(dataset.lines.length))).toEqual(sorted(dataset.lines));
    expect(buildStream(dataset, 7)).toEqual(a);
    expect(buildStream(dataset, 8)).not.toEqual(a);
  });

  it("answers are per intent: paraphrases share one, each near-miss has its own, unrelated in wording", () => {
    expect(answerFor("capital-france")).toBe(answerFor("capital-france"));
    expect(answerFor("capital-france")).not.toBe(answerFor("capital-france~near1"));
    const intents = intentByPrompt(dataset);
    expect(intents.get(normalizePrompt("Tell me the capital city of France."))).toBe("capital-france");
    expect(intents.get(normalizePrompt("What is the capital of Germany?"))).toBe("capital-france~near1");
  });

  it("rows sum their seeds; the goal compares budgets with the best static threshold within 0.02", () => {
    const run = (seed: number, cached: number, wrong: number) => ({ seed, requests: 100, cached, wrong, llmCalls: 100 - cached, explorations: 0 });
    const rows = [
      rowOf({ kind: "budget", maxErrorRate: 0.02 }, [run(1, 56, 1), run(2, 54, 3)]),
      rowOf({ kind: "static", threshold: 0.95 }, [run(1, 60, 5), run(2, 60, 5)]),
      rowOf({ kind: "static", threshold: 0.97 }, [run(1, 53, 1), run(2, 53, 1)]),
      rowOf({ kind: "static", threshold: 1 }, [run(1, 50, 0), run(2, 50, 0)]),
    ];
    expect(rows[0]).toMatchObject({ requests: 200, cached: 110, wrong: 4, errorRate: 0.02, hitRate: 0.55, correctHitRate: 0.53, worstSeedErrorRate: 0.03 });
    const goal = checkGoal(rows);
    expect(goal.budgets).toEqual([{ budget: 0.02, errorRate: 0.02, worstSeedErrorRate: 0.03, withinBudget: true, worstSeedWithinBudget: false }]);
    expect(goal.bestStaticWithin002).toEqual({ threshold: 0.97, hitRate: 0.53, errorRate: 0.01 });
    expect(goal.budget002).toEqual({ hitRate: 0.55, beatsBestStatic: true });
  });
});

describe("the per-intent LLM", () => {
  let llm: IntentLlm;
  beforeAll(async () => {
    llm = await startIntentLlm((messages) => `answer to ${messages.at(-1)?.content ?? ""}`);
  });
  afterAll(() => llm.close());

  it("speaks the chat-completions API to the openai client, plain and streamed", async () => {
    const client = new OpenAI({ baseURL: llm.url, apiKey: "unused" });
    const plain = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(plain.choices[0]?.message.content).toBe("answer to hi");
    expect(plain.usage?.completion_tokens).toBe(3);
    const stream = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "yo" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("answer to yo");
    expect(llm.calls()).toBe(2);
  });
});

describe("online evaluation through a real server", () => {
  let llm: IntentLlm;
  let server: TestServer;
  const out = mkdtempSync(join(tmpdir(), "semcache-online-test-"));
  beforeAll(async () => {
    const intents = intentByPrompt(dataset);
    llm = await startIntentLlm((messages) => answerFor(intents.get(normalizePrompt(messages.at(-1)?.content ?? "")) ?? "?"));
    server = await startTestServer({ env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_MODEL: "intent-llm" } });
  });
  afterAll(async () => {
    await server?.stop();
    await llm?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it("replays the stream through Ask and counts exactly what was served", async () => {
    const configs: OnlineConfig[] = [
      { kind: "static", threshold: 1 },
      { kind: "static", threshold: 0.5 },
    ];
    const report = await evaluateOnline({
      dataset,
      dataPath: "tiny.jsonl",
      dataSha256: "x",
      url: server.url,
      configs,
      seeds: [1, 2],
      name: "tiny-online",
      model: "fixture-model",
      guard: "on",
    });
    const [exact, loose] = report.rows;
    const requests = dataset.lines.length * 2 * 2;
    // Threshold 1: the first pass asks the LLM for every prompt; the second is all exact repeats, never wrong.
    expect(exact).toMatchObject({ requests, cached: requests / 2, wrong: 0, llmCalls: requests / 2, explorations: 0 });
    // A loose threshold serves more, and some of it is another intent's answer.
    expect(loose!.cached).toBeGreaterThan(exact!.cached);
    expect(loose!.wrong).toBeGreaterThan(0);
    expect(loose!.cached + loose!.llmCalls).toBe(requests);
    // The server's LLM calls are exactly the Ask answers that came from it.
    expect(llm.calls()).toBe(exact!.llmCalls + loose!.llmCalls);

    const files = writeOnlineReport(report, out);
    expect(JSON.parse(readFileSync(files.json, "utf8")).rows).toHaveLength(2);
    expect(readFileSync(files.svg, "utf8")).toContain("realised error");
    expect(plotOnline(report)).toContain("threshold 1.00");
    expect(onlineSummary(report)).toContain("| threshold 0.50 |");
  });
});
