import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.js";
import { SemanticCacheService } from "../../gen/semcache/v1/semantic_cache_pb.js";
import { HealthMonitor, type HealthMonitorOptions, type ServingStatus } from "./health-monitor.js";
import type { HealthSource } from "./health-source.js";

/** The services semcache reports on, besides "" (the server as a whole). */
export const HEALTH_SERVICES: readonly string[] = [SemanticCacheService.typeName];

function toProto(status: ServingStatus | "SERVICE_UNKNOWN"): HealthCheckResponse {
  const value = status === "SERVING" ? Status.SERVING : status === "NOT_SERVING" ? Status.NOT_SERVING : Status.SERVICE_UNKNOWN;
  return create(HealthCheckResponseSchema, { status: value });
}

/** Resolves on the next status change, or when the call ends. */
function nextChange(monitor: HealthMonitor, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const unsubscribe = monitor.subscribe(done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The handle {@link registerHealthService} returns. */
export interface HealthServiceHandle {
  readonly monitor: HealthMonitor;
  /**
   * Marks every service NOT_SERVING and ends the open Watch streams (after
   * telling them), so a draining server is not held open by watchers. Call
   * it when shutdown starts.
   */
  shutdown(): void;
}

/**
 * Registers `grpc.health.v1.Health`: Check, List and Watch over the status
 * of "" (the whole server) and "semcache.v1.SemanticCacheService".
 *
 * Check of an unknown service answers NOT_FOUND; Watch of one sends
 * SERVICE_UNKNOWN and stays open, as the health protocol says.
 */
export function registerHealthService(
  router: ConnectRouter,
  source: HealthSource,
  options: Partial<HealthMonitorOptions> = {},
): HealthServiceHandle {
  const monitor = new HealthMonitor(source, { services: options.services ?? HEALTH_SERVICES, ...options });
  router.service(Health, {
    async check(request) {
      if (!monitor.knows(request.service)) {
        throw new ConnectError(`unknown service: ${request.service}`, Code.NotFound);
      }
      return toProto(await monitor.check());
    },
    async list() {
      const status = toProto(await monitor.check());
      return { statuses: Object.fromEntries(monitor.services.map((name) => [name, status])) };
    },
    async *watch(request, context: HandlerContext) {
      const known = monitor.knows(request.service);
      let sent: ServingStatus | "SERVICE_UNKNOWN" | undefined;
      let status: ServingStatus | "SERVICE_UNKNOWN" = known ? await monitor.check() : "SERVICE_UNKNOWN";
      while (!context.signal.aborted) {
        if (status !== sent) {
          yield toProto(status);
          sent = status;
        }
        if (monitor.isShutDown) return;
        await nextChange(monitor, context.signal);
        status = known ? monitor.current : "SERVICE_UNKNOWN";
      }
      // The watcher left (Ctrl-C, a closed connection): that ends the call as canceled, not as a success or a fault.
      throw ConnectError.from(context.signal.reason ?? "the client stopped watching", Code.Canceled);
    },
  });
  return { monitor, shutdown: () => monitor.shutdown() };
}
