/**
 * Who work is for, so that the shared queues (the LLM slot pool, the
 * embedder's batches) serve tenants in turn rather than in arrival order.
 *
 * A tenant is the API key's id when keys are on, else the request's
 * namespace. It travels explicitly with the work: in a prepared prompt
 * (`PreparedPrompt.tenant`, which the embedder is handed) and in an LLM
 * request (`LlmRequest.tenant`). It used to be ambient, in an
 * AsyncLocalStorage context, but that turns on Node's promise hooks for every
 * promise the server makes: about 5% of semantic-lookup throughput, measured
 * side by side (README, Performance).
 */
import { createContextKey } from "@connectrpc/connect";

/** The tenant of work done outside an RPC (start-up, tests calling the core directly); queued like any other. */
export const NO_TENANT = "";

/**
 * An RPC's tenant when it is not the request's namespace: the API key's id,
 * when keys are on (set by auth/tenant-interceptor.ts). Handlers pass it to
 * the core, which takes the namespace when it is undefined.
 */
export const tenantKey = createContextKey<string | undefined>(undefined, { description: "semcache tenant of an admitted call" });
