/**
 * The semcache client for Node.js: gRPC (HTTP/2), Connect (HTTP/1.1 or
 * HTTP/2) or gRPC-Web. For browsers, import `@semcache/client/web`.
 *
 * ```ts
 * import { createSemcacheClient } from "@semcache/client";
 * const client = createSemcacheClient({ baseUrl: "http://127.0.0.1:8080" });
 * const res = await client.lookup({ prompt: "What is the capital of France?" });
 * ```
 */
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { transportInterceptors, type CommonClientOptions, type SemcacheClient } from "./common.js";
import { SemanticCacheService } from "./gen/semcache/v1/semantic_cache_pb.js";

export * from "./common.js";

/** The wire protocols a Node.js client can use. */
export type NodeProtocol = "grpc" | "connect" | "grpc-web";

/** Options of {@link createSemcacheClient}. */
export interface SemcacheClientOptions extends CommonClientOptions {
  /** Default `"grpc"`. */
  readonly protocol?: NodeProtocol;
  /**
   * HTTP version for Connect and gRPC-Web; default `"2"` (cleartext h2c for
   * `http:` URLs). gRPC always uses HTTP/2.
   */
  readonly httpVersion?: "1.1" | "2";
  /** Connect only: protobuf binary instead of JSON on the wire; default true. */
  readonly useBinaryFormat?: boolean;
}

/** The transport {@link createSemcacheClient} uses, for callers that build clients themselves. */
export function createSemcacheTransport(options: SemcacheClientOptions): Transport {
  const common = {
    baseUrl: options.baseUrl,
    ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
    ...transportInterceptors(options),
  };
  const httpVersion = options.httpVersion ?? "2";
  switch (options.protocol ?? "grpc") {
    case "grpc":
      return createGrpcTransport(common);
    case "connect":
      return createConnectTransport({ ...common, httpVersion, useBinaryFormat: options.useBinaryFormat ?? true });
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion });
  }
}

/** A typed semcache client for Node.js. */
export function createSemcacheClient(options: SemcacheClientOptions): SemcacheClient {
  return createClient(SemanticCacheService, createSemcacheTransport(options));
}
