/**
 * Worker thread that builds one scope's HNSW graph and saves it to a file,
 * so that inserting tens of thousands of vectors (minutes of CPU at
 * efConstruction 200) never blocks the event loop that serves requests.
 */
import { parentPort, workerData } from "node:worker_threads";
import { GRAPH_SAVED, type GraphBuildJob } from "./graph-build-protocol.js";
import { HnswIndex } from "./vector-index.js";

// Inserted per native call, so that terminate() (the store closing) takes
// effect between calls within about a second instead of after the whole build.
const CHUNK = 1_000;

const job = workerData as GraphBuildJob;
const graph = HnswIndex.create(job.dimension, job.params, job.insertThreads);
const d = job.dimension;
for (let start = 0; start < job.labels.length; start += CHUNK) {
  const end = Math.min(start + CHUNK, job.labels.length);
  graph.add(Array.from(job.labels.subarray(start, end)), job.vectors.subarray(start * d, end * d));
}
graph.save(job.path);
parentPort?.postMessage(GRAPH_SAVED);
