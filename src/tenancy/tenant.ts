/**
 * Who work is for, so that the shared queues (the LLM slot pool, the
 * embedder's batches) serve tenants in turn rather than in arrival order.
 *
 * A tenant is the API key's id when keys are on, else the request's
 * namespace. It travels explicitly with the work: in a prepared prompt
 * (`PreparedPrompt.tenant`, which the embedder is handed) and in an LLM
 * request (`LlmRequest.tenant`). It used to be ambient, in an
 * AsyncLocalStorage context, but that turns on Node's async hooks for every
 * promise the server makes (2.8% of the event loop's busy time in a CPU
 * profile of semantic lookups), and a response stream pulled by the
 * transport had to be re-entered into the context at each step.
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
