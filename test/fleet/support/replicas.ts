/**
 * A fleet for tests: `count` replicas (child processes, see replica-main.ts)
 * on one plain redis-server, sharing a key prefix and an LLM test server.
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startChildServer, type ChildServer } from "../../support/child-server.js";
import { tempDir, testEnv } from "../../support/test-server.js";

const REPLICA_MAIN = fileURLToPath(new URL("./replica-main.ts", import.meta.url));

/** Running replicas. */
export interface Replicas {
  readonly servers: readonly ChildServer[];
  /** Their base URLs, in start order. */
  readonly urls: readonly string[];
  /** SIGTERM to each, then waits for them to exit. */
  stop(): Promise<void>;
}

/** Starts `count` replicas on `redisUrl` under `keyPrefix`, with `env` on top of the test defaults. */
export async function startReplicas(count: number, redisUrl: string, keyPrefix: string, env: Record<string, string> = {}): Promise<Replicas> {
  const dirs = Array.from({ length: count }, () => tempDir("semcache-fleet-"));
  const started = await Promise.allSettled(
    dirs.map(async (dir) => startChildServer(await testEnv(dir, { SEMCACHE_REDIS_URL: redisUrl, SEMCACHE_REDIS_KEY_PREFIX: keyPrefix, ...env }), 180_000, REPLICA_MAIN)),
  );
  const servers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(
      servers.map(async (server) => {
        server.process.kill("SIGTERM");
        await server.exited;
      }),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const failed = started.find((result) => result.status === "rejected");
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  return { servers, urls: servers.map((server) => server.url), stop };
}
