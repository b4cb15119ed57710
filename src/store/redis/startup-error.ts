import { StartupError } from "../../errors/index.js";

/** What the store refuses to start with, in so many words. */
export const NO_QUERY_ENGINE_MESSAGE = "this Redis has no query engine: use redis/redis-stack-server or Redis 8";

/** Thrown by `openRedisStore` when Redis is reachable but unfit (no query engine, an incompatible index). */
export class RedisStoreStartupError extends StartupError {
  override readonly name = "RedisStoreStartupError";
}
