/**
 * The embeddings of prompts embedded lately, per scope, so that the same
 * prompt in the same scope runs the model once: a Store after a Lookup of
 * the same prompt (a client that calls the LLM itself), Feedback on an
 * answer it was just served, a miss asked again, and identical prompts
 * asked at the same moment (they share one embedding in flight).
 *
 * Keyed by scope, never shared across scopes: a prompt answered faster
 * because another tenant embedded it a moment ago would tell that tenant
 * what the other asked.
 */

/** Default {@link RecentEmbeddings} size in prompts (about 1.5 KB of vector each at 384 dimensions). */
export const DEFAULT_RECENT_EMBEDDINGS = 4096;

// Prompt characters held in all, so that long prompts cannot hold more than
// a few MB of text; a prompt longer than this share of it is not kept.
const MAX_CHARS = 4 * 1024 * 1024;
const MAX_CHARS_PER_PROMPT = MAX_CHARS / 16;

interface Remembered {
  readonly namespace: string;
  readonly vector: Float32Array;
  readonly chars: number;
}

/** A least-recently-used memo of prompt embeddings, bounded in prompts and in characters. */
export class RecentEmbeddings {
  readonly #remembered = new Map<string, Remembered>();
  readonly #inFlight = new Map<string, Promise<Float32Array>>();
  #chars = 0;
  // Bumped by forget: an embedding that was in flight then is not kept.
  #generation = 0;

  /**
   * @param maxEntries most prompts kept; 0 turns the memo off (every call computes).
   * @param onReuse told each time a call is answered without its own computation (kept, or shared in flight).
   */
  constructor(
    private readonly maxEntries: number = DEFAULT_RECENT_EMBEDDINGS,
    private readonly onReuse: () => void = () => undefined,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a whole number, 0 or more (got ${maxEntries}).`);
  }

  /** Prompts kept now. */
  get size(): number {
    return this.#remembered.size;
  }

  /**
   * The embedding of `normalized` in the scope `scopeKey` (of `namespace`):
   * the one kept, else the one being computed, else `compute()`'s, which is
   * then kept. Each caller gets its own copy.
   */
  async embed(namespace: string, scopeKey: string, normalized: string, compute: () => Promise<Float32Array>): Promise<Float32Array> {
    if (this.maxEntries === 0) return compute();
    const key = `${scopeKey}\u0000${normalized}`;
    const kept = this.#remembered.get(key);
    if (kept !== undefined) {
      // Re-inserted: Map order is the recency order.
      this.#remembered.delete(key);
      this.#remembered.set(key, kept);
      this.onReuse();
      return kept.vector.slice();
    }
    let pending = this.#inFlight.get(key);
    const shared = pending !== undefined;
    if (pending === undefined) {
      const generation = this.#generation;
      pending = compute().then(
        (vector) => {
          this.#inFlight.delete(key);
          if (generation === this.#generation) this.#keep(key, namespace, normalized.length, vector);
          return vector;
        },
        (error: unknown) => {
          this.#inFlight.delete(key);
          throw error;
        },
      );
      this.#inFlight.set(key, pending);
    }
    const vector = await pending;
    if (shared) this.onReuse();
    return vector.slice();
  }

  /** Drops what is kept of one namespace, or of all: its prompts are not held once its entries are flushed. */
  forget(namespace?: string): void {
    this.#generation++;
    if (namespace === undefined) {
      this.#remembered.clear();
      this.#chars = 0;
      return;
    }
    for (const [key, kept] of this.#remembered) {
      if (kept.namespace !== namespace) continue;
      this.#remembered.delete(key);
      this.#chars -= kept.chars;
    }
  }

  #keep(key: string, namespace: string, chars: number, vector: Float32Array): void {
    if (chars > MAX_CHARS_PER_PROMPT) return;
    // Kept as computed: callers only ever get copies of it.
    this.#remembered.set(key, { namespace, vector, chars });
    this.#chars += chars;
    // Oldest first: Map order is the recency order.
    for (const [oldest, dropped] of this.#remembered) {
      if (this.#remembered.size <= this.maxEntries && this.#chars <= MAX_CHARS) break;
      this.#remembered.delete(oldest);
      this.#chars -= dropped.chars;
    }
  }
}
