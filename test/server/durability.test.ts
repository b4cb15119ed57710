import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { MatchKind } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { startChildServer } from "../support/child-server.js";
import { clientFor } from "../support/clients.js";
import { tempDir, testEnv } from "../support/test-server.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("durability of the embedded store", () => {
  it("answers the same after a graceful restart, and exits 0 on SIGTERM", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const env = await testEnv(dataDir);
    const first = await startChildServer(env);
    const scope = { namespace: "restart", model: "m" };
    await clientFor("grpc", first.url).store({ prompt: "What is the capital of France?", response: "Paris.", scope, ttlSeconds: 3600 });
    first.process.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = await startChildServer(env);
    try {
      const client = clientFor("grpc", second.url);
      const exact = await client.lookup({ prompt: "What is the capital of France?", scope });
      expect(exact.kind).toBe(MatchKind.EXACT);
      expect(exact.entry?.response).toBe("Paris.");
      expect(exact.entry?.expiresAt).toBeDefined();
      const semantic = await client.lookup({ prompt: "Tell me the capital city of France.", scope });
      expect(semantic.kind).toBe(MatchKind.SEMANTIC);
      expect(semantic.entry?.response).toBe("Paris.");
    } finally {
      second.process.kill("SIGTERM");
      await second.exited;
    }
  });

  it("keeps every acknowledged Store across kill -9", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const env = await testEnv(dataDir);
    const first = await startChildServer(env);
    const client = clientFor("connect-h2", first.url);
    const scope = { namespace: "crash" };
    const acknowledged: number[] = [];
    let killed = false;
    // Eight writers store distinct prompts until the server dies under them.
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !killed; i++) {
        const n = w * 100_000 + i;
        try {
          await client.store({ prompt: `crash test prompt number ${n}`, response: `answer ${n}`, scope });
          acknowledged.push(n);
        } catch {
          return;
        }
        if (acknowledged.length >= 40 && !killed) {
          killed = true;
          first.process.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    expect(await first.exited).toBe("SIGKILL");
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);

    const second = await startChildServer(env);
    try {
      const after = clientFor("connect-h1", second.url);
      for (const n of acknowledged) {
        const hit = await after.lookup({ prompt: `crash test prompt number ${n}`, scope });
        expect(hit.kind, `acknowledged store ${n}`).toBe(MatchKind.EXACT);
        expect(hit.entry?.response).toBe(`answer ${n}`);
      }
      expect(Number((await after.stats({ namespace: "crash" })).entries)).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      second.process.kill("SIGTERM");
      await second.exited;
    }
  });
});
