import type { IndexParams } from "../cache-store.js";

/** What the graph-build worker is started with (its `workerData`). */
export interface GraphBuildJob {
  /** Length of every vector. */
  readonly dimension: number;
  /** Graph parameters, as the store's own indexes use. */
  readonly params: IndexParams;
  /** Threads for usearch's batch insert (0: every core). */
  readonly insertThreads: number;
  /** The labels, in the order of `vectors`. */
  readonly labels: Float64Array<ArrayBuffer>;
  /** `labels.length × dimension` floats. */
  readonly vectors: Float32Array<ArrayBuffer>;
  /** Where to save the finished graph (usearch's own format). */
  readonly path: string;
}

/** The worker's one message: the graph is saved at the job's path, whose SHA-256 this is. */
export interface GraphSaved {
  readonly type: "saved";
  readonly sha256: string;
}
