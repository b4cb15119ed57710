import type { Interceptor } from "@connectrpc/connect";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import type { Logger } from "../observability/logger.js";
import { accessInterceptor } from "./access-interceptor.js";
import type { Admit } from "../server/http/edge-options.js";
import { admitKeyedCalls, rejectHttp } from "./http-access.js";
import { readKeyFile } from "./key-file.js";
import { watchFile } from "./key-file-watcher.js";
import { KeyRing } from "./key-ring.js";
import type { RateLimit, Role } from "./principal.js";
import { RateLimiter, type RequestLimiter } from "./rate-limiter.js";

/** What API-key access control is built from. */
export interface AccessControlOptions {
  /** The key file (SEMCACHE_API_KEYS_FILE). */
  readonly keyFile: string;
  /** Limit of keys without their own (SEMCACHE_RATE_LIMIT_RPS / _BURST). */
  readonly defaultRateLimit: RateLimit;
  readonly logger: Logger;
  /** Reload when the file changes; default true. */
  readonly watch?: boolean;
  /** Where requests' tokens are taken; default: a limiter of this process alone (a fleet passes its own). */
  readonly limiter?: RequestLimiter;
}

/** API keys in force, with what the server needs to enforce them. */
export interface AccessControl {
  readonly keys: KeyRing;
  /** Authenticates and rate-limits SemanticCacheService calls from their headers, before their bodies are read. */
  readonly admit: Admit;
  /** Guards SemanticCacheService; goes after the logging interceptor, so rejected calls are logged too. */
  readonly interceptor: Interceptor;
  /** Answers a plain HTTP request whose key lacks one of `roles` (401 / 403) and returns true; false lets it through. */
  rejectHttp(roles: readonly Role[], req: AnyRequest, res: AnyResponse): boolean;
  /**
   * Reads the key file again and puts its keys in force. A file that does not
   * parse changes nothing: the keys in force stay, and the error is logged
   * and returned as false.
   */
  reload(): Promise<boolean>;
  /** Stops watching the file. */
  close(): void;
}

/**
 * Loads the key file (a bad one stops the server at start, naming the key and
 * field) and reloads it on change.
 */
export async function createAccessControl(options: AccessControlOptions): Promise<AccessControl> {
  const { logger } = options;
  const keys = new KeyRing(await readKeyFile(options.keyFile));
  const limiter = options.limiter ?? new RateLimiter();
  logger.info({ keyFile: options.keyFile, keys: keys.size }, "API keys on");
  let reloading = Promise.resolve(true);
  const reload = (): Promise<boolean> => {
    // One read at a time, in order: the last reload always reads the newest file.
    reloading = reloading.then(async () => {
      try {
        const loaded = await readKeyFile(options.keyFile);
        keys.replace(loaded);
        limiter.retain(new Set(loaded.map((key) => key.principal.keyId)));
        logger.info({ keyFile: options.keyFile, keys: loaded.length }, "API keys reloaded");
        return true;
      } catch (error) {
        logger.error({ keyFile: options.keyFile, keysInForce: keys.size }, `API key file not reloaded, the keys in force stay: ${(error as Error).message}`);
        return false;
      }
    });
    return reloading;
  };
  const watcher = options.watch === false ? undefined : watchFile(options.keyFile, () => void reload());
  const checks = { keys, limiter, defaultRateLimit: options.defaultRateLimit };
  return {
    keys,
    admit: admitKeyedCalls(checks),
    interceptor: accessInterceptor(checks),
    rejectHttp: (roles, req, res) => rejectHttp(keys, roles, req, res),
    reload,
    close: () => watcher?.close(),
  };
}
