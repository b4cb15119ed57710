/**
 * The semcache client for browsers (and any runtime with `fetch`): Connect
 * or gRPC-Web over the Fetch API. The server must allow the page's origin
 * (`SEMCACHE_CORS_ORIGINS`).
 *
 * ```ts
 * import { createSemcacheClient } from "@semcache/client/web";
 * const client = createSemcacheClient({ baseUrl: "https://semcache.example.com" });
 * ```
 */
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { transportInterceptors, type CommonClientOptions, type SemcacheClient } from "./common.js";
import { SemanticCacheService } from "./gen/semcache/v1/semantic_cache_pb.js";

export * from "./common.js";

/** The wire protocols a browser client can use. */
export type WebProtocol = "connect" | "grpc-web";

/** Options of {@link createSemcacheClient}. */
export interface SemcacheWebClientOptions extends CommonClientOptions {
  /** Default `"connect"`. */
  readonly protocol?: WebProtocol;
  /** Connect only: protobuf binary instead of JSON on the wire; default false (JSON is easier to read in dev tools). */
  readonly useBinaryFormat?: boolean;
  /** A fetch implementation; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

/** The transport {@link createSemcacheClient} uses, for callers that build clients themselves. */
export function createSemcacheTransport(options: SemcacheWebClientOptions): Transport {
  const common = {
    baseUrl: options.baseUrl,
    ...(options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs }),
    ...transportInterceptors(options),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  };
  switch (options.protocol ?? "connect") {
    case "connect":
      return createConnectTransport({ ...common, useBinaryFormat: options.useBinaryFormat ?? false });
    case "grpc-web":
      return createGrpcWebTransport(common);
  }
}

/** A typed semcache client over the Fetch API. */
export function createSemcacheClient(options: SemcacheWebClientOptions): SemcacheClient {
  return createClient(SemanticCacheService, createSemcacheTransport(options));
}
