import type { ConnectError, ContextValues } from "@connectrpc/connect";
import type { AnyRequest } from "./request-handler.js";

/** What connections may cost: how many, how many calls each, and how long they may dawdle. */
export interface ConnectionLimits {
  /** Most open client connections; more are closed as soon as they connect. */
  readonly maxConnections: number;
  /** Most concurrent streams on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxStreamsPerConnection: number;
  /** How long a connection with no call in progress stays open (HTTP/2 session, HTTP/1.1 keep-alive). */
  readonly idleTimeoutMs: number;
  /** How long a client may take to send a request's headers, and a new connection its first bytes. */
  readonly headersTimeoutMs: number;
  /** How long a client may take to send a whole request, body included (never limits the response). */
  readonly requestTimeoutMs: number;
}

/** Defaults for tests and embedders that set no limits; the server's come from its settings. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1000,
  maxStreamsPerConnection: 100,
  idleTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

/** The RPC a request is for, from its path alone. */
export interface RpcTarget {
  /** Fully qualified service name, e.g. semcache.v1.SemanticCacheService. */
  readonly service: string;
  readonly method: string;
}

/**
 * What the edge decided from a request's headers alone, before a byte of its
 * body is read: let it in (with values for the handlers, such as the caller's
 * principal), or refuse it.
 */
export interface Admission {
  /** Set: the request is refused with this error, without its body being read. */
  readonly refusal?: ConnectError;
  /** Values the handlers see (the caller's principal, say); only for admitted requests. */
  readonly contextValues?: ContextValues;
}

/**
 * Decides whether a request may go on, from its headers. `rpc` is the method
 * of an RPC request, undefined for plain HTTP routes (metrics, dashboard).
 * `/healthz` and CORS preflights are never asked about.
 */
export type Admit = (req: AnyRequest, rpc: RpcTarget | undefined) => Admission;
