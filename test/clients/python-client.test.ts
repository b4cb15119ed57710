import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor } from "../support/clients.js";
import { startTestServer, tempDir, type TestServer } from "../support/test-server.js";
import { testKey, writeKeyFile } from "../support/key-files.js";
import { hostPort, REPO, run, SYSTEM_PYTHON, systemPythonHasGrpc, toolGate } from "../support/client-tools.js";

const EXAMPLE = join(REPO, "clients", "python", "examples", "store_lookup.py");
// Debian's python3-grpcio / python3-protobuf, for /usr/bin/python3 (not a pyenv python3 on PATH).
const gate = toolGate("the Python client test", (await systemPythonHasGrpc()) ? [] : [`${SYSTEM_PYTHON} with python3-grpcio and python3-protobuf`]);

/** Runs the example with Debian's Python, without writing __pycache__ into the tree. */
function runExample(args: readonly string[], env: Record<string, string> = {}) {
  return run(SYSTEM_PYTHON, [EXAMPLE, ...args], { env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: "", ...env }, timeoutMs: 60_000 });
}

let server: TestServer;
beforeAll(async () => {
  if (gate.skip) return;
  gate.assertAvailable();
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(gate.skip)("the Python client (generated stubs, grpcio)", () => {
  it("stores and looks up through the example script", async () => {
    const result = await runExample([hostPort(server.url), "python-example"]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^stored id=[0-9a-f]{32} replaced=false$/u);
    expect(lines[1]).toBe("lookup 'What is the capital of France?': hit kind=MATCH_KIND_EXACT similarity=1.0000 response='Paris.'");
    expect(lines[2]).toMatch(/^lookup 'Tell me the capital city of France\.': hit kind=MATCH_KIND_SEMANTIC similarity=0\.9\d{3} response='Paris\.'$/u);
    expect(lines[3]).toBe("empty prompt: INVALID_ARGUMENT");
    expect(lines[4]).toBe("stats entries=1 lookups=2 hits=2");

    // What Python stored is what the TypeScript client finds.
    const hit = await clientFor("grpc", server.url).lookup({ prompt: "What is the capital of France?", scope: { namespace: "python-example", model: "gpt-4o-mini" } });
    expect(hit.entry?.metadata).toEqual({ source: "python-example" });
  });

  it("sends an API key as bearer metadata to a server with keys, and is refused without it", async () => {
    const dir = tempDir("semcache-python-keys-");
    const key = testKey({ id: "python", role: "user", namespaces: ["python-keyed"] });
    const keyed = await startTestServer({ env: { SEMCACHE_API_KEYS_FILE: writeKeyFile(dir, [key]) } });
    try {
      const withKey = await runExample([hostPort(keyed.url), "python-keyed"], { SEMCACHE_API_KEY: key.key });
      expect(withKey.code, withKey.stderr).toBe(0);
      expect(withKey.stdout).toContain("stats entries=1 lookups=2 hits=2");
      const without = await runExample([hostPort(keyed.url), "python-keyed"]);
      expect(without.code).toBe(1);
      expect(without.stderr).toMatch(/^call failed: UNAUTHENTICATED: missing API key/mu);
      const elsewhere = await runExample([hostPort(keyed.url), "someone-else"], { SEMCACHE_API_KEY: key.key });
      expect(elsewhere.stderr).toMatch(/^call failed: PERMISSION_DENIED: API key "python" may not use namespace "someone-else"/mu);
    } finally {
      await keyed.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports an unreachable server as UNAVAILABLE", async () => {
    const result = await runExample(["127.0.0.1:1", "python-example"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^call failed: UNAVAILABLE: /mu);
  });

  it("says what to install when the gRPC or protobuf runtime is missing", async () => {
    // -S leaves out site-packages, where Debian's python3-grpcio lives: the state of a machine without it.
    const result = await run(SYSTEM_PYTHON, ["-S", EXAMPLE, hostPort(server.url)], { env: { PYTHONDONTWRITEBYTECODE: "1", PYTHONPATH: "" }, timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^semcache example: No module named '(grpc|google)'\. Install the gRPC and protobuf runtimes: on Debian\/Ubuntu `apt-get install python3-grpcio python3-protobuf`/u);
  });
});
