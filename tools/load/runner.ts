/**
 * Carries out one call of the mix: picks its prompt (from the ledger for
 * hits, fresh for new prompts), calls the server with the client of the
 * planned protocol, judges whether the answer is the one intended, and
 * records acknowledged writes in the ledger.
 */
import { MatchKind, Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import type { CacheClient, Protocol } from "../../test/support/clients.js";
import type { Ledger } from "./ledger.js";
import { LOAD_MODEL, NAMESPACES, type OperationKind, type PlannedCall } from "./mix.js";
import { askPrompt, askRewording, missPrompt, storePrompt, storeRewording } from "./prompts.js";
import type { CallOutcome } from "./recorder.js";

/** Counters of what the answers said, beyond latency and errors. */
export interface AnswerCounts {
  /** Ask answers by source (`CACHE`, `LLM`, `COALESCED`). */
  askSources: Record<string, number>;
  /** Ask answers with `cache_unavailable` (served fail-open: the cache failed). */
  askCacheUnavailable: number;
  /** Exact Lookups or Asks of an acknowledged prompt that found nothing: a lost write (must stay 0). */
  acknowledgedNotFound: number;
  /** Replacing Stores that could not claim an entry and stored a new prompt instead. */
  replaceFallbacks: number;
}

/** A scope as the generated client takes it. */
export interface ScopeInit {
  readonly namespace: string;
  readonly model: string;
  readonly params: Record<string, string>;
}

/** The scope of every call in a namespace of the mix. */
export function scopeOf(namespace: number): ScopeInit {
  const ns = NAMESPACES[namespace]!;
  return { namespace: ns.namespace, model: LOAD_MODEL, params: { ...ns.params } };
}

/** Carries out calls of the mix against one server. */
export class MixRunner {
  private nextStore = 0;
  private nextAsk = 0;
  private nextMiss = 0;
  private nextRevision = 0;
  private counts: AnswerCounts = MixRunner.freshCounts();

  constructor(
    private readonly clients: Readonly<Record<Protocol, CacheClient>>,
    private readonly ledger: Ledger,
    private readonly random: () => number,
    private readonly callTimeoutMs: number,
  ) {}

  private static freshCounts(): AnswerCounts {
    return { askSources: {}, askCacheUnavailable: 0, acknowledgedNotFound: 0, replaceFallbacks: 0 };
  }

  /** The answer counts since the last call (or the start), and starts new ones: one set per phase. */
  takeCounts(): AnswerCounts {
    const counts = this.counts;
    this.counts = MixRunner.freshCounts();
    return counts;
  }

  /** Runs one call; never throws (a failed call is an outcome with its error). */
  async run(call: PlannedCall): Promise<CallOutcome> {
    const started = performance.now();
    // What the call turned out to be: a replacing Store with nothing to replace stores a new prompt.
    const actual = { kind: call.operation.kind };
    const outcome = (asIntended: boolean, error?: unknown): CallOutcome => ({
      kind: actual.kind,
      method: call.operation.method,
      protocol: call.protocol,
      ms: performance.now() - started,
      asIntended,
      ...(error === undefined ? {} : { error }),
    });
    try {
      return outcome(await this.dispatch(call, actual));
    } catch (error) {
      return outcome(false, error);
    }
  }

  /** Makes the call; resolves with whether the answer was the one intended. */
  private async dispatch(call: PlannedCall, actual: { kind: OperationKind }): Promise<boolean> {
    const client = this.clients[call.protocol];
    const scope = scopeOf(call.namespace);
    const options = { timeoutMs: this.callTimeoutMs };
    switch (call.operation.kind) {
      case "lookup-exact": {
        const entry = this.ledger.pick(call.namespace, this.random);
        if (entry === undefined) throw new Error(`nothing acknowledged in namespace ${scope.namespace} yet`);
        const r = await client.lookup({ prompt: entry.prompt, scope }, options);
        if (!r.hit) this.counts.acknowledgedNotFound++;
        return r.hit && r.kind === MatchKind.EXACT;
      }
      case "lookup-semantic": {
        const entry = this.ledger.pick(call.namespace, this.random);
        if (entry === undefined) throw new Error(`nothing acknowledged in namespace ${scope.namespace} yet`);
        const r = await client.lookup({ prompt: entry.rewording, scope }, options);
        return r.hit && r.kind === MatchKind.SEMANTIC;
      }
      case "lookup-miss": {
        const r = await client.lookup({ prompt: missPrompt(this.nextMiss++), scope }, options);
        return !r.hit;
      }
      case "store-new":
        return this.storeNew(call, client, scope, options);
      case "store-replace": {
        const claim = this.ledger.claimForReplace(call.namespace, this.random);
        if (claim === undefined) {
          this.counts.replaceFallbacks++;
          actual.kind = "store-new";
          return this.storeNew(call, client, scope, options);
        }
        const response = `Revised answer ${this.nextRevision++} to: ${claim.prompt}`;
        try {
          const r = await client.store({ prompt: claim.prompt, response, scope }, options);
          this.ledger.release(claim, response, r.id);
          return r.replaced;
        } catch (error) {
          this.ledger.release(claim, response, undefined);
          throw error;
        }
      }
      case "ask-hit-exact":
      case "ask-hit-semantic": {
        const entry = this.ledger.pick(call.namespace, this.random);
        if (entry === undefined) throw new Error(`nothing acknowledged in namespace ${scope.namespace} yet`);
        const exact = call.operation.kind === "ask-hit-exact";
        const r = await client.ask({ prompt: exact ? entry.prompt : entry.rewording, scope }, options);
        this.countAsk(r.source, r.cacheUnavailable);
        if (exact && r.source !== Source.CACHE) this.counts.acknowledgedNotFound++;
        return r.source === Source.CACHE;
      }
      case "ask-miss": {
        const prompt = askPrompt(this.nextAsk++);
        const r = await client.ask({ prompt, scope }, options);
        this.countAsk(r.source, r.cacheUnavailable);
        // Only an LLM answer is this prompt's own entry; a coalesced one is another prompt's.
        if (r.source === Source.LLM && r.entryId !== "") {
          this.ledger.acknowledge("ask", call.namespace, prompt, askRewording(prompt), r.entryId, r.response);
        }
        return r.source === Source.LLM;
      }
    }
  }

  /** A Store of a new prompt; true when the server said it replaced nothing. */
  private async storeNew(call: PlannedCall, client: CacheClient, scope: ScopeInit, options: { timeoutMs: number }): Promise<boolean> {
    const k = this.nextStore++;
    const prompt = storePrompt(k);
    const response = `Answer ${k} to: ${prompt}`;
    const r = await client.store({ prompt, response, scope }, options);
    this.ledger.acknowledge("store", call.namespace, prompt, storeRewording(prompt), r.id, response);
    return !r.replaced;
  }

  private countAsk(source: Source, cacheUnavailable: boolean): void {
    const name = Source[source] ?? String(source);
    this.counts.askSources[name] = (this.counts.askSources[name] ?? 0) + 1;
    if (cacheUnavailable) this.counts.askCacheUnavailable++;
  }
}

