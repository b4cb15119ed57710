/**
 * Sentence embeddings with onnxruntime-node for models shaped like
 * all-MiniLM-L6-v2: int64 `input_ids`, `attention_mask` (and optionally
 * `token_type_ids`) in, float32 `last_hidden_state` [batch, seq, dim] out.
 */
import { availableParallelism } from "node:os";
import { NO_TENANT } from "../tenancy/tenant.js";
import type { Embedder, EmbedderObserver } from "./embedder.js";
import { EmbedderClosedError, ModelLoadError } from "./errors.js";
import { MicroBatcher } from "./micro-batcher.js";
import { combineWeighted } from "./pooling.js";
import { bertRunCost, planRuns, type RunCost } from "./run-planner.js";
import { loadTokenizer, type TextTokenizer } from "./tokenizer.js";
import { splitIntoWindows, type WindowLayout } from "./windows.js";
import { SessionPool } from "./session-pool.js";

/** Default {@link OnnxEmbedderOptions.maxBatchSize}. */
export const DEFAULT_MAX_BATCH_SIZE = 32;
/** Default {@link OnnxEmbedderOptions.maxBatchWaitMs}: no timer, one event-loop turn. */
export const DEFAULT_MAX_BATCH_WAIT_MS = 0;
/** Default {@link OnnxEmbedderOptions.maxTokens}: MiniLM's training window. */
export const DEFAULT_MAX_TOKENS = 256;
/**
 * Default {@link OnnxEmbedderOptions.maxBatchTokens}, in full windows: a batch
 * of long windows takes about a second on two cores rather than four, which
 * is what a short prompt queued behind it waits; short prompts (a few dozen
 * tokens) still batch by the full SEMCACHE_EMBED_MAX_BATCH.
 */
export const DEFAULT_MAX_BATCH_WINDOWS_OF_TOKENS = 8;
/** Default {@link OnnxEmbedderOptions.windowOverlap}. */
export const DEFAULT_WINDOW_OVERLAP = 32;
/**
 * Default {@link OnnxEmbedderOptions.maxWindows}. With the default window and
 * overlap (222 new tokens per window) a 64 KiB prompt, at most 65,536 word
 * pieces even if every byte became one, needs at most 296 windows, so any
 * prompt the server accepts fits.
 */
export const DEFAULT_MAX_WINDOWS = 300;

const OUTPUT_NAME = "last_hidden_state";
const KNOWN_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"]);

/** Where the model is and how to run it. */
export interface OnnxEmbedderOptions {
  /** Reported as {@link Embedder.modelId}. */
  readonly modelId: string;
  /** The .onnx file. */
  readonly onnxPath: string;
  /** The tokenizer.json file. */
  readonly tokenizerPath: string;
  /**
   * Inference workers, each with its own session; a batch runs on whichever
   * is free, so up to this many batches run at once. Default 1.
   */
  readonly workers?: number;
  /**
   * How much lower than the event loop's the inference workers' CPU
   * priority is (a Linux nice increment, 0-19; ignored elsewhere). When the
   * cores are full, the event loop, which answers exact hits, hands back
   * vectors and feeds the next batch, then goes first. Default 0.
   */
  readonly nice?: number;
  /** onnxruntime intra-op threads of each worker's session; default: the number of cores divided among the workers (at least 1). */
  readonly threads?: number;
  /**
   * Let idle onnxruntime pool threads spin-wait for work (onnxruntime's own
   * default). Lowers latency only on cores nothing else needs; default false.
   */
  readonly spinWait?: boolean;
  /** Most windows in one session run; default 32. */
  readonly maxBatchSize?: number;
  /** Longest wait of an idle embedder for more requests before running; default 0. */
  readonly maxBatchWaitMs?: number;
  /** Most word pieces in one batch (one window is always taken); default 8 full windows. */
  readonly maxBatchTokens?: number;
  /** Model window in word pieces, [CLS] and [SEP] included; default 256. */
  readonly maxTokens?: number;
  /** Word pieces shared by neighbouring windows of a long text; default 32. */
  readonly windowOverlap?: number;
  /** Most windows per text; longer texts are rejected, never truncated; default 300. */
  readonly maxWindows?: number;
}

/** Counters of an {@link OnnxEmbedder}. */
export interface OnnxEmbedderStats {
  /** `session.run` calls made for embed calls (the load-time probe excluded). */
  readonly runs: number;
  /** Batches taken from the queue; each becomes one or more runs of similar length. */
  readonly batches: number;
  /** Windows embedded; one per text unless a text is longer than the window. */
  readonly windows: number;
  /** `embed` calls accepted. */
  readonly texts: number;
  /** Most windows taken in one batch. */
  readonly largestBatch: number;
  /** Windows waiting for a run now. */
  readonly queued: number;
}

/**
 * An {@link Embedder} backed by onnxruntime sessions that run in worker
 * threads (session-pool.ts, worker-session.ts) so inference never blocks
 * the event loop; this thread only tokenises and batches. Concurrent `embed`
 * calls are micro-batched into shared session runs; texts longer than the
 * window are embedded window by window and the windows' vectors combined.
 */
export class OnnxEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimension: number;
  private readonly batcher: MicroBatcher<readonly number[], Float32Array>;
  private readonly layout: WindowLayout;
  private readonly runCost: RunCost;
  private texts = 0;
  private sessionRuns = 0;
  /** Told the time and size of every batch, for metrics. */
  observer: EmbedderObserver | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    options: OnnxEmbedderOptions,
    private readonly sessions: SessionPool,
    private readonly tokenizer: TextTokenizer,
    dimension: number,
  ) {
    this.modelId = options.modelId;
    this.dimension = dimension;
    this.layout = {
      maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
      overlap: options.windowOverlap ?? DEFAULT_WINDOW_OVERLAP,
      maxWindows: options.maxWindows ?? DEFAULT_MAX_WINDOWS,
      prefixIds: tokenizer.prefixIds,
      suffixIds: tokenizer.suffixIds,
    };
    this.runCost = bertRunCost(dimension);
    this.batcher = new MicroBatcher((windows) => this.runBatch(windows), {
      maxBatchSize: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
      maxWaitMs: options.maxBatchWaitMs ?? DEFAULT_MAX_BATCH_WAIT_MS,
      // Fair in model work: a window costs its tokens, and each tenant may add a full window's worth per round.
      cost: (ids) => ids.length,
      quantum: this.layout.maxTokens,
      maxBatchCost: options.maxBatchTokens ?? DEFAULT_MAX_BATCH_WINDOWS_OF_TOKENS * this.layout.maxTokens,
      concurrency: sessions.size,
    });
  }

  /**
   * Opens the session and tokenizer, checks the model's inputs and outputs,
   * and runs it once to learn the embedding dimension (which also warms it up).
   *
   * @throws ModelLoadError when a file cannot be read or the model does not fit.
   */
  static async create(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    validateOptions(options);
    const tokenizer = await loadTokenizer(options.tokenizerPath);
    const workers = options.workers ?? 1;
    let pool: SessionPool;
    try {
      pool = await SessionPool.load(workers, options.onnxPath, OUTPUT_NAME, {
        intraOpNumThreads: options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)),
        // One operator at a time within a run: the workers' runs already use every core.
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
        // Spinning pool threads keep burning CPU after a run, starving the
        // event loop that tokenises the next batch; measured 1.5-3x slower
        // runs with spinning on a busy 2-core machine.
        extra: { session: { intra_op: { allow_spinning: options.spinWait === true ? "1" : "0" } } },
      }, options.nice ?? 0);
    } catch (cause) {
      throw new ModelLoadError(`Could not load the ONNX model ${options.onnxPath}: ${String(cause)}.`, {
        kind: "invalid-file",
        path: options.onnxPath,
        cause,
      });
    }
    try {
      checkInterface(pool, options.onnxPath);
      const probeIds = [...tokenizer.prefixIds, ...tokenizer.encode("probe"), ...tokenizer.suffixIds];
      // One probe per worker, at once, so each takes a different worker and every session is warm.
      const probes = await Promise.all(Array.from({ length: pool.size }, () => pool.run([probeIds])));
      return new OnnxEmbedder(options, pool, tokenizer, probes[0]!.dimension);
    } catch (error) {
      await pool.release();
      if (error instanceof ModelLoadError) throw error;
      throw new ModelLoadError(`The ONNX model ${options.onnxPath} failed its first run: ${String(error)}.`, {
        kind: "incompatible-model",
        path: options.onnxPath,
        cause: error,
      });
    }
  }

  /**
   * Embeds `text` over its whole length. Its windows queue as `tenant`'s
   * (tenancy/tenant.ts), so one tenant's long texts cannot hold up another's
   * short one by more than about one batch.
   *
   * @throws TextTooLongError when the text needs more than `maxWindows` windows.
   * @throws EmbedderClosedError after {@link close}, and its subclass
   *   EmbedderFailedError (for good) once the inference worker has died.
   */
  async embed(text: string, tenant: string = NO_TENANT): Promise<Float32Array> {
    if (this.closing !== undefined) throw new EmbedderClosedError();
    const windows = splitIntoWindows(this.tokenizer.encode(text), this.layout);
    this.texts++;
    // All windows are queued synchronously, so close() sees them in the batcher.
    const vectors = await Promise.all(windows.map((w) => this.batcher.submit(w.ids, tenant)));
    return combineWeighted(
      vectors,
      windows.map((w) => w.weight),
    );
  }

  /**
   * The model's tokens of `text` as strings (tokenised here, on the calling
   * thread; about 5 µs a word). A bound function, so it can be handed on.
   */
  readonly wordPieces = (text: string): string[] => this.tokenizer.wordPieces(text);

  /** Counters for tests and metrics. */
  get stats(): OnnxEmbedderStats {
    const s = this.batcher.stats;
    return {
      runs: this.sessionRuns,
      batches: s.runs,
      windows: s.items,
      texts: this.texts,
      largestBatch: s.largestBatch,
      queued: s.queued,
    };
  }

  /**
   * Embeds one batch of framed windows: sorted by length and cut into runs
   * of similar length (see run-planner.ts), each padded to its own longest.
   */
  private async runBatch(windows: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const started = performance.now();
    const order = windows.map((_, i) => i).sort((a, b) => windows[a]!.length - windows[b]!.length);
    const plan = planRuns(
      order.map((i) => windows[i]!.length),
      this.runCost,
    );
    const out = new Array<Float32Array>(windows.length);
    for (const [start, end] of plan) {
      const rows = order.slice(start, end);
      this.sessionRuns++;
      const { vectors, dimension } = await this.sessions.run(rows.map((i) => windows[i]!));
      if (dimension !== this.dimension) {
        throw new Error(`Model returned vectors of ${dimension} dimensions, expected ${this.dimension}.`);
      }
      for (const [k, row] of rows.entries()) out[row] = vectors[k]!;
    }
    this.observer?.onEmbed(performance.now() - started, windows.length);
    return out;
  }

  /** Refuses new calls, lets queued ones finish, then releases the session and ends its worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.batcher.drain();
      await this.sessions.release();
    })();
    return this.closing;
  }
}

function validateOptions(options: OnnxEmbedderOptions): void {
  const positiveInt = (name: string, value: number | undefined, min: number): void => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      throw new RangeError(`${name} must be an integer >= ${min}, got ${value}.`);
    }
  };
  positiveInt("workers", options.workers, 1);
  if (options.nice !== undefined && !(Number.isInteger(options.nice) && options.nice >= 0 && options.nice <= 19)) {
    throw new RangeError(`nice must be an integer from 0 to 19, got ${options.nice}.`);
  }
  positiveInt("threads", options.threads, 1);
  positiveInt("maxBatchSize", options.maxBatchSize, 1);
  positiveInt("maxBatchTokens", options.maxBatchTokens, 1);
  positiveInt("maxTokens", options.maxTokens, 3);
  positiveInt("windowOverlap", options.windowOverlap, 0);
  positiveInt("maxWindows", options.maxWindows, 1);
  const wait = options.maxBatchWaitMs;
  if (wait !== undefined && !(wait >= 0 && Number.isFinite(wait))) {
    throw new RangeError(`maxBatchWaitMs must be a finite number >= 0, got ${wait}.`);
  }
}

/** Rejects models whose inputs or outputs differ from the MiniLM interface. */
function checkInterface(session: SessionPool, onnxPath: string): void {
  const unknown = session.inputNames.filter((name) => !KNOWN_INPUTS.has(name));
  const problems: string[] = [];
  if (!session.inputNames.includes("input_ids")) problems.push('no "input_ids" input');
  if (unknown.length > 0) problems.push(`unexpected inputs ${unknown.join(", ")}`);
  if (!session.outputNames.includes(OUTPUT_NAME)) problems.push(`no "${OUTPUT_NAME}" output`);
  if (problems.length > 0) {
    throw new ModelLoadError(
      `The ONNX model ${onnxPath} does not have the all-MiniLM-L6-v2 interface (${problems.join("; ")}); ` +
        `it has inputs [${session.inputNames.join(", ")}] and outputs [${session.outputNames.join(", ")}].`,
      { kind: "incompatible-model", path: onnxPath },
    );
  }
}
