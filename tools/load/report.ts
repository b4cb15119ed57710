/**
 * The load test's report: a markdown page and the JSON results, named like
 * the benchmark's (bench/main.ts): load-<UTC time>[-short].{json,md}, and
 * load-latest.md for full-size runs only, so a smoke run never replaces the
 * figures people quote.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GroupSummary } from "./recorder.js";
import { METHODS } from "./mix.js";
import type { LoadResults } from "./results.js";

const ms = (x: number): string => (!Number.isFinite(x) ? "—" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const n = (x: number): string => x.toLocaleString("en-US");
const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;

function latencyRow(name: string, g: GroupSummary | undefined, extra = ""): string {
  if (g === undefined) return `| ${name} | 0 | — | — | — | — |${extra}`;
  return `| ${name} | ${n(g.count)} | ${ms(g.p50Ms)} ms | ${ms(g.p99Ms)} ms | ${ms(g.meanMs)} ms | ${n(g.errors)} |${extra}`;
}

/** The results as a markdown page. */
export function markdownReport(r: LoadResults): string {
  const m = r.machine;
  const s = r.load.summary;
  const lines: string[] = [];
  const push = (...more: string[]): void => void lines.push(...more);
  push(`# semcache load test, ${r.createdAt.slice(0, 16).replace("T", " ")} UTC${r.short ? ` (short run: ${n(r.load.completed)} calls, a smoke run, not for quoting)` : ""}`, "");
  push(
    `**Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM · Node ${m.node} · ${m.os} · onnxruntime-node ${m.onnxruntimeNode}` +
      (m.gitCommit === null ? "" : ` · commit ${m.gitCommit}`),
  );
  push(
    `**Load average** (1/5/15 min) at start ${m.loadAverage.join(" / ")}, at end ${r.loadAverageAtEnd.join(" / ")}` +
      // At the end the run's own work is in the figure, so only the start says whether others were busy.
      (m.loadAverage[0]! > m.cores * 0.5 ? " — other work was using the CPUs: treat the latencies as pessimistic." : " (the end includes this run's own load)."),
  );
  push(
    `**Server:** \`semcache serve\` as a child process (${r.config.entry}), ${r.config.store} store, ${r.config.model}, ` +
      `SEMCACHE_EMBED_WORKERS=1, SEMCACHE_EMBED_THREADS=${r.config.embedThreads}, guard ${r.config.guard}, threshold ${r.config.threshold}; cold start to SERVING ${(r.coldStartMs / 1000).toFixed(2)} s. ` +
      `**LLM:** ${r.config.llm}, every answer delayed ${r.config.llmDelayMs} ms.`,
  );
  push(
    `**Load:** ${n(r.config.calls)} calls at concurrency ${r.config.concurrency} (hard bound ${r.config.maxSeconds} s), seed ${r.config.seed}, ` +
      `after seeding ${r.config.seedEntriesPerNamespace} entries per namespace and ${n(r.config.warmupCalls)} warm-up calls of the same mix (not measured). ` +
      `Latencies are client-side (the load generator shares the machine with the server).`,
    "",
  );

  push("## Verdict", "", "| Check | Result | |", "|---|---|---|");
  for (const c of r.checks) push(`| ${c.name}${c.fatal ? "" : " (informational)"} | ${c.detail} | ${c.passed ? "pass" : "**FAIL**"} |`);
  push("", `**${r.passed ? "PASSED" : "FAILED"}**: ${n(r.load.completed)} calls in ${r.load.seconds.toFixed(1)} s (${r.load.callsPerSecond.toFixed(0)} calls/s).`, "");

  push("## Latency", "", "| Method | Calls | p50 | p99 | mean | Errors |", "|---|---:|---:|---:|---:|---:|");
  push(latencyRow("**All**", s.overall));
  for (const method of METHODS) push(latencyRow(method, s.byMethod[method]));
  push("");

  push("## The mix", "", "| Operation | Share | What it sends: what it should get | Calls | p50 | p99 | Errors | As intended |", "|---|---:|---|---:|---:|---:|---:|---:|");
  for (const op of r.mix.operations) {
    const g = s.byOperation[op.kind];
    push(
      `| ${op.kind} (${op.method}) | ${op.percent}% | ${op.description} | ${n(g?.count ?? 0)} | ${ms(g?.p50Ms ?? NaN)} ms | ${ms(g?.p99Ms ?? NaN)} ms | ${n(g?.errors ?? 0)} | ${g === undefined ? "—" : pct(g.asIntended)} |`,
    );
  }
  push(
    "",
    `Namespaces (share of calls): ${r.mix.namespaces.map((ns) => `\`${ns.namespace}\` ${ns.percent}%${Object.keys(ns.params).length > 0 ? ` (params ${JSON.stringify(ns.params)})` : ""}`).join(", ")}; ` +
      `every scope has model \`test-model\`.`,
    `Ask answers by source: ${Object.entries(r.load.answers.askSources).map(([k, v]) => `${k} ${n(v)}`).join(", ") || "none"}` +
      `${r.load.answers.askCacheUnavailable > 0 ? `; ${n(r.load.answers.askCacheUnavailable)} served fail-open (cache unavailable)` : ""}` +
      `${r.load.answers.replaceFallbacks > 0 ? `; ${n(r.load.answers.replaceFallbacks)} replacing Stores found no free entry and stored a new prompt` : ""}.`,
    '"As intended": the call succeeded and came back as its operation aims (the hit kind, a miss, `replaced`, the Ask source). ' +
      "With the fixture model a rewording can miss or a new question can land near an earlier one: these shares describe the traffic, they are not checks. " +
      "Ask misses are new questions of four nouns (\"Compare anchor, tulip, raven and quarry.\"), because the software questions of the Stores share most of their words and would be semantic hits of each other (tools/load/prompts.ts).",
    "",
  );

  push("| Protocol | Share | Calls | p50 | p99 | mean | Errors |", "|---|---:|---:|---:|---:|---:|---:|");
  for (const p of r.mix.protocols) {
    const g = s.byProtocol[p.protocol];
    push(`| ${p.protocol} | ${p.percent}% | ${n(g?.count ?? 0)} | ${ms(g?.p50Ms ?? NaN)} ms | ${ms(g?.p99Ms ?? NaN)} ms | ${ms(g?.meanMs ?? NaN)} ms | ${n(g?.errors ?? 0)} |`);
  }
  push("");

  const rss = r.rss;
  push("## Server memory (RSS)", "", "| Point | RSS |", "|---|---:|");
  push(`| Start (after seeding and warm-up) | ${mib(rss.startBytes)} |`);
  push(`| Middle (sample nearest to ${n(Math.round(r.load.completed / 2))} calls) | ${mib(rss.middleBytes)} |`);
  push(`| End (${n(r.load.completed)} calls) | ${mib(rss.endBytes)} |`);
  push(`| Peak | ${mib(rss.peakBytes)} |`);
  push(`| Slope over the last two thirds | ${mib(rss.slopeBytesPer1000Calls)} per 1,000 calls |`);
  push(
    "",
    "| Third of the calls | Samples | RSS min | RSS median | RSS peak | JS heap in use, floor | V8 heap reserved, median | Native (RSS − V8 heap), median |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  const maybe = (bytes: number | null): string => (bytes === null ? "—" : mib(bytes));
  for (const t of rss.thirds) {
    push(
      `| ${t.name} (${n(t.fromCalls)}–${n(t.toCalls)}) | ${t.samples} | ${mib(t.rssMinBytes)} | ${mib(t.rssMedianBytes)} | ${mib(t.rssMaxBytes)} | ` +
        `${maybe(t.heapUsedMinBytes)} | ${maybe(t.heapTotalMedianBytes)} | ${maybe(t.nativeMedianBytes)} |`,
    );
  }
  push(
    "",
    `Rule: ${rss.samples.length} samples, taken every 1/60 of the calls. The peak RSS of the last third of the calls may exceed the peak of the ` +
      `middle third by at most ${(rss.tolerance * 100).toFixed(0)}%; more is "keeps growing" and fails the run. Here: ` +
      `${Number.isFinite(rss.growth) ? `${rss.growth >= 0 ? "+" : ""}${(rss.growth * 100).toFixed(1)}%` : "too few samples"}. ` +
      "Peaks, because under load the server's RSS is a saw-tooth (V8 lets its heap fill up, a full collection hands much of it back), so a median or " +
      "a single point such as \"middle\" above depends on where in a tooth it falls, while the tops of the teeth move only when retained memory or V8's heap " +
      "limit moves, as both do under a leak. The first third is left out: it holds the warm-up's growth (model arenas, JIT, V8 raising its heap limit). " +
      "The JS heap figures are the server's main thread (prom-client, /metrics), read right after each RSS sample: the floor of the heap in use is what " +
      "collections leave (it rises if JavaScript objects leak); native memory is the rest of RSS (the model in its worker thread, SQLite, the HNSW " +
      "indexes, allocator slack) and grows with the entries stored, about 2 KB each (bench/README.md).",
    "",
  );

  const v = r.verification;
  push("## Nothing lost", "");
  push(
    `Every acknowledged write was looked up exactly after the load: ${n(v.checked)} of ${n(v.acknowledged)} checked ` +
      `(${n(v.acknowledgedByOrigin.store)} Stores, ${n(v.acknowledgedByOrigin.ask)} Ask answers from the LLM, seeding and warm-up included), ` +
      `**${n(v.found)} found** with the acknowledged id and the last acknowledged answer; missing ${n(v.missing)}, other id ${n(v.wrongId)}, ` +
      `other answer ${n(v.wrongResponse)}, errors ${n(v.errors)} (${v.seconds} s). During the load, exact Lookups and Asks of acknowledged prompts that found nothing: ` +
      `${n(r.load.answers.acknowledgedNotFound)}.`,
  );
  for (const f of v.failures) push(`- ${r.mix.namespaces[f.namespace]?.namespace}: ${JSON.stringify(f.prompt)} (${f.origin}): ${f.problem}`);
  push("");

  push("## LLM and server counters", "");
  const st = r.serverStats;
  push(
    `Loopback LLM: ${n(r.llm.requestsReceived)} chat requests received (${n(r.llm.completed)} completed, ${n(r.llm.closedEarly)} closed early by the client); ` +
      `Ask answers from the LLM seen by the load test: ${n(r.llm.llmAnswersSeen)}; server Stats \`llm_calls\`: ${st === null ? "—" : n(st.overall.llmCalls)}.`,
    "",
  );
  if (st !== null) {
    push("| Stats | Entries | Lookups | Exact hits | Semantic hits | Misses | Hit rate | Stores | LLM calls | Coalesced | Tokens saved | Guard rejections | Cache errors |");
    push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    const row = (name: string, x: typeof st.overall): string =>
      `| ${name} | ${n(x.entries)} | ${n(x.lookups)} | ${n(x.exactHits)} | ${n(x.semanticHits)} | ${n(x.misses)} | ${pct(x.hitRate)} | ${n(x.stores)} | ${n(x.llmCalls)} | ${n(x.coalescedCalls)} | ${n(x.tokensSaved)} | ${n(x.guardRejections)} | ${n(x.cacheErrors)} |`;
    push(row("**All**", st.overall));
    for (const [ns, x] of Object.entries(st.byNamespace)) push(row(`\`${ns}\``, x));
    push("", "Server counters include the seeding and warm-up calls and the check's lookups.", "");
  }

  if (s.errorCounts.length > 0 || r.seeding.errors + r.warmup.errors > 0) {
    push("## Errors", "", "| Phase | Method | Code | Count | First message |", "|---|---|---|---:|---|");
    const phases = [
      ["seeding", r.seeding.summary],
      ["warm-up", r.warmup.summary],
      ["load", s],
    ] as const;
    for (const [phase, summary] of phases) {
      for (const e of summary.errorCounts) push(`| ${phase} | ${e.method} | ${e.code} | ${n(e.count)} | ${e.example.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`);
    }
    push("");
  }

  push(`Reproduce: \`npm run load\` (${n(r.config.calls)} calls took ${r.totalSeconds} s in all here), \`npm run load -- --calls 600 --concurrency 16\` for a smoke run.`, "");
  return lines.join("\n");
}

/** Writes the JSON and markdown reports into `dir`; returns the paths written. */
export function writeReports(results: LoadResults, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = results.createdAt.replace(/:/g, "").replace(/\..*$/, "Z");
  const name = `load-${stamp}${results.short ? "-short" : ""}`;
  const markdown = markdownReport(results);
  const paths = [join(dir, `${name}.json`), join(dir, `${name}.md`)];
  writeFileSync(paths[0]!, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(paths[1]!, markdown);
  if (!results.short) {
    paths.push(join(dir, "load-latest.md"));
    writeFileSync(paths[2]!, markdown);
  }
  return paths;
}
