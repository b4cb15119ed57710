/**
 * Worker thread that builds one scope's HNSW graph and saves it to a file,
 * so that inserting tens of thousands of vectors (minutes of CPU at
 * efConstruction 200) never blocks the event loop that serves requests.
 * The main thread maps the file (layered-graph.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { sha256File } from "./file-hash.js";
import type { GraphBuildJob, GraphSaved } from "./graph-build-protocol.js";
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
// Hashed here, off the event loop: a snapshot will link this file and needs its checksum.
const saved: GraphSaved = { type: "saved", sha256: sha256File(job.path) };
parentPort?.postMessage(saved);
