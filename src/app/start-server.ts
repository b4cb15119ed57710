import { askLayerFromConfig } from "../ask/index.js";
import type { ServerConfig } from "../config/settings.js";
import { createObservability, type ObservabilityOptions } from "../observability/index.js";
import { cacheHealthSource, registerHealthService } from "../server/health/index.js";
import type { Logger } from "../server/logger.js";
import { registerReflectionService } from "../server/reflection/index.js";
import { startSemcacheServer, type SemcacheServer } from "../server/semcache-server.js";
import { loadSemanticCache } from "./load-cache.js";
import { preflight } from "./preflight.js";

/**
 * The composition root: checks what can be checked up front, starts the
 * server with everything the configuration asks for, and loads the cache
 * behind it.
 */
export async function startServerFromConfig(
  config: ServerConfig,
  logger: Logger,
  observability: Pick<ObservabilityOptions, "namespaceLabelLimit" | "dashboardDir"> = {},
): Promise<SemcacheServer> {
  await preflight(config);
  // Metrics, the per-RPC log line, and the dashboard at /.
  const telemetry = createObservability({ ...observability, logger, logPrompts: config.logPrompts });
  let health: ReturnType<typeof registerHealthService> | undefined;
  const server = await startSemcacheServer({
    host: config.host,
    port: config.port,
    corsOrigins: config.corsOrigins,
    maxMessageBytes: config.maxMessageBytes,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger,
    loadCache: () => telemetry.track(loadSemanticCache(config, logger)),
    interceptors: telemetry.interceptors,
    extraRoutes: telemetry.routes,
    ask: askLayerFromConfig(config, logger),
    extendRoutes: (router, _service, cache) => {
      // grpc.health.v1.Health, and server reflection (v1, v1alpha) over every service on the router.
      health = registerHealthService(router, cacheHealthSource(cache));
      registerReflectionService(router);
    },
  });
  return {
    ...server,
    // Health Watch streams never end on their own: NOT_SERVING first, so they close and the drain can finish.
    close: () => {
      health?.shutdown();
      return server.close();
    },
  };
}
