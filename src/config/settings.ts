import { cpus, homedir } from "node:os";
import { join } from "node:path";
import { DEFAULT_GUARD_CHECKS, parseGuardSetting } from "../cache/guard/index.js";
import { DEFAULT_RECENT_EMBEDDINGS } from "../cache/recent-embeddings.js";
import { LLM_ENV } from "../llm/config.js";
import { DEFAULT_ANSWER_MATCH } from "../verify/answer-match.js";
import { boolean, integer, list, numberAbove, numberBetween, numberFrom, oneOf, text, url, type Parser } from "./parsers.js";

/** One setting: its environment variable, its default and how to parse it. */
export interface Setting<T> {
  /** Environment variable; the CLI flag is derived from it (SEMCACHE_DATA_DIR → --data-dir). */
  readonly env: string;
  /** What it does, for --help and the README. */
  readonly doc: string;
  /** Value when unset; undefined means "not set" for optional settings. */
  readonly fallback: T;
  readonly parse: Parser<NonNullable<T>>;
  /** How --help and the README show the default, when its value reads worse than the text that sets it. */
  readonly shownDefault?: string;
}

function setting<T>(env: string, fallback: NoInfer<T>, parse: Parser<T>, doc: string): Setting<T> {
  return { env, fallback: fallback as T, parse: parse as Parser<NonNullable<T>>, doc };
}

function optional<T>(env: string, parse: Parser<T>, doc: string): Setting<T | undefined> {
  return { env, fallback: undefined, parse: parse as Parser<NonNullable<T>>, doc };
}

function shownAs<T>(shownDefault: string, spec: Setting<T>): Setting<T> {
  return { ...spec, shownDefault };
}

const MiB = 1024 * 1024;

/** Every server setting. Order is the order of --help and the README table. */
export const SETTINGS = {
  host: setting("SEMCACHE_HOST", "127.0.0.1", text, "Address to listen on; 0.0.0.0 to accept other machines (set it in containers)."),
  port: setting("SEMCACHE_PORT", 8080, integer(0, 65535), "Port for Connect, gRPC and gRPC-Web, over HTTP/1.1 and cleartext HTTP/2; 0 picks a free port."),
  dataDir: setting("SEMCACHE_DATA_DIR", "./data", text, "Directory of the embedded store (SQLite + HNSW)."),
  redisUrl: optional("SEMCACHE_REDIS_URL", url("redis:", "rediss:"), "Use Redis (with the query engine) as the store instead of the embedded one."),
  redisKeyPrefix: setting("SEMCACHE_REDIS_KEY_PREFIX", "semcache:", text, "Prefix of every Redis key and index name."),
  modelDir: optional("SEMCACHE_MODEL_DIR", text, "Directory with tokenizer.json and the .onnx model; unset: download all-MiniLM-L6-v2 on first use."),
  modelBaseUrl: setting("SEMCACHE_MODEL_BASE_URL", "https://huggingface.co", url("http:", "https:"), "Where the model is downloaded from when SEMCACHE_MODEL_DIR is unset (a Hugging Face hub or a mirror)."),
  modelCacheDir: setting("SEMCACHE_MODEL_CACHE_DIR", join(homedir(), ".cache", "semcache", "models"), text, "Where downloaded models are kept (checksum-verified)."),
  threshold: setting("SEMCACHE_THRESHOLD", 0.9, numberAbove(0, 1), "Default cosine similarity for a semantic hit, in (0, 1]."),
  guard: shownAs("on", setting("SEMCACHE_GUARD", DEFAULT_GUARD_CHECKS, parseGuardSetting, "Hard-negative guard on semantic hits: on (every check but negation, which cost more than it bought on held-out prompts), all, off, or a comma-separated list of numbers, negation, antonyms, entities, direction, language, instruction (prompts the model cannot tell apart are refused even when off).")),
  maxErrorRate: optional("SEMCACHE_MAX_ERROR_RATE", numberBetween(0, 1), "Error budget: the largest share of requests that may get a wrong cached answer, in (0, 1), e.g. 0.02; semantic hits are then verified per entry (see Verified answers). Unset: the plain threshold."),
  answerMatch: setting("SEMCACHE_ANSWER_MATCH", DEFAULT_ANSWER_MATCH, numberAbove(0, 1), "Answer-embedding similarity at or above which an exploration judges a cached answer the same as the LLM's, in (0, 1]; 1: only answers equal after normalisation."),
  defaultTtlSeconds: setting("SEMCACHE_DEFAULT_TTL_SECONDS", 0, integer(0, 4294967295), "TTL of entries stored without one; 0: never expire."),
  maxPromptBytes: setting("SEMCACHE_MAX_PROMPT_BYTES", 64 * 1024, integer(1, 16 * MiB), "Largest prompt accepted, in UTF-8 bytes."),
  maxResponseBytes: setting("SEMCACHE_MAX_RESPONSE_BYTES", MiB, integer(1, 64 * MiB), "Largest response accepted by Store, in UTF-8 bytes."),
  maxMetadataEntries: setting("SEMCACHE_MAX_METADATA_ENTRIES", 64, integer(0, 10000), "Most metadata entries per cache entry."),
  maxMetadataBytes: setting("SEMCACHE_MAX_METADATA_BYTES", 16 * 1024, integer(0, 16 * MiB), "Largest metadata per entry (keys + values), in bytes."),
  maxMessageBytes: setting("SEMCACHE_MAX_MESSAGE_BYTES", 4 * MiB, integer(1024, 256 * MiB), "Largest request message on any protocol, in bytes."),
  maxJsonDepth: setting("SEMCACHE_MAX_JSON_DEPTH", 64, integer(1, 10_000), "Deepest nesting of arrays and objects in a JSON request message (checked before it is parsed); deeper: INVALID_ARGUMENT."),
  maxPendingBodyBytes: setting("SEMCACHE_MAX_PENDING_BODY_BYTES", 256 * MiB, integer(MiB, 64 * 1024 * MiB), "Most bytes of request bodies being received at once, across all calls; a call that would go over it gets RESOURCE_EXHAUSTED."),
  maxConnections: setting("SEMCACHE_MAX_CONNECTIONS", 1000, integer(1, 1_000_000), "Most open client connections (HTTP/1.1 and HTTP/2); more are closed at once. Keep it below the process's file-descriptor limit."),
  maxStreamsPerConnection: setting("SEMCACHE_MAX_STREAMS_PER_CONNECTION", 100, integer(1, 10_000), "Most concurrent calls on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)."),
  idleTimeoutMs: setting("SEMCACHE_IDLE_TIMEOUT_MS", 30_000, integer(100, 3_600_000), "How long a connection with no call in progress stays open (HTTP/2 session, HTTP/1.1 keep-alive)."),
  headersTimeoutMs: setting("SEMCACHE_HEADERS_TIMEOUT_MS", 10_000, integer(100, 600_000), "How long a client may take to send a request's headers (and a new connection its first bytes)."),
  requestTimeoutMs: setting("SEMCACHE_REQUEST_TIMEOUT_MS", 30_000, integer(100, 3_600_000), "How long a client may take to send a whole request, body included; responses (AskStream) are not limited by it."),
  maxScopesPerNamespace: setting("SEMCACHE_MAX_SCOPES_PER_NAMESPACE", 10_000, integer(0, 10_000_000), "Most scopes (distinct model and params) one namespace may hold in the embedded store; a write that would open one more answers RESOURCE_EXHAUSTED. 0: no limit."),
  hnswM: setting("SEMCACHE_HNSW_M", 16, integer(2, 512), "HNSW graph degree (M)."),
  hnswEfConstruction: setting("SEMCACHE_HNSW_EF_CONSTRUCTION", 200, integer(1, 4096), "HNSW construction beam width."),
  hnswEfSearch: setting("SEMCACHE_HNSW_EF_SEARCH", 64, integer(1, 4096), "HNSW search beam width (EF_RUNTIME)."),
  embedWorkers: setting("SEMCACHE_EMBED_WORKERS", cpus().length, integer(1, 256), "Inference worker threads, each with its own onnxruntime session (one copy of the model's weights each, about 90 MB for MiniLM-L6); up to this many batches are embedded at once."),
  embedNice: setting("SEMCACHE_EMBED_NICE", 10, integer(0, 19), "How much lower the inference workers' CPU priority is than the threads that answer requests (Linux nice increment; ignored elsewhere): with every core busy, exact hits and handing back results go first. 0: the same priority."),
  embedThreads: optional("SEMCACHE_EMBED_THREADS", integer(1, 256), "onnxruntime intra-op threads of each inference worker; unset: the number of cores divided among the workers (1 with the default workers)."),
  embedMaxBatch: setting("SEMCACHE_EMBED_MAX_BATCH", 32, integer(1, 1024), "Most texts embedded in one model run (micro-batching)."),
  embedMaxWaitMs: setting("SEMCACHE_EMBED_MAX_WAIT_MS", 1, integer(0, 1000), "Longest a text waits for others to share its model run."),
  embedMemoEntries: setting("SEMCACHE_EMBED_MEMO_ENTRIES", DEFAULT_RECENT_EMBEDDINGS, integer(0, 1_000_000), "Prompts whose embeddings are kept (least recently used out, about 1.5 KB each) so the same prompt in the same scope runs the model once: a Store after a Lookup of it, Feedback, a miss asked again. Never shared across scopes; a flush drops its namespace's. 0: off."),
  llmBaseUrl: optional(LLM_ENV.baseUrl, url("http:", "https:"), "OpenAI-compatible API that Ask calls on a miss, with the version path (e.g. http://localhost:11434/v1); unset with an API key: OpenAI's."),
  llmApiKey: optional(LLM_ENV.apiKey, text, "Bearer token for the LLM API; unset: OPENAI_API_KEY, else no Authorization header."),
  openAiApiKey: optional(LLM_ENV.openAiApiKey, text, "The LLM API key when SEMCACHE_LLM_API_KEY is unset."),
  llmModel: optional(LLM_ENV.model, text, "Model Ask uses when scope.model is empty; also the model an empty scope.model is cached under."),
  // Long answers from slow local models fit in the default; an hour is far beyond any sane answer.
  llmTimeoutMs: setting(LLM_ENV.timeoutMs, 120_000, integer(1, 3_600_000), "Deadline of one LLM call, retries and a whole stream included (DEADLINE_EXCEEDED after)."),
  // More than ten retries only prolongs an outage for the caller.
  llmMaxRetries: setting(LLM_ENV.maxRetries, 2, integer(0, 10), "Retries of an LLM call after 429, 5xx or a lost connection, with backoff (a stream only before its first token)."),
  llmMaxConcurrency: setting("SEMCACHE_LLM_MAX_CONCURRENCY", 32, integer(1, 10_000), "Most LLM calls in flight at once (identical prompts share one); more wait in a queue."),
  llmMaxQueue: setting("SEMCACHE_LLM_MAX_QUEUE", 256, integer(0, 1_000_000), "Most LLM calls waiting for a slot; beyond it, Ask answers RESOURCE_EXHAUSTED."),
  llmMaxQueuePerTenant: setting("SEMCACHE_LLM_MAX_QUEUE_PER_TENANT", 128, integer(0, 1_000_000), "Most LLM calls one tenant (API key; without keys, namespace) may have waiting; beyond it that tenant gets RESOURCE_EXHAUSTED while others still get in. At most SEMCACHE_LLM_MAX_QUEUE."),
  failOpen: setting("SEMCACHE_FAIL_OPEN", true, boolean, "When the store or embedder fails, Ask still answers from the LLM (cache_unavailable=true); false: Ask fails with the store's error."),
  apiKeysFile: optional("SEMCACHE_API_KEYS_FILE", text, "JSON file of API keys (hashed) with their roles and namespaces; reloaded on change and SIGHUP. Unset: no authentication (local use only)."),
  rateLimitRps: setting("SEMCACHE_RATE_LIMIT_RPS", 100, numberFrom(0, 1_000_000), "Requests per second per API key (token bucket), unless the key file sets the key's own; 0: unlimited. Needs API keys."),
  rateLimitBurst: setting("SEMCACHE_RATE_LIMIT_BURST", 200, integer(1, 1_000_000), "Requests an API key may make at once above its rate (the bucket's size)."),
  corsOrigins: setting("SEMCACHE_CORS_ORIGINS", [] as string[], list, "Origins allowed to call from a browser, comma-separated; * for any. Empty: same origin only."),
  allowedHosts: setting("SEMCACHE_ALLOWED_HOSTS", [] as string[], list, "Without API keys: host names (Host / :authority) served besides loopback names and SEMCACHE_HOST, comma-separated; * for any. Others get PERMISSION_DENIED (DNS rebinding)."),
  shutdownTimeoutMs: setting("SEMCACHE_SHUTDOWN_TIMEOUT_MS", 10_000, integer(0, 600_000), "How long SIGTERM waits for in-flight calls."),
  logLevel: setting("SEMCACHE_LOG_LEVEL", "info", oneOf("debug", "info", "warn", "error", "silent"), "Log level."),
  logPrompts: setting("SEMCACHE_LOG_PROMPTS", false, boolean, "Log prompt and response text instead of hashes (debugging only)."),
  metricsNamespaceLabels: setting("SEMCACHE_METRICS_NAMESPACE_LABELS", 20, integer(0, 1000), "Namespaces with a metrics label of their own (the busiest first); every other one is counted under namespace=\"other\"."),
} as const;

/** The settings' names. */
export type SettingName = keyof typeof SETTINGS;

/** The validated configuration of a server. */
export type ServerConfig = { -readonly [K in SettingName]: (typeof SETTINGS)[K]["fallback"] | ReturnType<(typeof SETTINGS)[K]["parse"]> };

/** The CLI flag of a setting: SEMCACHE_DATA_DIR → --data-dir. */
export function flagOf(name: SettingName): string {
  return `--${SETTINGS[name].env.replace(/^SEMCACHE_/, "").toLowerCase().replaceAll("_", "-")}`;
}
