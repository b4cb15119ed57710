/**
 * Which tenant the work in progress is for, without passing it through every
 * call: the tenant interceptor runs each admitted RPC inside an
 * AsyncLocalStorage context, and the shared queues (the LLM slot pool, the
 * embedder's batcher) read it where they queue. So the cache core and Ask,
 * which sit between the two, need no tenant argument.
 *
 * A tenant is the API key's id when keys are on, else the request's
 * namespace. Work outside any RPC (start-up, tests calling the core directly)
 * belongs to {@link NO_TENANT}, which is queued like any other tenant.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The tenant of work done outside an RPC. */
export const NO_TENANT = "";

/** Asked when the tenant is read: a stream's namespace is known only once its first message is. */
type TenantResolver = () => string;

const storage = new AsyncLocalStorage<TenantResolver>();

/** The tenant the current async context works for, or {@link NO_TENANT}. */
export function currentTenant(): string {
  return storage.getStore()?.() ?? NO_TENANT;
}

/** Runs `work` (and everything it starts) as `tenant`; a function is asked each time the tenant is read. */
export function runAsTenant<T>(tenant: string | TenantResolver, work: () => T): T {
  return storage.run(typeof tenant === "string" ? () => tenant : tenant, work);
}

/**
 * `source`, with each step of its iteration run as the current tenant: a
 * response stream is pulled by the transport, outside the context of the
 * call that made it, so its generator would otherwise run as no tenant.
 */
export function iterateAsCurrentTenant<T>(source: AsyncIterable<T>): AsyncIterable<T> {
  const resolver = storage.getStore();
  if (resolver === undefined) return source;
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = source[Symbol.asyncIterator]();
      const within = <R>(step: () => Promise<R>): Promise<R> => storage.run(resolver, step);
      return {
        next: (...args) => within(() => inner.next(...args)),
        return: (value?: unknown) => within(() => inner.return?.(value) ?? Promise.resolve({ done: true, value: undefined as T })),
        throw: (error?: unknown) => within(() => inner.throw?.(error) ?? Promise.reject(error)),
      };
    },
  };
}
