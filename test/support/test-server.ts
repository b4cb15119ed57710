import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServerFromConfig, type ConfiguredServer, type ServerParts } from "../../src/app/start-server.js";
import { loadConfig } from "../../src/config/load-config.js";
import type { ServerConfig } from "../../src/config/settings.js";
import { createLogger } from "../../src/observability/logger.js";
import { fixtureModelDir } from "./fixture-model.js";

/** A server on a free loopback port with the fixture model and a temporary data directory. */
export interface TestServer {
  readonly server: ConfiguredServer;
  readonly config: ServerConfig;
  readonly url: string;
  /** Stops the server and removes its data directory (unless `keepData`). */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Environment for a test server: fixture model, free port, one embedding thread per worker. */
export async function testEnv(dataDir: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    SEMCACHE_MODEL_DIR: await fixtureModelDir(),
    SEMCACHE_DATA_DIR: dataDir,
    SEMCACHE_PORT: "0",
    SEMCACHE_HOST: "127.0.0.1",
    SEMCACHE_EMBED_WORKERS: "1",
    SEMCACHE_EMBED_THREADS: "1",
    SEMCACHE_LOG_LEVEL: "warn",
    ...extra,
  };
}

/** A fresh temporary directory. */
export function tempDir(prefix = "semcache-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts an in-process server the way `semcache serve` does, and waits until it is ready. */
export async function startTestServer(options: { env?: Record<string, string>; dataDir?: string; parts?: ServerParts } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({ env: await testEnv(dataDir, options.env), argv: [], cwd: dataDir });
  const server = await startServerFromConfig(config, createLogger(config.logLevel), options.parts);
  await server.ready;
  return {
    server,
    config,
    url: server.url,
    async stop(stopOptions = {}) {
      await server.close();
      if (stopOptions.keepData !== true) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
