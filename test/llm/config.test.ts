import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";
import { llmConfigFromSettings } from "../../src/llm/config.js";
import { pickLlmParams } from "../../src/llm/params.js";
import { backoffMs, retryAfterMs } from "../../src/llm/retry.js";

// No .env here: only the environment each case passes.
const cwd = mkdtempSync(join(tmpdir(), "semcache-llm-config-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The LLM client's configuration for an environment, read the one way the server reads it. */
const llmConfigFromEnv = (env: Record<string, string>) => llmConfigFromSettings(loadConfig({ env, argv: [], cwd }));

describe("the LLM client's configuration from the settings table", () => {
  it("defaults: unconfigured, with the default timeout and retries", () => {
    expect(llmConfigFromEnv({})).toEqual({
      baseUrl: undefined,
      apiKey: undefined,
      defaultModel: undefined,
      timeoutMs: 120_000,
      maxRetries: 2,
    });
  });

  it("reads every variable", () => {
    const config = llmConfigFromEnv({
      SEMCACHE_LLM_BASE_URL: "http://localhost:11434/v1",
      SEMCACHE_LLM_API_KEY: "sk-semcache",
      OPENAI_API_KEY: "sk-openai",
      SEMCACHE_LLM_MODEL: "llama3.1:8b",
      SEMCACHE_LLM_TIMEOUT_MS: "30000",
      SEMCACHE_LLM_MAX_RETRIES: "0",
    });
    expect(config).toEqual({
      baseUrl: "http://localhost:11434/v1",
      apiKey: "sk-semcache",
      defaultModel: "llama3.1:8b",
      timeoutMs: 30_000,
      maxRetries: 0,
    });
  });

  it("falls back to OPENAI_API_KEY, and treats empty values as unset", () => {
    const config = llmConfigFromEnv({ SEMCACHE_LLM_API_KEY: "", OPENAI_API_KEY: "sk-openai", SEMCACHE_LLM_TIMEOUT_MS: "" });
    expect(config.apiKey).toBe("sk-openai");
    expect(config.timeoutMs).toBe(120_000);
  });

  it("names every bad variable at once", () => {
    const read = () => llmConfigFromEnv({ SEMCACHE_LLM_BASE_URL: "localhost:8000", SEMCACHE_LLM_TIMEOUT_MS: "soon", SEMCACHE_LLM_MAX_RETRIES: "-1" });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/SEMCACHE_LLM_BASE_URL="localhost:8000": must be a URL starting with http:\/\/ or https:\/\//);
    expect(read).toThrow(/SEMCACHE_LLM_TIMEOUT_MS="soon": must be a whole number from 1 to 3600000/);
    expect(read).toThrow(/SEMCACHE_LLM_MAX_RETRIES="-1": must be a whole number from 0 to 10/);
  });

  it("rejects a zero timeout and too many retries", () => {
    expect(() => llmConfigFromEnv({ SEMCACHE_LLM_TIMEOUT_MS: "0" })).toThrow(/SEMCACHE_LLM_TIMEOUT_MS/);
    expect(() => llmConfigFromEnv({ SEMCACHE_LLM_MAX_RETRIES: "11" })).toThrow(/SEMCACHE_LLM_MAX_RETRIES/);
  });
});

describe("pickLlmParams", () => {
  it("keeps known numeric params with valid values and lists the rest", () => {
    expect(
      pickLlmParams({
        temperature: "1.5",
        top_p: "1",
        max_tokens: "100",
        max_completion_tokens: "50",
        seed: "-3",
        presence_penalty: "-2",
        frequency_penalty: "0.5",
        style: "terse",
        max_tokens_extra: "1",
      }),
    ).toEqual({
      params: {
        temperature: 1.5,
        top_p: 1,
        max_tokens: 100,
        max_completion_tokens: 50,
        seed: -3,
        presence_penalty: -2,
        frequency_penalty: 0.5,
      },
      ignored: ["style", "max_tokens_extra"],
    });
  });

  it("ignores invalid values", () => {
    const { params, ignored } = pickLlmParams({
      temperature: "2.5",
      top_p: "-0.1",
      max_tokens: "1.5",
      seed: "abc",
      presence_penalty: "",
      frequency_penalty: "Infinity",
      toString: "1",
    });
    expect(params).toEqual({});
    expect(ignored).toHaveLength(7);
  });

  it("accepts no params", () => {
    expect(pickLlmParams(undefined)).toEqual({ params: {}, ignored: [] });
  });
});

describe("retry timing", () => {
  it("backoff doubles, is capped, and jitters within the upper half", () => {
    expect(backoffMs(0, 100, 1_000, () => 0)).toBe(50);
    expect(backoffMs(0, 100, 1_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 1_000, () => 1)).toBe(800);
    expect(backoffMs(10, 100, 1_000, () => 0.5)).toBe(750);
  });

  it("reads retry-after-ms first, then retry-after seconds or date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after-ms": "150", "retry-after": "9" }), now)).toBe(150);
    expect(retryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(2_000);
    expect(retryAfterMs(new Headers({ "retry-after": "0.5" }), now)).toBe(500);
    expect(retryAfterMs(new Headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({ "retry-after": "Tue, 31 Dec 2024 00:00:00 GMT" }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({ "retry-after-ms": "x" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});
