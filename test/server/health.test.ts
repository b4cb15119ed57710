import { rmSync } from "node:fs";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSemanticCache } from "../../src/app/load-cache.js";
import { SemanticCache } from "../../src/cache/semantic-cache.js";
import { loadConfig } from "../../src/config/load-config.js";
import type { ServerConfig } from "../../src/config/settings.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import { Health, HealthCheckResponse_ServingStatus as Status, type HealthCheckResponse } from "../../src/gen/grpc/health/v1/health_pb.js";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { cacheHealthSource, registerHealthService, type HealthServiceHandle } from "../../src/server/health/index.js";
import { createLogger } from "../../src/observability/logger.js";
import { registerReflectionService } from "../../src/server/reflection/index.js";
import { startSemcacheServer, type SemcacheServer } from "../../src/server/semcache-server.js";
import { openPlainRedisStore } from "../support/plain-redis-store.js";
import { recordingLogger } from "../support/recording-logger.js";
import { findRedisServer, RedisTestServer } from "../support/redis-server.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { tempDir, testEnv } from "../support/test-server.js";
import { toolGate } from "../support/client-tools.js";

const SERVICE = SemanticCacheService.typeName;
type HealthClient = Client<typeof Health>;

/** A deferred promise, resolved from outside. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Reads a Watch stream message by message, each within a deadline. */
function watcher(client: HealthClient, service: string) {
  const abort = new AbortController();
  const iterator = client.watch({ service }, { signal: abort.signal })[Symbol.asyncIterator]();
  return {
    async next(timeoutMs = 10_000): Promise<Status | "ended"> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no Watch message within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const result: IteratorResult<HealthCheckResponse> = await Promise.race([iterator.next(), timeout]);
        return result.done === true ? "ended" : result.value.status;
      } finally {
        clearTimeout(timer);
      }
    },
    /** Waits for `status`, skipping others (a probe may flap once while a connection is torn down). */
    async until(status: Status, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const next = await this.next(Math.max(1, deadline - Date.now()));
        if (next === status) return;
        if (next === "ended") throw new Error(`Watch ended before ${Status[status]}`);
      }
    },
    cancel: () => abort.abort(),
  };
}

const baseOptions = (config: ServerConfig) => ({
  host: "127.0.0.1",
  port: 0,
  corsOrigins: [],
  maxMessageBytes: config.maxMessageBytes,
  shutdownTimeoutMs: 2_000,
  logger: createLogger("warn"),
});

describe("health while the model loads (startSemcacheServer with a gated loadCache)", () => {
  const loading = gate();
  let config: ServerConfig;
  let dataDir: string;
  let server: SemcacheServer;
  let health: HealthServiceHandle;
  let client: HealthClient;

  beforeAll(async () => {
    dataDir = tempDir();
    config = loadConfig({ env: await testEnv(dataDir), argv: [], cwd: dataDir });
    const logger = createLogger("warn");
    server = await startSemcacheServer({
      ...baseOptions(config),
      loadCache: async () => {
        await loading.promise;
        return loadSemanticCache(config, logger);
      },
      // The same wiring as src/app/start-server.ts.
      extendRoutes: (router, _service, cache) => {
        health = registerHealthService(router, cacheHealthSource(cache));
        registerReflectionService(router);
      },
    });
    client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
  });
  afterAll(async () => {
    loading.open();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers NOT_SERVING before the model is loaded, then SERVING, and tells watchers", async () => {
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await client.check({ service: SERVICE })).status).toBe(Status.NOT_SERVING);
    // The API itself answers UNAVAILABLE meanwhile.
    const api = createClient(SemanticCacheService, createGrpcTransport({ baseUrl: server.url }));
    await expect(api.lookup({ prompt: "hello" })).rejects.toMatchObject({ code: Code.Unavailable });

    const overall = watcher(client, "");
    const perService = watcher(client, SERVICE);
    expect(await overall.next()).toBe(Status.NOT_SERVING);
    expect(await perService.next()).toBe(Status.NOT_SERVING);

    loading.open();
    await server.ready;
    expect(await overall.next()).toBe(Status.SERVING);
    expect(await perService.next()).toBe(Status.SERVING);
    overall.cancel();
    perService.cancel();

    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await client.check({ service: SERVICE })).status).toBe(Status.SERVING);
    const listed = await client.list({});
    expect(Object.fromEntries(Object.entries(listed.statuses).map(([name, value]) => [name, value.status]))).toEqual({
      "": Status.SERVING,
      [SERVICE]: Status.SERVING,
    });
  });

  it("answers over Connect and gRPC-Web too", async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    ]) {
      expect((await createClient(Health, transport).check({ service: SERVICE })).status).toBe(Status.SERVING);
    }
  });

  it("answers NOT_FOUND to Check, and SERVICE_UNKNOWN to Watch, for an unknown service", async () => {
    const error = await client.check({ service: "no.such.Service" }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    const unknown = watcher(client, "no.such.Service");
    expect(await unknown.next()).toBe(Status.SERVICE_UNKNOWN);
    // The stream stays open (nothing more to say), as the health protocol asks.
    await expect(unknown.next(700)).rejects.toThrow(/no Watch message/u);
    unknown.cancel();
  });

  it("reports NOT_SERVING and ends Watch streams on shutdown", async () => {
    const watch = watcher(client, "");
    expect(await watch.next()).toBe(Status.SERVING);
    health.shutdown();
    expect(await watch.next()).toBe(Status.NOT_SERVING);
    expect(await watch.next()).toBe("ended");
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
  });
});

describe("health with a Redis store that goes away and comes back", () => {
  const gateTools = toolGate("the Redis health test", (() => {
    try {
      findRedisServer();
      return [];
    } catch {
      return ["redis-server"];
    }
  })());
  let redis: RedisTestServer;
  let server: SemcacheServer;
  let client: HealthClient;

  beforeAll(async () => {
    if (gateTools.skip) return;
    gateTools.assertAvailable();
    redis = await RedisTestServer.start();
    const dataDir = tempDir();
    const config = loadConfig({ env: await testEnv(dataDir), argv: [], cwd: dataDir });
    rmSync(dataDir, { recursive: true, force: true });
    server = await startSemcacheServer({
      ...baseOptions(config),
      loadCache: async () => {
        const embedder = await loadOnnxEmbedder({ modelDir: await fixtureModelDir(), threads: 1 });
        const store = await openPlainRedisStore({
          url: redis.url,
          keyPrefix: "health-test:",
          modelId: embedder.modelId,
          dimension: embedder.dimension,
          index: { m: 16, efConstruction: 200, efSearch: 64 },
          // A plain redis-server has no query engine; the probe needs none.
          maxReconnectDelayMs: 200,
          logger: recordingLogger().logger,
        });
        return new SemanticCache(store, embedder, {
          defaultThreshold: config.threshold,
          defaultTtlSeconds: 0,
          maxPromptBytes: config.maxPromptBytes,
          maxResponseBytes: config.maxResponseBytes,
          maxMetadataEntries: config.maxMetadataEntries,
          maxMetadataBytes: config.maxMetadataBytes,
        });
      },
      extendRoutes: (router, _service, cache) => {
        registerHealthService(router, cacheHealthSource(cache, { probeTimeoutMs: 500 }), { probeMaxAgeMs: 100, pollIntervalMs: 100 });
      },
    });
    await server.ready;
    client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it.skipIf(gateTools.skip)("goes NOT_SERVING (gRPC) and 503 (/healthz) when Redis is lost, and SERVING when it is back", async () => {
    expect((await client.check({ service: SERVICE })).status).toBe(Status.SERVING);
    const watch = watcher(client, SERVICE);
    expect(await watch.next()).toBe(Status.SERVING);

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await redis.stop();
    await watch.until(Status.NOT_SERVING);
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    // /healthz agrees (within the second its probe result is reused).
    await expect.poll(async () => (await fetch(`${server.url}/healthz`)).status, { timeout: 5_000, interval: 100 }).toBe(503);

    await redis.restart();
    await watch.until(Status.SERVING);
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
    await expect.poll(async () => (await fetch(`${server.url}/healthz`)).status, { timeout: 5_000, interval: 100 }).toBe(200);
    watch.cancel();
  });
});
