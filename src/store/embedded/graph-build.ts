import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../../workers/module-worker.js";
import type { IndexParams } from "../cache-store.js";
import type { GraphBuildJob, GraphSaved } from "./graph-build-protocol.js";
import { noteMappedGraph } from "./index-snapshots.js";
import { LayeredGraph } from "./layered-graph.js";
import { HnswIndex } from "./vector-index.js";

/** A graph being built somewhere other than the event loop. */
export interface GraphBuild {
  /** The finished graph, holding exactly the labels it was given (mapped from its file, so it is ready at once). */
  readonly done: Promise<LayeredGraph>;
  /** Abandons the build (the scope was dropped, or the store is closing); `done` then never settles. */
  stop(): void;
  /**
   * Milliseconds the build has waited for earlier ones before its own work
   * began, so that a build's time can be told from its wait; absent for a
   * builder that starts every build at once.
   */
  readonly queuedMs?: () => number;
}

/** Starts building a graph of `labels` and their `vectors` (`labels.length × dimension`, owned by the build from now on). */
export type GraphBuilder = (labels: readonly number[], vectors: Float32Array<ArrayBuffer>) => GraphBuild;

/** Directory, inside the data directory, of worker-built graphs (mapped from there until a snapshot links them). */
export const GRAPH_BUILD_DIR = "hnsw-build";

/**
 * Deletes a worker-built graph's file once its graph is garbage-collected
 * (its scope was dropped, or replaced), unless a snapshot took it over
 * first; so a long-running server does not keep the files of graphs it no
 * longer has. Each file name is unique, so a late deletion can never hit
 * another build's file.
 */
const deleteWhenCollected = new FinalizationRegistry<string>((path) => rmSync(path, { force: true }));

/**
 * Builds graphs on a worker thread, which saves each to a file in
 * `dataDir/hnsw-build` that the main thread maps (usearch can hand an index
 * between threads only through a file; mapping a 1M-vector graph takes a
 * tenth of a second where loading it stalled the event loop for 5 s). The
 * file stays there while mapped, until a snapshot links it in. One build
 * runs at a time: each is CPU-bound, and the other core serves requests.
 * Whatever an earlier process left in that directory is removed first.
 */
export function workerGraphBuilder(dataDir: string, dimension: number, params: IndexParams, insertThreads: number): GraphBuilder {
  const dir = join(dataDir, GRAPH_BUILD_DIR);
  rmSync(dir, { recursive: true, force: true });
  // Unique across stores opened on this directory in one process (see deleteWhenCollected).
  const prefix = randomBytes(6).toString("hex");
  let serial = 0;
  let previous: Promise<unknown> = Promise.resolve();
  return (labels, vectors) => {
    let stopped = false;
    let worker: Worker | undefined;
    const path = join(dir, `${prefix}-${serial++}.usearch`);
    const queuedAt = performance.now();
    let startedAt: number | undefined;
    const run = (): Promise<LayeredGraph> => {
      startedAt = performance.now();
      mkdirSync(dir, { recursive: true });
      const job: GraphBuildJob = { dimension, params, insertThreads, labels: Float64Array.from(labels), vectors, path };
      const transferList = [job.labels.buffer, vectors.buffer];
      const started = startModuleWorker(import.meta.url, "graph-build-worker", { workerData: job, transferList });
      worker = started;
      // A build must never keep a finished process alive; close stops it anyway.
      started.unref();
      return new Promise<LayeredGraph>((resolve, reject) => {
        started.once("message", (message: GraphSaved) => {
          try {
            if (message?.type !== "saved") throw new Error(`graph build worker sent ${JSON.stringify(message)}`);
            const graph = new LayeredGraph(HnswIndex.map(path, dimension, params, labels.length), dimension, params, insertThreads);
            noteMappedGraph(graph, path, labels.length, message.sha256);
            deleteWhenCollected.register(graph, path);
            resolve(graph);
          } catch (error) {
            rmSync(path, { force: true });
            reject(error);
          }
        });
        started.once("error", reject);
        started.once("exit", (code) => reject(new Error(`graph build worker exited with code ${code} before saving the graph`)));
      });
    };
    const settled = previous.then(() => (stopped ? Promise.reject(new Error("graph build stopped before it started")) : run()));
    // The next build waits for this one to end, however it ends.
    previous = settled.catch(() => undefined);
    const done = new Promise<LayeredGraph>((resolve, reject) => {
      settled.then(
        (graph) => {
          if (!stopped) resolve(graph);
        },
        (error: unknown) => {
          if (!stopped) reject(error);
        },
      );
    });
    return {
      done,
      stop: () => {
        stopped = true;
        void worker?.terminate().finally(() => rmSync(path, { force: true }));
      },
      queuedMs: () => (startedAt ?? performance.now()) - queuedAt,
    };
  };
}
