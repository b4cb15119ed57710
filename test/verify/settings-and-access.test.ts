/**
 * The verified-answer settings (validated at start, named when bad), the
 * server-wide default budget, and Feedback's namespace grants (those of
 * Lookup) with API keys on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";
import { writeKeyFile, testKey } from "../support/key-files.js";
import { clientFor } from "../support/clients.js";
import { startTestServer, tempDir, type TestServer } from "../support/test-server.js";

const emptyDir = mkdtempSync(join(tmpdir(), "semcache-verify-config-"));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

describe("settings", () => {
  it("SEMCACHE_MAX_ERROR_RATE is unset by default and must lie strictly between 0 and 1", () => {
    const config = loadConfig({ env: {}, argv: [], cwd: emptyDir });
    expect(config.maxErrorRate).toBeUndefined();
    expect(config.answerMatch).toBe(0.95);
    expect(loadConfig({ env: { SEMCACHE_MAX_ERROR_RATE: "0.02" }, argv: [], cwd: emptyDir }).maxErrorRate).toBe(0.02);
    expect(loadConfig({ env: {}, argv: ["--max-error-rate", "0.05", "--answer-match", "1"], cwd: emptyDir })).toMatchObject({ maxErrorRate: 0.05, answerMatch: 1 });
    for (const bad of ["0", "1", "-0.5", "2%", "NaN"]) {
      expect(() => loadConfig({ env: { SEMCACHE_MAX_ERROR_RATE: bad }, argv: [], cwd: emptyDir }), bad).toThrow(ConfigError);
    }
    try {
      loadConfig({ env: { SEMCACHE_MAX_ERROR_RATE: "1", SEMCACHE_ANSWER_MATCH: "0" }, argv: [], cwd: emptyDir });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain("SEMCACHE_MAX_ERROR_RATE");
      expect((error as Error).message).toContain("SEMCACHE_ANSWER_MATCH");
    }
  });
});

describe("a server with a default budget and API keys", () => {
  const alice = testKey({ id: "alice", role: "user", namespaces: ["team-a"] });
  let dir: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = tempDir("semcache-verify-keys-");
    server = await startTestServer({ env: { SEMCACHE_API_KEYS_FILE: writeKeyFile(dir, [alice]), SEMCACHE_MAX_ERROR_RATE: "0.02", SEMCACHE_LOG_LEVEL: "error" } });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies SEMCACHE_MAX_ERROR_RATE to requests that send no budget", async () => {
    const client = clientFor("grpc", server.url, { apiKey: alice.key });
    await client.store({ prompt: "What is the capital of France?", response: "Paris.", scope: {} });
    const uncertain = await client.lookup({ prompt: "Tell me the capital city of France.", scope: {} });
    expect(uncertain).toMatchObject({ hit: false, uncertain: true });
    // A request's own budget is still validated.
    await expect(client.lookup({ prompt: "x", scope: {}, maxErrorRate: 2 })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("Feedback has Lookup's namespace grants: the key's namespace by default, others refused", async () => {
    const client = clientFor("connect-h1", server.url, { apiKey: alice.key });
    const { id } = await client.store({ prompt: "How long does it take to walk 5 miles?", response: "About 100 minutes.", scope: {} });
    const ok = await client.feedback({ entryId: id, prompt: "how long to walk five miles", correct: true });
    expect(ok.observations).toBe(1);
    const refused = await client.feedback({ entryId: id, prompt: "x", scope: { namespace: "team-b" }, correct: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.PermissionDenied);
    const stats = await client.stats({});
    expect(stats.feedbackReceived).toBe(1n);
  });
});
