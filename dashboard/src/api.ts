/**
 * The dashboard's connection to semcache: the generated TypeScript client
 * over Connect-Web, and plain fetches for /metrics/json (not part of the API).
 *
 * Served by semcache itself, the page talks to its own origin. Opened from
 * elsewhere (vite dev server, another host), `?api=http://host:8080` points
 * it at a server, which must then allow this page's origin in
 * SEMCACHE_CORS_ORIGINS.
 *
 * With API keys on (SEMCACHE_API_KEYS_FILE), every call carries the key the
 * user entered as `authorization: Bearer <key>`; with none entered nothing is
 * added, so a server without keys sees exactly the requests it always did.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import type { MetricsJson } from "../../src/observability/metrics-json.js";

/** The API's base URL: `?api=` when given, otherwise the page's own origin. */
export function apiBaseUrl(location: Location = window.location): string {
  const fromQuery = new URLSearchParams(location.search).get("api");
  return (fromQuery !== null && fromQuery !== "" ? fromQuery : location.origin).replace(/\/+$/, "");
}

export type CacheClient = Client<typeof SemanticCacheService>;

/** Where the current API key comes from; undefined: send none. Asked on every call, so a new key applies at once. */
export type ApiKeySource = () => string | undefined;

/** The `authorization` header of a key, or none without one. */
function authorization(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { authorization: `Bearer ${key}` };
}

/** Adds the current key to every call (unary and streaming alike). */
function bearerInterceptor(apiKey: ApiKeySource): Interceptor {
  return (next) => (req) => {
    const key = apiKey();
    if (key !== undefined) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
}

/** The generated client of SemanticCacheService over the Connect protocol (JSON), sending `apiKey()` when there is one. */
export function cacheClient(baseUrl: string, apiKey: ApiKeySource = () => undefined): CacheClient {
  return createClient(SemanticCacheService, createConnectTransport({ baseUrl, interceptors: [bearerInterceptor(apiKey)] }));
}

/** /metrics/json, as the server writes it (src/observability/metrics.ts). */
export type { MetricsJson } from "../../src/observability/metrics-json.js";

/**
 * /metrics/json refused the key: 401 (no key, or one the server does not
 * know) or 403 (a key of a role that may not read metrics: a user key).
 */
export class MetricsAccessError extends Error {
  constructor(
    readonly status: 401 | 403,
    /** The server's own explanation (it names the key id and its role), when it sent one. */
    readonly serverMessage: string,
  ) {
    super(`/metrics/json answered ${status}${serverMessage === "" ? "" : `: ${serverMessage}`}`);
    this.name = "MetricsAccessError";
  }
}

/** GET /metrics/json with the key, if any. Throws {@link MetricsAccessError} when the key may not read it. */
export async function fetchMetricsJson(baseUrl: string, apiKey?: string, signal?: AbortSignal): Promise<MetricsJson> {
  const response = await fetch(`${baseUrl}/metrics/json`, { signal: signal ?? null, cache: "no-store", headers: authorization(apiKey) });
  if (response.status === 401 || response.status === 403) {
    // The body is {code, message} (src/auth/http-access.ts); anything else still is a refusal.
    const body = (await response.json().catch(() => ({}))) as { message?: unknown };
    throw new MetricsAccessError(response.status, typeof body.message === "string" ? body.message : "");
  }
  if (!response.ok) throw new Error(`/metrics/json answered ${response.status}`);
  return (await response.json()) as MetricsJson;
}
