import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as NodeEntry from "../../clients/ts/src/index.js";
import type * as WebEntry from "../../clients/ts/src/web.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { REPO, run } from "../support/client-tools.js";

const PACKAGE = join(REPO, "clients", "ts");

/** A loopback port nothing listens on. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

let server: TestServer;
let node: typeof NodeEntry;
let web: typeof WebEntry;

beforeAll(async () => {
  // Build the package the way a consumer gets it (tsc, with the root's
  // packages), then load what was built rather than the sources.
  const build = await run(join(REPO, "node_modules", ".bin", "tsc"), ["-p", PACKAGE], { timeoutMs: 120_000 });
  expect(build.code, build.stdout + build.stderr).toBe(0);
  node = (await import(pathToFileURL(join(PACKAGE, "dist", "index.js")).href)) as typeof NodeEntry;
  web = (await import(pathToFileURL(join(PACKAGE, "dist", "web.js")).href)) as typeof WebEntry;
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("the @semcache/client package", () => {
  it("builds every file its package.json exports, with type declarations", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as { name: string; exports: Record<string, Record<string, string>> };
    expect(pkg.name).toBe("@semcache/client");
    for (const entry of Object.values(pkg.exports)) {
      for (const file of Object.values(entry)) expect(existsSync(join(PACKAGE, file)), file).toBe(true);
    }
    expect(readFileSync(join(PACKAGE, "dist", "index.d.ts"), "utf8")).toContain("createSemcacheClient");
    expect(existsSync(join(PACKAGE, "dist", "gen", "semcache", "v1", "semantic_cache_pb.d.ts"))).toBe(true);
  });

  it("ships the generated code buf writes for it, the same as the server's", () => {
    const ours = readFileSync(join(PACKAGE, "src", "gen", "semcache", "v1", "semantic_cache_pb.ts"), "utf8");
    expect(ours).toBe(readFileSync(join(REPO, "src", "gen", "semcache", "v1", "semantic_cache_pb.ts"), "utf8"));
  });
});

const NODE_CASES = [
  { label: "gRPC", options: { protocol: "grpc" } },
  { label: "Connect over HTTP/2", options: { protocol: "connect" } },
  { label: "Connect over HTTP/1.1, JSON", options: { protocol: "connect", httpVersion: "1.1", useBinaryFormat: false } },
  { label: "gRPC-Web over HTTP/1.1", options: { protocol: "grpc-web", httpVersion: "1.1" } },
] as const;

describe.each(NODE_CASES)("Node client over $label", ({ label, options }) => {
  const namespace = `ts-node-${label.replace(/[^A-Za-z0-9]+/gu, "-").toLowerCase()}`;

  it("stores, looks up, and reads stats", async () => {
    const client = node.createSemcacheClient({ baseUrl: server.url, defaultTimeoutMs: 30_000, ...options });
    const scope = { namespace, model: "gpt-4o-mini" };
    const stored = await client.store({ prompt: "What is the capital of France?", response: "Paris.", scope, metadata: { via: label } });
    expect(stored.id).toMatch(/^[0-9a-f]{32}$/u);

    const exact = await client.lookup({ prompt: "What is the capital of France?", scope });
    expect(exact.hit).toBe(true);
    expect(exact.kind).toBe(node.MatchKind.EXACT);
    expect(exact.entry?.response).toBe("Paris.");
    expect(exact.entry?.metadata).toEqual({ via: label });

    const paraphrase = await client.lookup({ prompt: "Tell me the capital city of France.", scope });
    expect(paraphrase.hit).toBe(true);
    expect(paraphrase.kind).toBe(node.MatchKind.SEMANTIC);

    const stats = await client.stats({ namespace });
    expect(stats.entries).toBe(1n);
    expect(stats.lookups).toBe(2n);
  });

  it("reports errors as status codes", async () => {
    const client = node.createSemcacheClient({ baseUrl: server.url, ...options });
    const error = await client.lookup({ prompt: "   " }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(node.ConnectError);
    expect(node.codeOf(error)).toBe(node.Code.InvalidArgument);
    expect(node.isRetryable(error)).toBe(false);
  });
});

describe.each([
  { label: "Connect (JSON)", options: { protocol: "connect" } },
  { label: "gRPC-Web", options: { protocol: "grpc-web" } },
] as const)("browser client (fetch) over $label", ({ label, options }) => {
  it("stores and looks up", async () => {
    const client = web.createSemcacheClient({ baseUrl: server.url, ...options });
    const scope = { namespace: `ts-web-${label.replace(/[^A-Za-z0-9]+/gu, "-").toLowerCase()}` };
    await client.store({ prompt: "Who wrote Hamlet?", response: "Shakespeare.", scope });
    const hit = await client.lookup({ prompt: "Who wrote Hamlet?", scope });
    expect(hit.hit).toBe(true);
    expect(hit.entry?.response).toBe("Shakespeare.");
  });

  it("tells a retryable network failure from a bad request", async () => {
    const free = await freePort();
    const down = web.createSemcacheClient({ baseUrl: `http://127.0.0.1:${free}`, ...options });
    const error = await down.stats({}).catch((e: unknown) => e);
    // fetch says only "failed": connect-web reports Unknown, caused by fetch's TypeError.
    expect(web.codeOf(error)).toBe(web.Code.Unknown);
    expect(web.isRetryable(error)).toBe(true);
    const bad = await web.createSemcacheClient({ baseUrl: server.url, ...options }).lookup({ prompt: "" }).catch((e: unknown) => e);
    expect(web.codeOf(bad)).toBe(web.Code.InvalidArgument);
    expect(web.isRetryable(bad)).toBe(false);
  });
});
