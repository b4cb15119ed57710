/**
 * API keys: a key file maps hashed keys to roles and namespaces; an
 * interceptor authenticates, rate-limits and authorizes every
 * SemanticCacheService call on every protocol; the file reloads on change
 * or SIGHUP.
 */
export { createAccessControl, type AccessControl, type AccessControlOptions } from "./access-control.js";
export { accessInterceptor, admitCall, authenticate, RETRY_AFTER_MS_HEADER, type AccessInterceptorOptions } from "./access-interceptor.js";
export { admitKeyedCalls, rejectHttp } from "./http-access.js";
export { bearerToken } from "./bearer.js";
export { KeyFileError, parseKeyFile, readKeyFile, type CompiledKey, type KeyFile, type KeyFileEntry } from "./key-file.js";
export { addKeyToFile } from "./key-file-edit.js";
export { API_KEY_PREFIX, generateApiKey, hashApiKey } from "./key-hash.js";
export { KeyRing } from "./key-ring.js";
export { authorizeMessage } from "./namespace-access.js";
export { NamespaceGrants } from "./namespace-grants.js";
export { principalKey, ROLES, type Principal, type RateLimit, type Role } from "./principal.js";
export { RateLimiter, type RateDecision, type RequestLimiter } from "./rate-limiter.js";
