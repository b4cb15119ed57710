/**
 * The call mix of the load test: which operations, in what proportions, over
 * which namespaces and wire protocols. Every choice is drawn from a seeded
 * PRNG, so a run's sequence of operation kinds is reproducible.
 */
import type { Protocol } from "../../test/support/clients.js";

/** The RPCs the load test calls. */
export type Method = "Lookup" | "Store" | "Ask";

/** What one call of the mix tries to do. */
export type OperationKind =
  | "lookup-exact"
  | "lookup-semantic"
  | "lookup-miss"
  | "store-new"
  | "store-replace"
  | "ask-hit-exact"
  | "ask-hit-semantic"
  | "ask-miss";

/** One line of the mix. */
export interface Operation {
  readonly kind: OperationKind;
  readonly method: Method;
  /** Share of the calls, in percent; the shares add up to 100. */
  readonly percent: number;
  /** What the call sends, and what it should get back ("as intended"). */
  readonly description: string;
}

/** The mix. Lookup 55%, Store 20%, Ask 25%; about two calls in three need an embedding. */
export const MIX: readonly Operation[] = [
  { kind: "lookup-exact", method: "Lookup", percent: 25, description: "a prompt stored (and acknowledged) earlier in the namespace: an exact hit" },
  { kind: "lookup-semantic", method: "Lookup", percent: 15, description: "a rewording of a stored prompt: a semantic hit" },
  { kind: "lookup-miss", method: "Lookup", percent: 15, description: "a cooking or garden question, never stored: a miss" },
  { kind: "store-new", method: "Store", percent: 16, description: "a new prompt: `replaced: false`" },
  { kind: "store-replace", method: "Store", percent: 4, description: "a stored prompt with a new answer (no other Store of it in flight): `replaced: true`" },
  { kind: "ask-hit-exact", method: "Ask", percent: 8, description: "a prompt stored or asked earlier: answered from the cache" },
  { kind: "ask-hit-semantic", method: "Ask", percent: 7, description: "a rewording of a prompt stored or asked earlier: answered from the cache" },
  { kind: "ask-miss", method: "Ask", percent: 10, description: "a new question: answered by the loopback LLM, then stored" },
];

/** A namespace of the load test and the scope every call in it uses. */
export interface LoadNamespace {
  readonly namespace: string;
  readonly params: Readonly<Record<string, string>>;
  /** Share of the calls, in percent. */
  readonly percent: number;
}

/** The model of every scope (the loopback LLM serves any model name). */
export const LOAD_MODEL = "test-model";

/** Four tenants of unequal size; one has scope params (they are sent to the LLM too), one a `/` in its name. */
export const NAMESPACES: readonly LoadNamespace[] = [
  { namespace: "load-tenant-a", params: {}, percent: 40 },
  { namespace: "load-tenant-b", params: { temperature: "0" }, percent: 30 },
  { namespace: "load-tenant-c", params: {}, percent: 20 },
  { namespace: "load/tenant-d", params: {}, percent: 10 },
];

/** How often each client protocol is used, in percent. */
export const PROTOCOL_MIX: readonly { readonly protocol: Protocol; readonly percent: number }[] = [
  { protocol: "grpc", percent: 40 },
  { protocol: "connect-h2", percent: 20 },
  { protocol: "connect-h1", percent: 20 },
  { protocol: "grpc-web", percent: 20 },
];

/** Picks from weighted items with a uniform draw in [0, 1). */
function weighted<T extends { readonly percent: number }>(items: readonly T[], draw: number): T {
  let left = draw * 100;
  for (const item of items) {
    left -= item.percent;
    if (left < 0) return item;
  }
  return items.at(-1)!;
}

/** One call of the mix, before its prompt is chosen. */
export interface PlannedCall {
  readonly operation: Operation;
  /** Index into NAMESPACES. */
  readonly namespace: number;
  readonly protocol: Protocol;
}

/** The next call of the mix, from three draws of `random`. */
export function planCall(random: () => number): PlannedCall {
  const operation = weighted(MIX, random());
  const ns = weighted(NAMESPACES, random());
  const { protocol } = weighted(PROTOCOL_MIX, random());
  return { operation, namespace: NAMESPACES.indexOf(ns), protocol };
}

/** The methods of the mix, in report order. */
export const METHODS: readonly Method[] = ["Lookup", "Store", "Ask"];
