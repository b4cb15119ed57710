/** The Redis store: entry point for the server. */
export { connectRedis, indexDefinition, initRedisStore, openRedisStore, type RedisStoreOptions } from "./open.js";
export { RedisStore } from "./redis-store.js";
export type { EntrySearch } from "./search-index.js";
export { NO_QUERY_ENGINE_MESSAGE, RedisStoreStartupError } from "./startup-error.js";
