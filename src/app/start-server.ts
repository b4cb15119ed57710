import { createAskLayer } from "../ask/index.js";
import type { SemanticCache } from "../cache/semantic-cache.js";
import { llmConfigFromSettings } from "../llm/index.js";
import { OPENAI_CORS, openAiRoutes, openAiRpcRecord, Upstream } from "../openai/index.js";
import { createAccessControl, type AccessControl } from "../auth/index.js";
import type { ServerConfig } from "../config/settings.js";
import { fleetFromConfig } from "../fleet/index.js";
import { createObservability, METRICS_PATHS, type ObservabilityOptions } from "../observability/index.js";
import { cacheHealthSource, registerHealthService } from "../server/health/index.js";
import { admitAllowedHosts, AllowedHosts } from "../server/http/allowed-hosts.js";
import { BodyBudget } from "../server/http/body-budget.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import type { Logger } from "../observability/logger.js";
import { registerReflectionService } from "../server/reflection/index.js";
import { startSemcacheServer, type SemcacheServer } from "../server/semcache-server.js";
import { tenantInterceptor } from "../auth/tenant-interceptor.js";
import { askPartsFromConfig } from "./ask-from-config.js";
import { loadSemanticCache } from "./load-cache.js";
import { LoadProgress } from "./load-progress.js";
import type { StoreOpener } from "./open-store.js";
import { preflight } from "./preflight.js";

/** A server started from a configuration. */
export interface ConfiguredServer extends SemcacheServer {
  /** Reads the API key file again (SIGHUP); false when it did not parse (the keys in force stay), or keys are off. */
  reloadKeys(): Promise<boolean>;
}

/** What a server is composed of besides its configuration; every part has a production default. */
export interface ServerParts extends Pick<ObservabilityOptions, "namespaceLabelLimit" | "dashboardDir"> {
  /** Opens the store once the model is loaded; default: the one the configuration selects. */
  readonly openStore?: StoreOpener;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * The composition root: checks what can be checked up front, starts the
 * server with everything the configuration asks for, and loads the cache
 * behind it.
 */
export async function startServerFromConfig(
  config: ServerConfig,
  logger: Logger,
  { openStore, ...observability }: ServerParts = {},
): Promise<ConfiguredServer> {
  await preflight(config);
  // With a Redis store, the replicas on it act as one cache (src/fleet); undefined for a lone server.
  const fleet = fleetFromConfig(config, logger);
  // A bad key file stops the server here, before it listens.
  const access: AccessControl | undefined =
    config.apiKeysFile === undefined
      ? undefined
      : await createAccessControl({
          keyFile: config.apiKeysFile,
          defaultRateLimit: { requestsPerSecond: config.rateLimitRps, burst: config.rateLimitBurst },
          logger,
          ...(fleet === undefined ? {} : { limiter: fleet.limiter }),
        }).catch(async (error: unknown) => {
          await fleet?.close();
          throw error;
        });
  if (access === undefined && !LOOPBACK_HOSTS.has(config.host)) {
    logger.warn({ host: config.host }, "serving other machines without API keys: anyone who can connect can read and write every namespace (set SEMCACHE_API_KEYS_FILE); only loopback names, this address and SEMCACHE_ALLOWED_HOSTS are answered");
  }
  // Metrics, the per-RPC log line, and the dashboard at /.
  const telemetry = createObservability({ namespaceLabelLimit: config.metricsNamespaceLabels, ...observability, logger, logPrompts: config.logPrompts });
  const routes = (req: AnyRequest, res: AnyResponse): boolean => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    // Metrics carry every namespace's name and counts: operators' eyes only.
    if (access !== undefined && METRICS_PATHS.includes(path) && access.rejectHttp(["admin", "metrics"], req, res)) return true;
    return telemetry.routes(req, res);
  };
  let health: ReturnType<typeof registerHealthService> | undefined;
  // One Ask engine behind Ask, AskStream and /v1/chat/completions: they share entries and calls in flight.
  const ask = askPartsFromConfig(config, logger, fleet?.flights);
  let cache: (() => SemanticCache) | undefined;
  // One bound on bodies being received, for the RPCs and /v1/chat/completions alike.
  const bodyBudget = new BodyBudget(config.maxPendingBodyBytes);
  const openai = openAiRoutes({
    engine: ask.engine,
    llm: ask.options.llm,
    slots: ask.slots,
    cache: () => (cache as () => SemanticCache)(),
    upstream: new Upstream(llmConfigFromSettings(config)),
    access,
    body: { maxBytes: config.maxMessageBytes, maxJsonDepth: config.maxJsonDepth, budget: bodyBudget },
    logError: (error) => logger.error({ err: error }, "unexpected error in the OpenAI endpoint"),
    onCall: (call) => telemetry.record(openAiRpcRecord(call)),
  });
  const progress = new LoadProgress(logger);
  const server = await startSemcacheServer({
    host: config.host,
    port: config.port,
    corsOrigins: config.corsOrigins,
    corsAdditions: OPENAI_CORS,
    maxMessageBytes: config.maxMessageBytes,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger,
    loadCache: () =>
      telemetry.track(
        loadSemanticCache(
          config,
          logger,
          openStore,
          { cache: telemetry.metrics.cacheObserver, embedder: telemetry.metrics.embedderObserver, ...(fleet === undefined ? {} : { sharedCounters: fleet.counters }) },
          progress,
        ),
      ),
    loadingStatus: () => progress.status,
    // Logging first, so calls the access check refuses are logged and counted too; tenancy last: reaching it means admitted.
    interceptors: [...telemetry.interceptors, ...(access === undefined ? [] : [access.interceptor]), tenantInterceptor()],
    extraRoutes: (req, res) => openai(req, res) || routes(req, res),
    edge: {
      limits: {
        maxConnections: config.maxConnections,
        maxStreamsPerConnection: config.maxStreamsPerConnection,
        idleTimeoutMs: config.idleTimeoutMs,
        headersTimeoutMs: config.headersTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
      },
      maxJsonDepth: config.maxJsonDepth,
      bodyBudget,
      // With keys, the key is checked before the body is read; without, only the server's own host names are
      // served (DNS rebinding): a key is what a rebinding page lacks, so a keyed server needs no Host check.
      admit: access?.admit ?? admitAllowedHosts(new AllowedHosts(config.host, config.allowedHosts)),
    },
    ask: createAskLayer(ask.options, ask.engine),
    extendRoutes: (router, _service, current) => {
      cache = current;
      // grpc.health.v1.Health, and server reflection (v1, v1alpha) over every service on the router.
      health = registerHealthService(router, cacheHealthSource(current));
      registerReflectionService(router);
    },
  }).catch(async (error: unknown) => {
    await fleet?.close();
    throw error;
  });
  return {
    ...server,
    // Health Watch streams never end on their own: NOT_SERVING first, so they close and the drain can finish.
    close: () => {
      health?.shutdown();
      access?.close();
      return server.close().finally(() => fleet?.close());
    },
    reloadKeys: () => access?.reload() ?? Promise.resolve(false),
  };
}
