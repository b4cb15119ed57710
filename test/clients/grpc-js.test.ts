import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { BUF, hostPort, run } from "../support/client-tools.js";

/**
 * @grpc/grpc-js, a second and independent gRPC implementation, with the
 * service loaded from a descriptor set `buf build` produces now: no code
 * generated for it, plain JSON objects in and out.
 */

type PackageDefinition = Parameters<typeof grpc.loadPackageDefinition>[0];

/** A grpc-js package definition for services of a descriptor set, with JSON messages. */
function packageDefinition(services: readonly DescService[]): PackageDefinition {
  const definition: PackageDefinition = {};
  for (const service of services) {
    const methods: Record<string, grpc.MethodDefinition<JsonValue, JsonValue>> = {};
    for (const method of service.methods) {
      methods[method.name] = {
        path: `/${service.typeName}/${method.name}`,
        originalName: method.localName,
        requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
        responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
        requestSerialize: (value: JsonValue) => Buffer.from(toBinary(method.input, fromJson(method.input, value))),
        requestDeserialize: (bytes: Buffer) => toJson(method.input, fromBinary(method.input, bytes)),
        responseSerialize: (value: JsonValue) => Buffer.from(toBinary(method.output, fromJson(method.output, value))),
        responseDeserialize: (bytes: Buffer) => toJson(method.output, fromBinary(method.output, bytes)),
      };
    }
    definition[service.typeName] = methods;
  }
  return definition;
}

type UnaryCall = (request: JsonValue, callback: (error: grpc.ServiceError | null, response?: JsonValue) => void) => void;

/** Calls a unary method of a grpc-js client, as a promise. */
function call(client: grpc.Client, method: string, request: JsonValue): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, UnaryCall>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(client, request, (error, response) => (error === null ? resolve(response as Record<string, unknown>) : reject(error)));
  });
}

let server: TestServer;
let scratch: string;
let cache: grpc.Client;
let health: grpc.Client;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "semcache-grpcjs-"));
  const descriptors = join(scratch, "semcache.binpb");
  const built = await run(BUF, ["build", "--as-file-descriptor-set", "-o", descriptors]);
  expect(built.code, built.stderr).toBe(0);
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptors)));
  const services = ["semcache.v1.SemanticCacheService", "grpc.health.v1.Health"].map((name) => {
    const service = registry.getService(name);
    if (service === undefined) throw new Error(`${name} is not in the descriptor set buf built`);
    return service;
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition(services));
  const constructorAt = (path: string) => path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], loaded) as grpc.ServiceClientConstructor;

  server = await startTestServer();
  const address = hostPort(server.url);
  cache = new (constructorAt("semcache.v1.SemanticCacheService"))(address, grpc.credentials.createInsecure());
  health = new (constructorAt("grpc.health.v1.Health"))(address, grpc.credentials.createInsecure());
});
afterAll(async () => {
  cache?.close();
  health?.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("an @grpc/grpc-js client, from descriptors buf builds", () => {
  const scope = { namespace: "grpc-js", model: "gpt-4o-mini" };

  it("calls Lookup (miss, then exact and semantic hits) and Stats", async () => {
    expect(await call(cache, "Lookup", { prompt: "How far is the Moon from the Earth?", scope })).toEqual({ threshold: expect.closeTo(0.9, 5) });
    const stored = await call(cache, "Store", { prompt: "How far is the Moon from the Earth?", response: "About 384,400 km.", scope });
    expect(stored["id"]).toMatch(/^[0-9a-f]{32}$/u);

    const exact = await call(cache, "Lookup", { prompt: "How far is the Moon from the Earth?", scope });
    expect(exact).toMatchObject({ hit: true, kind: "MATCH_KIND_EXACT", similarity: 1, entry: { id: stored["id"], response: "About 384,400 km.", hits: "1" } });

    const stats = await call(cache, "Stats", { namespace: "grpc-js" });
    expect(stats).toMatchObject({ entries: "1", lookups: "2", exactHits: "1", misses: "1", stores: "1", hitRate: 0.5, storeKind: "embedded" });
    expect(stats["modelId"]).toEqual(expect.any(String));
    expect(stats["index"]).toMatchObject({ algorithm: "hnsw", metric: "cosine" });
  });

  it("receives gRPC status codes and messages", async () => {
    const error = (await call(cache, "Lookup", { prompt: "   ", scope }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/prompt/u);
  });

  it("reads the health service", async () => {
    expect(await call(health, "Check", {})).toEqual({ status: "SERVING" });
    expect(await call(health, "Check", { service: "semcache.v1.SemanticCacheService" })).toEqual({ status: "SERVING" });
    const unknown = (await call(health, "Check", { service: "nope" }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
  });
});
