/** The benchmark results as a markdown page. */
import { recoveryRows } from "../crash-recovery.js";
import { exactHitRows } from "../exact-hit.js";
import { throughputVsRawRows } from "../throughput.js";
import type { BenchResults } from "../main.js";

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function markdownReport(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# semcache benchmark, ${r.createdAt.slice(0, 16).replace("T", " ")} UTC${r.quick ? " (quick smoke run: short, noisy, not for quoting)" : ""}`);
  lines.push("");
  lines.push(
    `**Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM · Node ${m.node} · ${m.os} · onnxruntime-node ${m.onnxruntimeNode}` +
      (m.gitCommit === null ? "" : ` · commit ${m.gitCommit}`),
  );
  lines.push(
    `**Load average** (1/5/15 min) at start ${m.loadAverage.join(" / ")}, at end ${r.loadAverageAtEnd.join(" / ")}` +
      (m.loadAverage[0]! > m.cores * 0.5 ? " — other work was using the CPUs: treat the numbers as pessimistic." : "."),
  );
  lines.push(
    `**Server:** \`semcache serve\` as a child process (${r.config.entry}), ${r.config.store} store, ${r.config.model}, ` +
      `SEMCACHE_EMBED_WORKERS=${r.config.embedWorkers} (one onnxruntime thread each), micro-batches of up to ${r.config.embedMaxBatch}, guard ${r.config.guard}, threshold ${r.config.threshold}, ` +
      `HNSW M=${r.config.index.m} ef_construction=${r.config.index.efConstruction} ef_search=${r.config.index.efSearch}, ` +
      "every other setting at its default (the memo of recent embeddings included: no semantic lookup's prompt comes back within the 4,096 it keeps, so each runs the model; `--memo` measures the memo). " +
      `**Client:** the generated TypeScript client, ${r.config.transport}; the throughput rows' load comes from bench/loadgen (the generated Go client, grpc-go, on the same cores).`,
  );
  lines.push("");
  lines.push("| Measure | Result |");
  lines.push("|---|---|");
  const l = r.latency;
  lines.push(`| Exact-hit Lookup, p50 / p99 (one client, ${l.entries} entries) | ${ms(l.exactHit.p50Ms)} / ${ms(l.exactHit.p99Ms)} ms |`);
  lines.push(...exactHitRows(r.exactVsAnchors));
  lines.push(`| Semantic Lookup, hit, p50 / p99 | ${ms(l.semanticHit.p50Ms)} / ${ms(l.semanticHit.p99Ms)} ms (${(l.semanticHit.asIntended * 100).toFixed(0)}% were semantic hits) |`);
  lines.push(`| Semantic Lookup, miss, p50 / p99 | ${ms(l.semanticMiss.p50Ms)} / ${ms(l.semanticMiss.p99Ms)} ms (${(l.semanticMiss.asIntended * 100).toFixed(0)}% were misses) |`);
  for (const t of r.throughput) {
    lines.push(
      `| Throughput, concurrency ${t.concurrency} (semantic lookups, half hits) | **${t.lookupsPerSecond.toFixed(0)} lookups/s** (p50 ${ms(t.p50Ms)} ms, p99 ${ms(t.p99Ms)} ms${t.errors > 0 ? `, ${t.errors} errors` : ""}; load generator ${t.clientCpuMsPerCall.toFixed(2)} ms of CPU a call) |`,
    );
  }
  lines.push(...throughputVsRawRows(r.vsRaw));
  lines.push(`| Cold start to SERVING (/healthz), empty store | ${(r.coldStartEmptyMs / 1000).toFixed(2)} s (listening after ${(r.listeningMs / 1000).toFixed(2)} s) |`);
  if (r.memoryPerEntryBytes !== null) {
    lines.push(
      `| Memory per entry (slope of server RSS after the lookups, which page in mapped graphs, over ${r.sizes.map((s) => s.entries.toLocaleString("en-US")).join(", ")} entries) | ${r.memoryPerEntryBytes.toLocaleString("en-US")} bytes${r.config.store === "redis" ? " (entries live in Redis: server RSS only)" : ""} |`,
    );
  }
  lines.push("");
  lines.push(...sizeTable(r.sizes));
  lines.push("");
  lines.push(
    "Store sizes: entries written with the store's batch `put` before the server starts. The first " +
      `${r.plan.basePrompts.toLocaleString("en-US")} are distinct prompts embedded by the model; the rest are copies of those prompts with a ` +
      "letters-only suffix and the base vector plus Gaussian noise, renormalised, at a cosine of 0.75–0.97 from it " +
      "(clusters of near neighbours around real embeddings). Semantic-hit lookups are rewordings of stored prompts (\"rewordings " +
      "served\": the share that came back as semantic hits; the others found no entry at 0.9 or more, or only entries the guard " +
      "refused; the server's guard rejections over the whole run, when any, are in brackets), misses are questions from another domain. Latencies are client-side, one request at a time; throughput runs " +
      `${r.plan.throughputSeconds} s per concurrency level after a warm-up. Raw limit: pre-tokenised prompts, no pooling, no server.`,
  );
  if (r.recovery.length > 0) {
    lines.push("");
    lines.push("| Crash recovery (embedded store, bench/crash-recovery.ts) | Result |");
    lines.push("|---|---|");
    lines.push(...recoveryRows(r.recovery));
  }
  lines.push("");
  lines.push(`Reproduce: \`npm run bench\` (full, about 10 minutes on 2 cores) or \`npm run bench -- --quick\` (smoke run). Total time of this run: ${r.totalSeconds} s.`);
  lines.push("");
  return lines.join("\n");
}

/** The store-size runs as a markdown table. */
export function sizeTable(sizes: BenchResults["sizes"]): string[] {
  const lines: string[] = [];
  lines.push(
    "| Entries in the store | Lookup p50 semantic hit | semantic miss | exact hit | p99 semantic hit | Rewordings served | Cold start to SERVING | Server RSS at SERVING / after lookups | RSS after lookups over empty, per entry |",
  );
  lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const s of sizes) {
    // With no entries every lookup is a miss: only the miss column means anything.
    const empty = s.entries === 0;
    lines.push(
      `| ${s.entries.toLocaleString("en-US")} | ${empty ? "—" : `${ms(s.semanticHit.p50Ms)} ms`} | ${ms(s.semanticMiss.p50Ms)} ms | ${empty ? "—" : `${ms(s.exactHit.p50Ms)} ms`} | ` +
        `${empty ? "—" : `${ms(s.semanticHit.p99Ms)} ms`} | ${empty ? "—" : `${(s.semanticHit.asIntended * 100).toFixed(0)}%${s.guardRejections > 0 ? ` (${s.guardRejections} guard rejections in the run)` : ""}`} | ${(s.coldStartMs / 1000).toFixed(2)} s | ${mib(s.rssAtServingMiB * 2 ** 20)} / ${mib(s.rssMiB * 2 ** 20)} | ` +
        `${s.rssDeltaPerEntryBytes === null ? "—" : `${s.rssDeltaPerEntryBytes.toLocaleString("en-US")} B`} |`,
    );
  }
  return lines;
}
