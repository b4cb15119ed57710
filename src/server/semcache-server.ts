import { setMaxListeners } from "node:events";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { NotReadyError } from "../cache/errors.js";
import type { SemanticCache } from "../cache/semantic-cache.js";
import { errorMappingInterceptor } from "./api/errors.js";
import type { CacheProvider } from "../cache/cache-provider.js";
import { registerSemanticCacheService, semanticCacheService, type SemanticCacheServiceImpl } from "./api/semantic-cache-service.js";
import { listenOnePort } from "./http/graceful-http.js";
import type { BodyBudget } from "./http/body-budget.js";
import type { CorsAdditions } from "./http/cors.js";
import type { Admit, ConnectionLimits } from "./http/edge-options.js";
import { createRequestHandler, type AnyRequest, type AnyResponse } from "./http/request-handler.js";
import type { Logger } from "../observability/logger.js";
import { storeAnswering } from "./health/index.js";

/** What a server is started with. */
export interface SemcacheServerOptions {
  readonly host: string;
  readonly port: number;
  readonly corsOrigins: readonly string[];
  /** Headers of `extraRoutes` (the OpenAI endpoint) that CORS must also allow and expose. */
  readonly corsAdditions?: CorsAdditions;
  readonly maxMessageBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly logger: Logger;
  /** Loads the model and opens the store; the server answers NOT_SERVING until it resolves. */
  readonly loadCache: () => Promise<SemanticCache>;
  /** While loading: the step in progress, for /healthz. */
  readonly loadingStatus?: () => string | undefined;
  /** Builds Ask and AskStream over the cache; without it they answer UNIMPLEMENTED. */
  readonly ask?: (cache: CacheProvider) => Pick<SemanticCacheServiceImpl, "ask" | "askStream">;
  /** Adds services beyond SemanticCacheService (reflection, health). */
  readonly extendRoutes?: (router: ConnectRouter, service: SemanticCacheServiceImpl, cache: () => SemanticCache) => void;
  /** Plain-HTTP routes tried before the RPC routes; return true when handled. */
  readonly extraRoutes?: (req: AnyRequest, res: AnyResponse) => boolean;
  /**
   * Wrap every RPC of every service on the router (logging, metrics), first
   * one outermost. Each sees what the calls inside it throw already mapped
   * to ConnectErrors, and may throw SemcacheErrors itself.
   */
  readonly interceptors?: readonly Interceptor[];
  /** Limits and admission at the HTTP edge (see server/http/edge-options.ts); default: the built-in limits, everyone admitted. */
  readonly edge?: { readonly limits?: ConnectionLimits; readonly maxJsonDepth?: number; readonly maxPendingBodyBytes?: number; readonly bodyBudget?: BodyBudget; readonly admit?: Admit };
}

/** A running semcache server. */
export interface SemcacheServer {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly port: number;
  /** Resolves when the model and store are loaded; rejects if loading fails. */
  readonly ready: Promise<SemanticCache>;
  /** Graceful shutdown: stop accepting, finish in-flight calls, close the store and the model. */
  close(): Promise<void>;
}

/**
 * Starts listening at once (so health checks can see the server load), then
 * loads the cache; RPCs before that answer UNAVAILABLE.
 */
export async function startSemcacheServer(options: SemcacheServerOptions): Promise<SemcacheServer> {
  const { logger } = options;
  let cache: SemanticCache | undefined;
  const current = (): SemanticCache => {
    if (cache === undefined) throw new NotReadyError("semcache is still loading its model and store; retry shortly");
    return cache;
  };
  const shutdown = new AbortController();
  // connect-node adds one listener per in-flight call to this signal; hundreds in flight is normal load, not a leak.
  setMaxListeners(0, shutdown.signal);
  const service: SemanticCacheServiceImpl = { ...semanticCacheService(current), ...options.ask?.(current) };
  const mapErrors = errorMappingInterceptor((error) => logger.error({ err: error }, "unexpected error in an RPC"));
  const handler = createRequestHandler({
    routes: (plainRouter) => {
      const router = withInterceptors(plainRouter, options.interceptors ?? [], mapErrors);
      options.extendRoutes?.(router, service, current);
      registerSemanticCacheService(router, service);
    },
    corsOrigins: options.corsOrigins,
    ...(options.corsAdditions === undefined ? {} : { corsAdditions: options.corsAdditions }),
    maxMessageBytes: options.maxMessageBytes,
    shutdownSignal: shutdown.signal,
    isReady: () => cache !== undefined && storeAnswering(cache),
    ...(options.loadingStatus === undefined ? {} : { loadingStatus: options.loadingStatus }),
    ...(options.extraRoutes === undefined ? {} : { extraRoutes: options.extraRoutes }),
    ...options.edge,
  });
  const http = await listenOnePort(handler, options.host, options.port, options.edge?.limits);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${http.port}`;
  logger.info({ url }, "listening (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c)");

  const ready = options.loadCache().then((loaded) => {
    cache = loaded;
    const { modelId, storeKind } = loaded.describe();
    logger.info({ model: modelId, store: storeKind }, "ready");
    return loaded;
  });
  // The caller decides what a failed load means; this only keeps it from being unhandled.
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  return {
    url,
    port: http.port,
    ready,
    close() {
      closing ??= (async () => {
        logger.info({ inFlight: http.inFlight() }, "shutting down");
        // Calls that outlive the drain end with UNAVAILABLE (retry elsewhere), not a bare closed connection.
        await http.drainAndClose(options.shutdownTimeoutMs, () =>
          shutdown.abort(new ConnectError("semcache is shutting down: the call outlived SEMCACHE_SHUTDOWN_TIMEOUT_MS", Code.Unavailable)),
        );
        // Only now: in-flight calls, streams included, had their chance to finish.
        shutdown.abort();
        const loaded = await ready.catch(() => undefined);
        await loaded?.close();
        logger.info("stopped");
      })();
      return closing;
    },
  };
}

/**
 * A router that adds `interceptors` to every service and method registered
 * through it, with `mapErrors` inside each of them and innermost: whatever a
 * handler or an interceptor throws is mapped once, in one place, before the
 * interceptor outside it (the RPC log and metrics) sees it.
 */
function withInterceptors(router: ConnectRouter, interceptors: readonly Interceptor[], mapErrors: Interceptor): ConnectRouter {
  const chain = interceptors.length === 0 ? [mapErrors] : interceptors.flatMap((interceptor) => [interceptor, mapErrors]);
  const merge = (options: Partial<UniversalHandlerOptions> | undefined): Partial<UniversalHandlerOptions> => ({
    ...options,
    interceptors: [...chain, ...(options?.interceptors ?? [])],
  });
  const wrapped: ConnectRouter = {
    handlers: router.handlers,
    service(service, implementation, options) {
      router.service(service, implementation, merge(options));
      return wrapped;
    },
    rpc(method, impl, options) {
      router.rpc(method, impl, merge(options));
      return wrapped;
    },
  };
  return wrapped;
}
