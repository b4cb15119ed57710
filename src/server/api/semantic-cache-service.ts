import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import type { CacheProvider } from "../../cache/cache-provider.js";
import {
  FeedbackResponseSchema,
  FlushResponseSchema,
  IndexParametersSchema,
  ListEntriesResponseSchema,
  LookupResponseSchema,
  MatchKind,
  SemanticCacheService,
  StatsResponseSchema,
  StoreResponseSchema,
} from "../../gen/semcache/v1/semantic_cache_pb.js";
import { tenantKey } from "../../tenancy/tenant.js";
import { JSON_OPTIONS } from "../http/request-handler.js";
import { entryToProto, expiryToProto, scopeFromProto } from "./convert.js";

/** ListEntries' page size when the request sets none, and its largest. */
const LIST_DEFAULT_LIMIT = 20;
const LIST_MAX_LIMIT = 100;

/** The implementation of SemanticCacheService over the cache core. */
export type SemanticCacheServiceImpl = Omit<ServiceImpl<typeof SemanticCacheService>, "ask" | "askStream"> &
  Partial<Pick<ServiceImpl<typeof SemanticCacheService>, "ask" | "askStream">>;

/**
 * Implements Lookup, Store, Stats, Flush, ListEntries and Feedback over the cache core.
 * Ask and AskStream are added by the Ask layer when an LLM is configured;
 * until then they answer UNIMPLEMENTED. Errors are left to the one mapping
 * the server installs around every method (errors.ts).
 */
export function semanticCacheService(cache: CacheProvider): SemanticCacheServiceImpl {
  return {
    async lookup(req, context) {
      const c = cache();
      const result = await c.lookup({
        prompt: req.prompt,
        scope: scopeFromProto(req.scope),
        minSimilarity: req.minSimilarity,
        maxErrorRate: req.maxErrorRate,
        tenant: context.values.get(tenantKey),
      });
      if (!result.hit) {
        const uncertain = result.uncertain;
        return create(LookupResponseSchema, {
          hit: false,
          similarity: result.similarity,
          threshold: result.threshold,
          ...(uncertain === undefined
            ? {}
            : { uncertain: true, candidate: entryToProto(uncertain.entry, c.learnedBoundary(uncertain.entry)), candidateSimilarity: uncertain.similarity }),
        });
      }
      return create(LookupResponseSchema, {
        hit: true,
        kind: result.kind === "exact" ? MatchKind.EXACT : MatchKind.SEMANTIC,
        similarity: result.similarity,
        entry: entryToProto(result.entry, c.learnedBoundary(result.entry)),
        threshold: result.threshold,
      });
    },
    async store(req, context) {
      const result = await cache().store({
        prompt: req.prompt,
        response: req.response,
        scope: scopeFromProto(req.scope),
        ttlSeconds: req.ttlSeconds,
        metadata: req.metadata,
        tenant: context.values.get(tenantKey),
      });
      return create(StoreResponseSchema, { id: result.id, replaced: result.replaced, expiresAt: expiryToProto(result.expiresAtMs) });
    },
    async stats(req) {
      const c = cache();
      const stats = await c.stats(req.namespace);
      const { modelId, dimension, storeKind, indexParams, defaultThreshold } = c.describe();
      return create(StatsResponseSchema, {
        entries: BigInt(stats.entries),
        lookups: BigInt(stats.lookups),
        exactHits: BigInt(stats.exactHits),
        semanticHits: BigInt(stats.semanticHits),
        misses: BigInt(stats.misses),
        hitRate: stats.hitRate,
        stores: BigInt(stats.stores),
        flushes: BigInt(stats.flushes),
        llmCalls: BigInt(stats.llmCalls),
        coalescedCalls: BigInt(stats.coalescedCalls),
        tokensSaved: BigInt(stats.tokensSaved),
        cacheErrors: BigInt(stats.cacheErrors),
        guardRejections: BigInt(stats.guardRejections),
        explorations: BigInt(stats.explorations),
        feedbackReceived: BigInt(stats.feedbackReceived),
        servedThenJudgedWrong: BigInt(stats.servedThenJudgedWrong),
        modelId,
        embeddingDimension: dimension,
        storeKind,
        defaultThreshold,
        index: create(IndexParametersSchema, {
          algorithm: "hnsw",
          metric: "cosine",
          m: indexParams.m,
          efConstruction: indexParams.efConstruction,
          efSearch: indexParams.efSearch,
        }),
      });
    },
    async flush(req) {
      return create(FlushResponseSchema, { deleted: BigInt(await cache().flush({ namespace: req.namespace, all: req.all })) });
    },
    async listEntries(req) {
      const limit = req.limit === 0 ? LIST_DEFAULT_LIMIT : Math.min(req.limit, LIST_MAX_LIMIT);
      const c = cache();
      const entries = await c.listRecent(req.namespace, limit);
      return create(ListEntriesResponseSchema, { entries: entries.map((entry) => entryToProto(entry, c.learnedBoundary(entry))) });
    },
    async feedback(req, context) {
      const result = await cache().feedback({
        entryId: req.entryId,
        prompt: req.prompt,
        scope: scopeFromProto(req.scope),
        correct: req.correct,
        tenant: context.values.get(tenantKey),
      });
      return create(FeedbackResponseSchema, result);
    },
  };
}

/** Registers the service on a router; Ask and AskStream answer UNIMPLEMENTED unless given. */
export function registerSemanticCacheService(router: ConnectRouter, impl: SemanticCacheServiceImpl): void {
  const unimplemented = (): never => {
    throw new ConnectError("Ask needs an LLM layer, which this server does not have", Code.Unimplemented);
  };
  router.service(SemanticCacheService, {
    ask: impl.ask ?? unimplemented,
    askStream:
      impl.askStream ??
      // biome-ignore lint/correctness/useYield: a generator is what the router expects for a server stream
      async function* () {
        unimplemented();
      },
    lookup: impl.lookup,
    store: impl.store,
    flush: impl.flush,
    listEntries: impl.listEntries,
    feedback: impl.feedback,
  });
  // Registered after the service, so this handler (with every counter in JSON, zeros too: `"entries": "0"` after a
  // Flush rather than no field) replaces the one router.service made for Stats.
  router.rpc(SemanticCacheService.method.stats, impl.stats, { jsonOptions: { ...JSON_OPTIONS, alwaysEmitImplicit: true } });
}
