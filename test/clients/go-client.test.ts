import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { GO_GRPC_FILES, goBuild, hostPort, missingFiles, REPO, run, toolGate } from "../support/client-tools.js";

const MODULE = "github.com/semcache/semcache/clients/go";
const gate = toolGate(
  "the Go client test",
  missingFiles(GO_GRPC_FILES),
);

let server: TestServer;
let bin: string;
beforeAll(async () => {
  if (gate.skip) return;
  gate.assertAvailable();
  bin = mkdtempSync(join(tmpdir(), "semcache-go-bin-"));
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  if (bin !== undefined) rmSync(bin, { recursive: true, force: true });
});

// A cold `go build` of grpc-go takes most of a minute.
describe.skipIf(gate.skip)("the Go client (protoc-gen-go, protoc-gen-go-grpc, grpc-go)", { timeout: 300_000 }, () => {
  it("builds offline and stores and looks up through the example program", async () => {
    const built = await goBuild(join(REPO, "clients", "go"), MODULE, "./examples/storelookup", join(bin, "storelookup"));
    expect(built.code, built.stderr).toBe(0);

    const result = await run(join(bin, "storelookup"), ["-namespace", "go-example", hostPort(server.url)]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^stored id=[0-9a-f]{32} replaced=false$/u);
    expect(lines[1]).toBe('lookup "What is the capital of France?": hit kind=MATCH_KIND_EXACT similarity=1.0000 response="Paris."');
    expect(lines[2]).toMatch(/^lookup "Tell me the capital city of France\.": hit kind=MATCH_KIND_SEMANTIC similarity=0\.9\d{3} response="Paris\."$/u);
    expect(lines[3]).toBe("empty prompt: InvalidArgument");
    expect(lines[4]).toBe("stats entries=1 lookups=2 hits=2");
  });

  it("resolves the API through server reflection and calls it with dynamic messages, as grpcurl does", async () => {
    const built = await goBuild(join(REPO, "test", "clients", "go", "reflectcheck"), "semcache.test/reflectcheck", ".", join(bin, "reflectcheck"));
    expect(built.code, built.stderr).toBe(0);

    const result = await run(join(bin, "reflectcheck"), [hostPort(server.url), "go-reflect"]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        'health "" SERVING',
        'health "semcache.v1.SemanticCacheService" SERVING',
        'health "no.such.Service" NotFound',
        "service grpc.health.v1.Health",
        "service grpc.reflection.v1.ServerReflection",
        "service grpc.reflection.v1alpha.ServerReflection",
        "service semcache.v1.SemanticCacheService",
        "symbol no.such.Symbol error 5",
        "file semcache/v1/semantic_cache.proto",
        "file google/protobuf/timestamp.proto",
      ]),
    );
    const store = lines.find((line) => line.startsWith("store "));
    expect(JSON.parse(store?.slice("store ".length) ?? "null")).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/u) });
    const lookup = lines.find((line) => line.startsWith("lookup "));
    expect(JSON.parse(lookup?.slice("lookup ".length) ?? "null")).toMatchObject({
      hit: true,
      kind: "MATCH_KIND_EXACT",
      entry: { prompt: "What is the capital of Italy?", response: "Rome.", scope: { namespace: "go-reflect", model: "reflect" } },
    });
  });
});
