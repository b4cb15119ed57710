/**
 * Starts a semcache server for the observability tests the way `semcache
 * serve` does (the composition root, the fixture model, a free port), but
 * with a logger the test can read and observability options of its own.
 */
import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { startServerFromConfig } from "../../src/app/start-server.js";
import { loadConfig } from "../../src/config/load-config.js";
import type { ServerConfig } from "../../src/config/settings.js";
import type { ObservabilityOptions } from "../../src/observability/index.js";
import type { SemcacheServer } from "../../src/server/semcache-server.js";
import { tempDir, testEnv } from "./test-server.js";

/** Log lines written by the server, parsed. */
export interface CapturedLog {
  readonly lines: Record<string, unknown>[];
  /** Everything written, as text. */
  text(): string;
  /** The per-RPC lines. */
  rpcLines(): Record<string, unknown>[];
}

/** A pino logger (at `level`) writing JSON lines into memory, as the server's logger would to stderr. */
export function capturingLogger(level: string): { logger: Logger; log: CapturedLog } {
  const chunks: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = chunk.toString();
      chunks.push(text);
      for (const line of text.split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The same base fields as src/observability/logger.ts; only the destination differs.
  const logger = pino({ level, base: { service: "semcache" } }, stream);
  return {
    logger,
    log: {
      lines,
      text: () => chunks.join(""),
      rpcLines: () => lines.filter((line) => line["msg"] === "rpc"),
    },
  };
}

export interface ObservedServer {
  readonly server: SemcacheServer;
  readonly config: ServerConfig;
  readonly url: string;
  readonly log: CapturedLog;
  stop(): Promise<void>;
}

/** Starts a server and waits until it is ready. `env` adds SEMCACHE_* settings (the level too). */
export async function startObservedServer(
  options: { env?: Record<string, string>; observability?: Pick<ObservabilityOptions, "namespaceLabelLimit" | "dashboardDir"> } = {},
): Promise<ObservedServer> {
  const dataDir = tempDir("semcache-obs-");
  const config = loadConfig({ env: await testEnv(dataDir, { SEMCACHE_LOG_LEVEL: "info", ...options.env }), argv: [], cwd: dataDir });
  const { logger, log } = capturingLogger(config.logLevel);
  const server = await startServerFromConfig(config, logger, options.observability ?? {});
  await server.ready;
  return {
    server,
    config,
    url: server.url,
    log,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
