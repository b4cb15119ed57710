/** The embedded store: entry point for the server. */
export { DataDirError } from "./data-dir.js";
export { DEFAULT_EXACT_SCOPE_LIMIT } from "../recall.js";
export { EmbeddedStore } from "./embedded-store.js";
export type { IndexLoadReport } from "./index-loader.js";
export { DEFAULT_INDEX_PARAMS, DEFAULT_MAX_SCOPES_PER_NAMESPACE, openEmbeddedStore, type EmbeddedStoreOptions } from "./open.js";
