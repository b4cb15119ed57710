/**
 * Embedder turns text into a unit-length sentence embedding.
 *
 * Implementations batch concurrent calls internally, so callers simply await
 * `embed` once per text.
 */
export interface Embedder {
  /** Identifier of the model, such as "Xenova/all-MiniLM-L6-v2". Part of index names. */
  readonly modelId: string;
  /** Length of every vector `embed` returns. */
  readonly dimension: number;
  /**
   * Embeds one text over its whole length; the result has L2 norm 1.
   * `tenant` (default NO_TENANT) is who asks: batched implementations share
   * their batches fairly between tenants (tenancy/tenant.ts).
   */
  embed(text: string, tenant?: string): Promise<Float32Array>;
  /** Releases the model; pending calls settle first. */
  close(): Promise<void>;
  /**
   * The model's tokens of `text`, as strings (see TextTokenizer.wordPieces):
   * lets the cache tell when two different texts look the same to the
   * model. Optional: an embedder that cannot say leaves it out.
   */
  wordPieces?(text: string): readonly string[];
  /** Receives timings for metrics, when set; implementations may ignore it. */
  observer?: EmbedderObserver | undefined;
}

/** Hooks for metrics; called synchronously, so they must be cheap and must not throw. */
export interface EmbedderObserver {
  /** One model run over `batchSize` windows (of one or more texts) took `ms` milliseconds. */
  onEmbed(ms: number, batchSize: number): void;
}
