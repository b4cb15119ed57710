/** The Redis store: entry point for the server. */
export { openRedisStore, RedisStore, RedisStoreStartupError, NO_QUERY_ENGINE_MESSAGE, type RedisStoreOptions } from "./redis-store.js";
