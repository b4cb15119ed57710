/**
 * Observability: Prometheus metrics (/metrics, /metrics/json), one JSON log
 * line per RPC, and the dashboard's static files, wired into the server by
 * the composition root through the server's `interceptors`, `extraRoutes`
 * and `loadCache` options.
 */
import type { ServerResponse } from "node:http";
import type { Interceptor } from "@connectrpc/connect";
import type { SemanticCache } from "../cache/semantic-cache.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import type { Logger } from "./logger.js";
import { SemcacheMetrics } from "./metrics.js";
import { metricNamespace } from "./rpc-facts.js";
import { rpcRecordInterceptor, type RpcRecord } from "./rpc-interceptor.js";
import { rpcLogSink } from "./rpc-log.js";
import { defaultDashboardDir, staticFiles } from "./static-files.js";

export { SemcacheMetrics, COUNTER_METRICS, CACHE_ERROR_KIND, quantile, type MetricsJson, type RpcOutcome } from "./metrics.js";
export { NamespaceLabels, OTHER_NAMESPACES, DEFAULT_NAMESPACE_LABEL_LIMIT } from "./namespace-labels.js";
export { rpcRecordInterceptor, type RpcRecord } from "./rpc-interceptor.js";
export { rpcLogFields, rpcLogSink, textHash } from "./rpc-log.js";
export { staticFiles, defaultDashboardDir, CONTENT_TYPES } from "./static-files.js";

/** Codes of calls the access check refused (a stream's namespace is checked after the call was admitted). */
const ACCESS_DENIALS = new Set(["unauthenticated", "permission_denied"]);

/** The paths of the metrics endpoints (Prometheus text, and JSON for the dashboard). */
export const METRICS_PATHS: readonly string[] = ["/metrics", "/metrics/json"];

/** What observability is built from. */
export interface ObservabilityOptions {
  readonly logger: Logger;
  /** SEMCACHE_LOG_PROMPTS: log prompt and response text, not only their hashes. */
  readonly logPrompts: boolean;
  /** Namespaces with a metric label of their own (the rest are "other"); default 20. */
  readonly namespaceLabelLimit?: number;
  /** Where the built dashboard is; default dashboard/dist of this checkout. */
  readonly dashboardDir?: string;
}

/** The pieces the server is started with. */
export interface Observability {
  readonly metrics: SemcacheMetrics;
  /** Logs and counts a call that no interceptor sees (the plain-HTTP OpenAI endpoint), as the interceptor does an RPC. */
  readonly record: (record: RpcRecord) => void;
  /** The per-RPC interceptor (log line and RPC metrics). */
  readonly interceptors: Interceptor[];
  /** GET /metrics, /metrics/json and the dashboard's files. */
  readonly routes: (req: AnyRequest, res: AnyResponse) => boolean;
  /** Passes the cache loader's result through, attaching the metrics to the cache (or marking the load failed). */
  track(loading: Promise<SemanticCache>): Promise<SemanticCache>;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const metrics = new SemcacheMetrics(options.namespaceLabelLimit === undefined ? {} : { namespaceLabelLimit: options.namespaceLabelLimit });
  const log = rpcLogSink(options.logger, { logPrompts: options.logPrompts });
  const record = (record: RpcRecord): void => {
    metrics.recordRpc({
      service: record.service,
      method: record.method,
      code: record.code,
      seconds: record.ms / 1000,
      // A refused call's namespace is only what the caller claimed (a made-up one costs nothing to send): no label of its own.
      namespace: record.admitted && !ACCESS_DENIALS.has(record.code) ? metricNamespace(record.facts) : "",
    });
    log(record);
  };
  const interceptor = rpcRecordInterceptor(record);
  const dashboard = staticFiles(options.dashboardDir ?? defaultDashboardDir());

  const send = (req: AnyRequest, res: AnyResponse, render: () => Promise<{ type: string; body: string }>): void => {
    const response = res as ServerResponse;
    render().then(
      ({ type, body }) => {
        response.writeHead(200, { "content-type": type, "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
        response.end(req.method === "HEAD" ? undefined : body);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, "could not render the metrics");
        if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        response.end("could not render the metrics (see the server log)");
      },
    );
  };

  return {
    metrics,
    interceptors: [interceptor],
    record,
    routes(req, res) {
      const path = (req.url ?? "/").split("?", 1)[0];
      const readable = req.method === "GET" || req.method === "HEAD";
      if (readable && path === "/metrics") {
        send(req, res, async () => ({ type: metrics.contentType, body: await metrics.text() }));
        return true;
      }
      if (readable && path === "/metrics/json") {
        send(req, res, async () => ({ type: "application/json", body: JSON.stringify(await metrics.json()) }));
        return true;
      }
      return dashboard(req, res);
    },
    track(loading) {
      return loading.then(
        (cache) => {
          metrics.attach(cache);
          return cache;
        },
        (error: unknown) => {
          metrics.loadFailed();
          throw error;
        },
      );
    },
  };
}
