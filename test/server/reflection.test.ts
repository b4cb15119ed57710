import { create, createFileRegistry, fromBinary, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ServerReflection as ReflectionV1,
  ServerReflectionRequestSchema as RequestV1Schema,
  type ServerReflectionResponse as ResponseV1,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ReflectionV1Alpha,
  ServerReflectionRequestSchema as RequestV1AlphaSchema,
} from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { answerReflectionRequest, DescriptorIndex } from "../../src/server/reflection/index.js";
import { bufCurl, bufCurlJson, CURL_PROTOCOLS } from "../support/buf-curl.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "semcache.v1.SemanticCacheService",
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type RequestInit = MessageInitShape<typeof RequestV1Schema>;

/** Sends the requests on one v1 reflection stream (over gRPC, h2c) and collects the answers. */
async function reflect(requests: readonly RequestInit[]): Promise<ResponseV1[]> {
  const client = createClient(ReflectionV1, createGrpcTransport({ baseUrl: server.url }));
  async function* send() {
    for (const request of requests) yield create(RequestV1Schema, request);
  }
  const out: ResponseV1[] = [];
  for await (const response of client.serverReflectionInfo(send())) out.push(response);
  return out;
}

function filesOf(response: ResponseV1 | undefined): FileDescriptorProto[] {
  expect(response?.messageResponse.case, JSON.stringify(response?.messageResponse)).toBe("fileDescriptorResponse");
  const value = response?.messageResponse.case === "fileDescriptorResponse" ? response.messageResponse.value : undefined;
  return (value?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

function errorOf(response: ResponseV1 | undefined): { code: number; message: string } {
  expect(response?.messageResponse.case).toBe("errorResponse");
  const value = response?.messageResponse.case === "errorResponse" ? response.messageResponse.value : undefined;
  return { code: value?.errorCode ?? -1, message: value?.errorMessage ?? "" };
}

describe("gRPC server reflection (v1), over the wire", () => {
  it("lists the services the server offers", async () => {
    const [listed] = await reflect([{ host: "semcache.local", messageRequest: { case: "listServices", value: "*" } }]);
    expect(listed?.validHost).toBe("semcache.local");
    expect(listed?.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
    expect(listed?.messageResponse.case).toBe("listServicesResponse");
    const names = listed?.messageResponse.case === "listServicesResponse" ? listed.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual(SERVICES);
  });

  it("answers file_containing_symbol with the file and its transitive imports, enough to build a registry", async () => {
    const [answer] = await reflect([{ messageRequest: { case: "fileContainingSymbol", value: "semcache.v1.SemanticCacheService" } }]);
    const files = filesOf(answer);
    expect(files.map((f) => f.name)).toEqual(["semcache/v1/semantic_cache.proto", "google/protobuf/timestamp.proto"]);
    expect(files[0]?.dependency).toEqual(["google/protobuf/timestamp.proto"]);
    // protobuf-es wants imports before the files that import them.
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files].reverse() }));
    const service = registry.getService("semcache.v1.SemanticCacheService");
    expect(service?.methods.map((m) => m.name)).toEqual(SemanticCacheService.methods.map((m) => m.name));
    expect(service?.methods.map((m) => m.name)).toEqual(expect.arrayContaining(["Ask", "AskStream", "Lookup", "Store", "Stats", "Flush"]));
    expect(registry.getMessage("semcache.v1.CacheEntry")?.field["createdAt"]?.message?.typeName).toBe("google.protobuf.Timestamp");
  });

  it("finds every kind of symbol, and sends each import only once per stream", async () => {
    const symbols: [string, string][] = [
      ["semcache.v1.LookupRequest", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.SemanticCacheService.Lookup", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.LookupRequest.prompt", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.AskStreamResponse.event", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.Scope.ParamsEntry", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.MatchKind", "semcache/v1/semantic_cache.proto"],
      ["semcache.v1.MATCH_KIND_EXACT", "semcache/v1/semantic_cache.proto"],
      [".semcache.v1.Scope", "semcache/v1/semantic_cache.proto"],
      ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
      ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
      ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
      ["grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo", "grpc/reflection/v1alpha/reflection.proto"],
    ];
    const answers = await reflect(symbols.map(([symbol]) => ({ messageRequest: { case: "fileContainingSymbol", value: symbol } })));
    expect(answers).toHaveLength(symbols.length);
    symbols.forEach(([symbol, file], i) => {
      const names = filesOf(answers[i]).map((f) => f.name);
      // The requested file comes first, always; imports already sent on this stream are left out.
      expect(names, symbol).toEqual(i === 0 ? [file, "google/protobuf/timestamp.proto"] : [file]);
    });
  });

  it("answers file_by_filename, including well-known imports", async () => {
    const answers = await reflect([
      { messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" } },
      { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
    ]);
    const [timestamp] = filesOf(answers[0]);
    expect(timestamp?.package).toBe("google.protobuf");
    expect(timestamp?.messageType.map((m) => m.name)).toEqual(["Timestamp"]);
    const [health] = filesOf(answers[1]);
    expect(health?.service.map((s) => s.name)).toEqual(["Health"]);
  });

  it("answers NOT_FOUND for unknown files, symbols, types and extensions, and INVALID_ARGUMENT for an empty request", async () => {
    const answers = await reflect([
      { messageRequest: { case: "fileByFilename", value: "no/such.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "semcache.v1.NoSuchMessage" } },
      { messageRequest: { case: "fileContainingSymbol", value: "semcache.v1" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "semcache.v1.Scope", extensionNumber: 100 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "semcache.v1.NoSuchMessage" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "semcache.v1.Scope" } },
      { host: "x" },
    ]);
    for (const answer of answers.slice(0, 5)) expect(errorOf(answer).code).toBe(Code.NotFound);
    expect(errorOf(answers[0]).message).toContain("no/such.proto");
    // A known message without extensions: an empty list, not an error.
    expect(answers[5]?.messageResponse).toEqual({
      case: "allExtensionNumbersResponse",
      value: expect.objectContaining({ baseTypeName: "semcache.v1.Scope", extensionNumber: [] }),
    });
    expect(errorOf(answers[6]).code).toBe(Code.InvalidArgument);
  });
});

describe("gRPC server reflection (v1alpha), over the wire", () => {
  it("lists services and serves descriptors like v1", async () => {
    const client = createClient(ReflectionV1Alpha, createGrpcTransport({ baseUrl: server.url }));
    async function* send() {
      yield create(RequestV1AlphaSchema, { messageRequest: { case: "listServices", value: "" } });
      yield create(RequestV1AlphaSchema, { messageRequest: { case: "fileContainingSymbol", value: "semcache.v1.StoreRequest" } });
      yield create(RequestV1AlphaSchema, { messageRequest: { case: "fileByFilename", value: "nope.proto" } });
    }
    const answers = [];
    for await (const answer of client.serverReflectionInfo(send())) answers.push(answer);
    expect(answers[0]?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
    expect(answers[0]?.messageResponse.case === "listServicesResponse" && answers[0].messageResponse.value.service.map((s) => s.name)).toEqual(SERVICES);
    const files = answers[1]?.messageResponse.case === "fileDescriptorResponse" ? answers[1].messageResponse.value.fileDescriptorProto : [];
    expect(files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)).toEqual(["semcache/v1/semantic_cache.proto", "google/protobuf/timestamp.proto"]);
    expect(answers[2]?.messageResponse.case === "errorResponse" && answers[2].messageResponse.value.errorCode).toBe(Code.NotFound);
  });
});

describe("extensions (a synthetic proto2 file; semcache's own protos declare none)", () => {
  // package ext.v1; message Base { extensions 100 to 200; } extend Base { optional string note = 100; optional int32 rank = 150; }
  // service ExtService { rpc Get(Base) returns (Base); }
  const file = create(FileDescriptorProtoSchema, {
    name: "ext/v1/ext.proto",
    package: "ext.v1",
    syntax: "proto2",
    messageType: [{ name: "Base", extensionRange: [{ start: 100, end: 201 }] }],
    extension: [
      { name: "note", number: 100, label: 1, type: 9, extendee: ".ext.v1.Base", jsonName: "note" },
      { name: "rank", number: 150, label: 1, type: 5, extendee: ".ext.v1.Base", jsonName: "rank" },
    ],
    service: [{ name: "ExtService", method: [{ name: "Get", inputType: ".ext.v1.Base", outputType: ".ext.v1.Base" }] }],
  });
  const service = createFileRegistry(file, () => undefined).getService("ext.v1.ExtService") as DescService;
  const index = new DescriptorIndex([service]);
  const ask = (messageRequest: RequestInit["messageRequest"]): ResponseV1 =>
    answerReflectionRequest(index, create(RequestV1Schema, { messageRequest }), new Set());

  it("answers file_containing_extension and all_extension_numbers_of_type", () => {
    expect(filesOf(ask({ case: "fileContainingExtension", value: { containingType: "ext.v1.Base", extensionNumber: 150 } })).map((f) => f.name)).toEqual([
      "ext/v1/ext.proto",
    ]);
    expect(errorOf(ask({ case: "fileContainingExtension", value: { containingType: "ext.v1.Base", extensionNumber: 101 } })).code).toBe(Code.NotFound);
    const numbers = ask({ case: "allExtensionNumbersOfType", value: "ext.v1.Base" }).messageResponse;
    expect(numbers.case === "allExtensionNumbersResponse" && numbers.value.extensionNumber).toEqual([100, 150]);
    expect(filesOf(ask({ case: "fileContainingSymbol", value: "ext.v1.rank" })).map((f) => f.name)).toEqual(["ext/v1/ext.proto"]);
  });
});

describe("buf curl, with the schema from server reflection", () => {
  it("lists services and methods over gRPC (h2c)", async () => {
    const services = await bufCurl(["--http2-prior-knowledge", "--protocol", "grpc", "--list-services", server.url]);
    expect(services.code, services.stderr).toBe(0);
    expect(services.stdout.trim().split("\n")).toEqual(SERVICES);
    const methods = await bufCurl(["--http2-prior-knowledge", "--list-methods", server.url]);
    expect(methods.code, methods.stderr).toBe(0);
    expect(methods.stdout.trim().split("\n")).toEqual(
      expect.arrayContaining([
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "semcache.v1.SemanticCacheService/Ask",
        "semcache.v1.SemanticCacheService/Lookup",
        "semcache.v1.SemanticCacheService/Store",
        "semcache.v1.SemanticCacheService/Stats",
      ]),
    );
  });

  it("reflects through the older v1alpha protocol too", async () => {
    const services = await bufCurl(["--http2-prior-knowledge", "--reflect-protocol", "grpc-v1alpha", "--list-services", server.url]);
    expect(services.code, services.stderr).toBe(0);
    expect(services.stdout.trim().split("\n")).toEqual(SERVICES);
  });

  describe.each(CURL_PROTOCOLS)("over $label", ({ label, args }) => {
    const namespace = `curl-${label.replace(/[^a-z0-9]+/gu, "-")}`;

    it("lists the services", async () => {
      const services = await bufCurl([...args, "--list-services", server.url]);
      expect(services.code, services.stderr).toBe(0);
      expect(services.stdout.trim().split("\n")).toEqual(SERVICES);
    });

    it("stores, then looks up, with JSON bodies", async () => {
      const scope = { namespace, model: "curl" };
      const stored = (await bufCurlJson([
        ...args,
        "-d",
        JSON.stringify({ prompt: "What is the capital of France?", response: "Paris.", scope, ttlSeconds: 0, metadata: { via: label } }),
        `${server.url}/semcache.v1.SemanticCacheService/Store`,
      ])) as { id: string; replaced?: boolean };
      expect(stored.id).toMatch(/^[0-9a-f]{32}$/u);
      expect(stored.replaced).toBeUndefined();

      const hit = await bufCurlJson([
        ...args,
        "-d",
        JSON.stringify({ prompt: "  What is the capital of   France?", scope }),
        `${server.url}/semcache.v1.SemanticCacheService/Lookup`,
      ]);
      expect(hit).toEqual({
        hit: true,
        kind: "MATCH_KIND_EXACT",
        similarity: 1,
        threshold: expect.closeTo(0.9, 5),
        entry: {
          id: stored.id,
          prompt: "What is the capital of France?",
          response: "Paris.",
          scope,
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/u),
          hits: "1",
          metadata: { via: label },
        },
      });

      const stats = (await bufCurlJson([...args, "-d", JSON.stringify({ namespace }), `${server.url}/semcache.v1.SemanticCacheService/Stats`])) as Record<string, unknown>;
      expect(stats).toMatchObject({ entries: "1", lookups: "1", exactHits: "1", stores: "1", storeKind: "embedded" });
    });

    it("answers the health check, and NOT_FOUND for an unknown service", async () => {
      expect(await bufCurlJson([...args, "-d", "{}", `${server.url}/grpc.health.v1.Health/Check`])).toEqual({ status: "SERVING" });
      const unknown = await bufCurl([...args, "-d", '{"service":"no.such.Service"}', `${server.url}/grpc.health.v1.Health/Check`]);
      expect(unknown.code).not.toBe(0);
      expect(JSON.parse(unknown.stdout || unknown.stderr)).toMatchObject({ code: "not_found" });
    });
  });
});
