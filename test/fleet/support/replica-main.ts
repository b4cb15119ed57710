/**
 * `semcache serve` for the fleet tests' child processes: the same
 * configuration (environment), composition and signal handling, with the
 * one difference that the Redis store runs on a plain redis-server (see
 * plain-redis-store.ts).
 */
import { serve } from "../../../src/cli/serve.js";
import { loadConfig } from "../../../src/config/load-config.js";
import { plainRedisStoreOpener } from "./plain-redis-store.js";

serve(loadConfig({ argv: [] }), { openStore: plainRedisStoreOpener }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`replica: cannot start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
