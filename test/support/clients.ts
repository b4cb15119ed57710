import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { bearerAuth } from "../../clients/ts/src/common.js";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";

/** The generated client of the service. */
export type CacheClient = Client<typeof SemanticCacheService>;

/** The wire protocols the server answers, each with the HTTP version a client would use. */
export const PROTOCOLS = ["connect-h1", "connect-h2", "grpc", "grpc-web"] as const;
/** One of {@link PROTOCOLS}. */
export type Protocol = (typeof PROTOCOLS)[number];

/** What a test client sends besides its requests. */
export interface ClientOptions {
  /** Sent as `authorization: Bearer <apiKey>` with every call. */
  readonly apiKey?: string;
}

/** A transport for a protocol against a base URL. */
export function transportFor(protocol: Protocol, baseUrl: string, options: ClientOptions = {}): Transport {
  const common = { baseUrl, interceptors: options.apiKey === undefined ? [] : [bearerAuth(options.apiKey)] };
  switch (protocol) {
    case "connect-h1":
      return createConnectTransport({ ...common, httpVersion: "1.1" });
    case "connect-h2":
      return createConnectTransport({ ...common, httpVersion: "2" });
    case "grpc":
      return createGrpcTransport(common);
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
  }
}

/** A generated TypeScript client over a protocol. */
export function clientFor(protocol: Protocol, baseUrl: string, options: ClientOptions = {}): CacheClient {
  return createClient(SemanticCacheService, transportFor(protocol, baseUrl, options));
}
