import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/child-server.js";
import { startTestServer, tempDir, testEnv, type TestServer } from "../support/test-server.js";

describe("startup refusals", () => {
  const scratch = tempDir();
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("refuses to start when the model directory is missing, naming it", async () => {
    const missing = join(scratch, "no-such-model");
    const env = await testEnv(join(scratch, "data1"), { SEMCACHE_MODEL_DIR: missing });
    const result = await runCli(["serve"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
  });

  it("refuses to start when the model directory lacks tokenizer.json, naming it", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "model.onnx"), "not really a model");
    const result = await runCli(["serve"], await testEnv(join(scratch, "data2"), { SEMCACHE_MODEL_DIR: dir }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("tokenizer.json");
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start when the data directory is not writable, naming it", async () => {
    const file = join(scratch, "a-file");
    writeFileSync(file, "x");
    const dataDir = join(file, "data");
    const result = await runCli(["serve"], await testEnv(dataDir));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(dataDir);
    expect(result.stderr).toContain("SEMCACHE_DATA_DIR");
  });

  it("names every bad setting", async () => {
    const result = await runCli(["serve", "--port", "99999"], await testEnv(join(scratch, "data3"), { SEMCACHE_THRESHOLD: "1.5" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("SEMCACHE_THRESHOLD");
    expect(result.stderr).toContain("--port");
  });

  it("prints every setting in --help", async () => {
    const result = await runCli(["--help"], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("SEMCACHE_THRESHOLD");
    expect(result.stdout).toContain("--data-dir");
  });
});

describe("one port, both HTTP versions", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SEMCACHE_CORS_ORIGINS: "http://app.example" } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("answers /healthz over HTTP/1.1", async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "SERVING" });
  });

  it("answers /healthz over prior-knowledge HTTP/2", async () => {
    const session = http2.connect(server.url);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = session.request({ ":path": "/healthz" });
        let status = 0;
        let body = "";
        request.on("response", (headers) => (status = Number(headers[":status"])));
        request.on("data", (chunk: Buffer) => (body += chunk.toString()));
        request.on("end", () => resolve({ status, body }));
        request.on("error", reject);
      });
      expect(status).toBe(200);
      expect(JSON.parse(body)).toEqual({ status: "SERVING" });
    } finally {
      session.close();
    }
  });

  it("answers a CORS preflight for an allowed origin, and not for others", async () => {
    const allowed = await fetch(`${server.url}/semcache.v1.SemanticCacheService/Lookup`, {
      method: "OPTIONS",
      headers: { origin: "http://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version" },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://app.example");
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("connect-protocol-version");
    const denied = await fetch(`${server.url}/semcache.v1.SemanticCacheService/Lookup`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves a Connect JSON call made with curl-like fetch", async () => {
    const response = await fetch(`${server.url}/semcache.v1.SemanticCacheService/Store`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "How many legs does a spider have?", response: "Eight.", scope: { namespace: "json" }, ttlSeconds: 60 }),
    });
    expect(response.status).toBe(200);
    const stored = (await response.json()) as { id: string; expiresAt: string };
    expect(stored.id).toMatch(/^[0-9a-f]{32}$/);
    expect(typeof stored.expiresAt).toBe("string");
    const lookup = await fetch(`${server.url}/semcache.v1.SemanticCacheService/Lookup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "How many legs do spiders have?", scope: { namespace: "json" }, minSimilarity: 0.8 }),
    });
    const body = (await lookup.json()) as { hit: boolean; kind: string; entry: { response: string } };
    expect(body.hit).toBe(true);
    expect(body.kind).toBe("MATCH_KIND_SEMANTIC");
    expect(body.entry.response).toBe("Eight.");
  });
});
