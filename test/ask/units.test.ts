import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheModel } from "../../src/ask/ask-plan.js";
import { AsyncQueue } from "../../src/ask/async-queue.js";
import { conversationKey, MAX_MESSAGES, readConversation } from "../../src/ask/conversation.js";
import { InFlightAsks } from "../../src/ask/in-flight.js";
import { chunkText } from "../../src/ask/text-chunks.js";
import { InvalidInputError } from "../../src/cache/errors.js";
import { helpText } from "../../src/cli/help.js";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";
import { llmConfigFromSettings } from "../../src/llm/config.js";

const LIMITS = { maxPromptBytes: 100, maxResponseBytes: 200, maxMetadataEntries: 8, maxMetadataBytes: 1000 };

describe("readConversation", () => {
  it("turns a prompt into one user turn with no conversation", () => {
    expect(readConversation("Hi there", [], LIMITS)).toEqual({ prompt: "Hi there", messages: [{ role: "user", content: "Hi there" }], conversationKey: undefined });
  });

  it("matches only the last user turn and keys the scope by the earlier turns", () => {
    const earlier = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Name a cheese." },
      { role: "assistant", content: "Brie." },
    ];
    const result = readConversation("", [...earlier, { role: "user", content: "And in French?" }], LIMITS);
    expect(result.prompt).toBe("And in French?");
    expect(result.messages).toHaveLength(4);
    expect(result.conversationKey).toBe(conversationKey(earlier as never));
    expect(result.conversationKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keys conversations canonically: formatting does not matter, roles, content and order do", () => {
    const key = (turns: { role: "system" | "user" | "assistant"; content: string }[]) => conversationKey(turns);
    const base = key([{ role: "system", content: "Be brief." }, { role: "user", content: "Name a cheese." }]);
    expect(key([{ role: "system", content: "  Be   brief. " }, { role: "user", content: "Name a \tcheese.\n" }])).toBe(base);
    expect(key([{ role: "user", content: "Be brief." }, { role: "user", content: "Name a cheese." }])).not.toBe(base);
    expect(key([{ role: "user", content: "Name a cheese." }, { role: "system", content: "Be brief." }])).not.toBe(base);
    expect(key([{ role: "system", content: "Be brief!" }, { role: "user", content: "Name a cheese." }])).not.toBe(base);
    // Turn boundaries are part of the key, not just the concatenated text.
    expect(key([{ role: "user", content: "a b" }])).not.toBe(key([{ role: "user", content: "a" }, { role: "user", content: "b" }]));
  });

  it("names the field at fault", () => {
    const fail = (prompt: string, messages: { role: string; content: string }[]): string => {
      try {
        readConversation(prompt, messages, LIMITS);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        return (error as Error).message;
      }
      throw new Error("expected a failure");
    };
    expect(fail("", [])).toMatch(/^prompt: set either prompt or messages$/);
    expect(fail("x", [{ role: "user", content: "x" }])).toMatch(/not both/);
    expect(fail("", [{ role: "tool", content: "x" }])).toMatch(/^messages\[0\]\.role: must be system, user or assistant/);
    expect(fail("", [{ role: "user", content: "x" }, { role: "system", content: "y" }])).toMatch(/^messages\[1\]\.role: the last turn must be the user's/);
    expect(fail("", [{ role: "user", content: "\n" }])).toMatch(/^messages\[0\]\.content: must not be empty/);
    expect(fail("", [{ role: "user", content: "x".repeat(101) }])).toMatch(/^messages\[0\]\.content: is 101 bytes, above the limit of 100/);
    // Assistant turns are earlier answers: limited like responses.
    expect(() => readConversation("", [{ role: "assistant", content: "x".repeat(150) }, { role: "user", content: "ok" }], LIMITS)).not.toThrow();
    expect(fail("", [{ role: "assistant", content: "x".repeat(201) }, { role: "user", content: "ok" }])).toMatch(/^messages\[0\]\.content: is 201 bytes/);
    expect(fail("", Array.from({ length: MAX_MESSAGES + 1 }, () => ({ role: "user", content: "x" })))).toMatch(/^messages: has 1025 turns/);
  });
});

describe("cacheModel", () => {
  it("keys an empty scope.model as the default model, or as empty without one", () => {
    expect(cacheModel("gpt-4o", "llama")).toBe("gpt-4o");
    expect(cacheModel("", "llama")).toBe("llama");
    expect(cacheModel("", undefined)).toBe("");
  });
});

describe("chunkText", () => {
  it("returns nothing for an empty text and one chunk for a short one", () => {
    expect(chunkText("")).toEqual([]);
    expect(chunkText("hello")).toEqual(["hello"]);
  });

  it("never splits a surrogate pair", () => {
    const text = "a😀b😀c😀";
    for (let size = 2; size <= 8; size++) {
      const chunks = chunkText(text, size);
      expect(chunks.join("")).toBe(text);
      for (const chunk of chunks) {
        expect(chunk.length).toBeLessThanOrEqual(size);
        expect(Buffer.from(chunk, "utf8").toString("utf8")).toBe(chunk);
        expect(chunk).not.toMatch(/[\uD800-\uDBFF]$/);
      }
    }
  });
});

describe("AsyncQueue", () => {
  it("delivers items pushed before and while draining, then ends when closed", async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    const seen: number[] = [];
    const draining = (async () => {
      for await (const item of queue.drain()) seen.push(item);
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    queue.push(2);
    queue.push(3);
    queue.close();
    queue.push(4);
    await draining;
    expect(seen).toEqual([1, 2, 3]);
  });

  it("stops when the signal aborts, without leaving listeners behind", async () => {
    const queue = new AsyncQueue<number>();
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      return add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      return remove(...args);
    }) as typeof remove;
    const draining = (async () => {
      const seen: number[] = [];
      for await (const item of queue.drain(controller.signal)) seen.push(item);
      return seen;
    })();
    for (let i = 0; i < 50; i++) {
      queue.push(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort();
    expect(await draining).toHaveLength(50);
    // One listener per wait, each removed when the wait ended.
    expect(added).toBeGreaterThan(0);
    expect(removed).toBe(added);
  });
});

describe("InFlightAsks", () => {
  const unit = (...values: number[]): Float32Array => {
    const norm = Math.hypot(...values);
    return Float32Array.from(values.map((v) => v / norm));
  };

  it("offers a call's embedding to near-duplicates of its scope while it runs", async () => {
    const flights = new InFlightAsks<string>();
    let finish: (value: string) => void = () => undefined;
    const call = flights.run("k1", { scopeKey: "s", normalized: "a", prompt: "A", vector: unit(1, 0, 0), noStore: false }, () => new Promise((resolve) => (finish = resolve)));
    expect(call.leader).toBe(true);

    const close = unit(0.95, 0.3122, 0); // cos ≈ 0.95
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.9, false)).toMatchObject({ key: "k1", prompt: "A" });
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.9, false)?.similarity).toBeCloseTo(0.95, 3);
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.96, false)).toBeUndefined();
    expect(flights.findNear("other-scope", { vector: close, normalized: "b" }, 0.5, false)).toBeUndefined();
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.5, true)).toBeUndefined();
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.5, false, () => false)).toBeUndefined();

    const joined = flights.join("k1");
    expect(joined?.leader).toBe(false);
    finish("answer");
    expect((await call.result).value).toBe("answer");
    expect(await joined?.result).toEqual({ value: "answer", leader: false });
    expect(flights.findNear("s", { vector: close, normalized: "b" }, 0.5, false)).toBeUndefined();
    expect(flights.join("k1")).toBeUndefined();
    expect(flights.size).toBe(0);
  });
});

describe("LLM settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "semcache-ask-config-"));

  it("have defaults and appear in --help", () => {
    const config = loadConfig({ env: {}, argv: [], cwd: dir });
    expect(config).toMatchObject({ llmBaseUrl: undefined, llmApiKey: undefined, llmModel: undefined, llmTimeoutMs: 120_000, llmMaxRetries: 2, failOpen: true });
    const help = helpText();
    for (const name of ["SEMCACHE_LLM_BASE_URL", "SEMCACHE_LLM_API_KEY", "OPENAI_API_KEY", "SEMCACHE_LLM_MODEL", "SEMCACHE_LLM_TIMEOUT_MS", "SEMCACHE_LLM_MAX_RETRIES", "SEMCACHE_FAIL_OPEN"]) {
      expect(help).toContain(name);
    }
    expect(help).toContain("--llm-base-url");
    expect(help).toContain("--fail-open");
  });

  it("come from flags, the environment and .env, with OPENAI_API_KEY as the key's fallback", () => {
    const envDir = mkdtempSync(join(tmpdir(), "semcache-ask-config-"));
    writeFileSync(join(envDir, ".env"), "SEMCACHE_LLM_BASE_URL=http://localhost:11434/v1\nOPENAI_API_KEY=sk-from-dotenv\nSEMCACHE_LLM_MODEL=llama3.1:8b\n");
    const fromDotEnv = loadConfig({ env: {}, argv: [], cwd: envDir });
    expect(llmConfigFromSettings(fromDotEnv)).toEqual({
      baseUrl: "http://localhost:11434/v1",
      apiKey: "sk-from-dotenv",
      defaultModel: "llama3.1:8b",
      timeoutMs: 120_000,
      maxRetries: 2,
    });
    const overridden = loadConfig({
      env: { SEMCACHE_LLM_API_KEY: "sk-semcache", SEMCACHE_FAIL_OPEN: "false" },
      argv: ["--llm-timeout-ms", "3000", "--llm-max-retries=0", "--llm-model", "gpt-4o-mini"],
      cwd: envDir,
    });
    expect(llmConfigFromSettings(overridden)).toMatchObject({ apiKey: "sk-semcache", timeoutMs: 3000, maxRetries: 0, defaultModel: "gpt-4o-mini" });
    expect(overridden.failOpen).toBe(false);
    rmSync(envDir, { recursive: true, force: true });
  });

  it("name every bad value, with the same rules as the LLM layer", () => {
    const attempt = () =>
      loadConfig({ env: { SEMCACHE_LLM_BASE_URL: "localhost:8000", SEMCACHE_LLM_TIMEOUT_MS: "0", SEMCACHE_LLM_MAX_RETRIES: "11", SEMCACHE_FAIL_OPEN: "maybe" }, argv: [], cwd: dir });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/SEMCACHE_LLM_BASE_URL="localhost:8000": must be a URL starting with http:\/\/ or https:\/\//);
    expect(attempt).toThrow(/SEMCACHE_LLM_TIMEOUT_MS="0": must be a whole number from 1 to 3600000/);
    expect(attempt).toThrow(/SEMCACHE_LLM_MAX_RETRIES="11": must be a whole number from 0 to 10/);
    expect(attempt).toThrow(/SEMCACHE_FAIL_OPEN="maybe"/);
  });
});
