import type { SemanticCache } from "./semantic-cache.js";

/**
 * Gives a caller the cache once it is ready; throws NotReadyError before.
 * The server loads the cache after it starts listening, so the API and Ask
 * hold this rather than the cache itself.
 */
export type CacheProvider = () => SemanticCache;
