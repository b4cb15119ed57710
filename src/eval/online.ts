/**
 * The online evaluation: a stream of prompts replayed through `Ask` against
 * a semcache whose LLM answers per intent, so every cached answer is
 * exactly right or wrong.
 *
 * The stream is the intents file's seeds, paraphrases and near-misses,
 * shuffled, twice (each pass shuffled anew, by a seeded generator). Nothing
 * is stored beforehand: Ask stores each LLM answer as it goes, as in
 * production. The LLM (intent-llm.ts) answers every prompt of one intent
 * with that intent's answer (a seed and its paraphrases share one; each
 * near-miss has its own), so a cached answer is right exactly when it is
 * the answer of the prompt's own intent.
 *
 * Each configuration (a static threshold, or an error budget) runs in its
 * own namespace, so none sees another's entries, and each run is
 * sequential (a stream). Measured per configuration, summed over seeds:
 * realised error rate = wrong cached answers / requests; hit rate = cached
 * answers / requests; LLM calls (explorations included).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { normalizePrompt } from "../cache/normalize.js";
import { SemanticCacheService, Source } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { Dataset, IntentLine } from "./dataset.js";
import { renderXYPlot, type XYPoint } from "./plot.js";
import { mapLimit } from "./run.js";

/** One configuration of the online evaluation. */
export type OnlineConfig = { readonly kind: "static"; readonly threshold: number } | { readonly kind: "budget"; readonly maxErrorRate: number };

/** The label of a configuration, e.g. "threshold 0.95" or "budget 0.02". */
export function configLabel(config: OnlineConfig): string {
  return config.kind === "static" ? `threshold ${config.threshold.toFixed(2)}` : `budget ${config.maxErrorRate}`;
}

/** What one replay counted. */
export interface OnlineCounts {
  readonly requests: number;
  /** Answers served from the cache (exact and semantic). */
  readonly cached: number;
  /** Cached answers that were another intent's answer. */
  readonly wrong: number;
  /** Answers from the LLM (explorations included). */
  readonly llmCalls: number;
  /** LLM answers that were explorations of a cached candidate. */
  readonly explorations: number;
}

/** One configuration's results. */
export interface OnlineRow extends OnlineCounts {
  readonly label: string;
  readonly config: OnlineConfig;
  /** wrong / requests, over all seeds. */
  readonly errorRate: number;
  /** cached / requests, over all seeds. */
  readonly hitRate: number;
  /** (cached − wrong) / requests, over all seeds. */
  readonly correctHitRate: number;
  /** The highest error rate of any single seed's stream. */
  readonly worstSeedErrorRate: number;
  readonly perSeed: readonly (OnlineCounts & { readonly seed: number })[];
}

/** The goal of verified answers, checked. */
export interface OnlineGoal {
  /** Per budget: realised error (over all seeds, and the worst seed) within it. */
  readonly budgets: readonly { readonly budget: number; readonly errorRate: number; readonly worstSeedErrorRate: number; readonly withinBudget: boolean; readonly worstSeedWithinBudget: boolean }[];
  /** The static threshold with the highest hit rate whose realised error is ≤ 0.02. */
  readonly bestStaticWithin002: { readonly threshold: number; readonly hitRate: number; readonly errorRate: number } | null;
  /** Budget 0.02's hit rate, and whether it beats that threshold's. */
  readonly budget002: { readonly hitRate: number; readonly beatsBestStatic: boolean } | null;
}

/** The whole online report. */
export interface OnlineReport {
  readonly name: string;
  readonly createdAt: string;
  readonly data: { readonly path: string; readonly sha256: string; readonly seeds: number; readonly paras: number; readonly nears: number };
  readonly model: string;
  readonly guard: string;
  readonly streamSeeds: readonly number[];
  readonly requestsPerStream: number;
  readonly rows: readonly OnlineRow[];
  readonly goal: OnlineGoal;
  readonly millis: number;
}

const WORDS = [
  "amber", "basalt", "canyon", "dolphin", "ember", "falcon", "glacier", "harbor", "iris", "juniper", "kettle", "lantern",
  "meadow", "nectar", "orchard", "pepper", "quartz", "river", "saddle", "thistle", "umbrella", "violin", "walnut", "yarrow",
  "zephyr", "anchor", "bramble", "cobalt", "dune", "easel", "fjord", "granite", "hammock", "igloo", "jasmine", "kayak",
  "lagoon", "marble", "nutmeg", "otter", "pebble", "quill", "raven", "spruce", "tundra", "velvet", "willow", "yeast",
  "acorn", "biscuit", "cactus", "drum", "elm", "fern", "gravel", "hazel", "ivory", "jelly", "kiwi", "lemon", "moss", "nickel",
];

/**
 * The answer the evaluation's LLM gives for an intent: eight words picked by
 * the intent's hash. Different intents get unrelated word lists, so no
 * answer-equivalence rule can mistake one for another by accident of
 * wording (as "answer for intent X" against "answer for intent X~near1"
 * might).
 */
export function answerFor(intent: string): string {
  const digest = createHash("sha256").update(intent).digest();
  const words = Array.from({ length: 8 }, (_, i) => WORDS[digest[i]! % WORDS.length]!);
  return `${words.join(" ")}.`;
}

/** Which intent each normalised prompt belongs to (the first line wins if a prompt repeats). */
export function intentByPrompt(dataset: Dataset): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of dataset.lines) if (!map.has(normalizePrompt(line.prompt))) map.set(normalizePrompt(line.prompt), line.intent);
  return map;
}

/** A seeded pseudo-random generator (LCG), so a stream can be replayed exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The stream of one seed: every line, shuffled, `passes` times (each pass shuffled anew). */
export function buildStream(dataset: Dataset, seed: number, passes = 2): IntentLine[] {
  const next = random(seed);
  const out: IntentLine[] = [];
  for (let p = 0; p < passes; p++) {
    const pass = [...dataset.lines];
    for (let i = pass.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [pass[i], pass[j]] = [pass[j]!, pass[i]!];
    }
    out.push(...pass);
  }
  return out;
}

/** Replays one stream through Ask in one namespace and counts. */
export async function replay(
  client: Client<typeof SemanticCacheService>,
  stream: readonly IntentLine[],
  config: OnlineConfig,
  namespace: string,
): Promise<OnlineCounts> {
  let cached = 0;
  let wrong = 0;
  let llmCalls = 0;
  let explorations = 0;
  for (const line of stream) {
    const answer = await client.ask({
      prompt: line.prompt,
      scope: { namespace },
      ...(config.kind === "static" ? { minSimilarity: config.threshold } : { maxErrorRate: config.maxErrorRate }),
    });
    if (answer.source === Source.CACHE) {
      cached++;
      if (answer.response !== answerFor(line.intent)) wrong++;
    } else {
      llmCalls++;
      if (answer.exploredEntryId !== "") explorations++;
    }
  }
  return { requests: stream.length, cached, wrong, llmCalls, explorations };
}

function sum(runs: readonly OnlineCounts[]): OnlineCounts {
  const total = { requests: 0, cached: 0, wrong: 0, llmCalls: 0, explorations: 0 };
  for (const r of runs) for (const k of Object.keys(total) as (keyof OnlineCounts)[]) total[k] += r[k];
  return total;
}

/** Builds a row from its runs. */
export function rowOf(config: OnlineConfig, runs: readonly (OnlineCounts & { readonly seed: number })[]): OnlineRow {
  const total = sum(runs);
  const rate = (n: number): number => (total.requests === 0 ? 0 : n / total.requests);
  return {
    label: configLabel(config),
    config,
    ...total,
    errorRate: rate(total.wrong),
    hitRate: rate(total.cached),
    correctHitRate: rate(total.cached - total.wrong),
    worstSeedErrorRate: Math.max(0, ...runs.map((r) => (r.requests === 0 ? 0 : r.wrong / r.requests))),
    perSeed: runs,
  };
}

/** Checks the goal: error within each budget; at 0.02, a hit rate above the best static threshold within 0.02. */
export function checkGoal(rows: readonly OnlineRow[]): OnlineGoal {
  const budgets = rows.flatMap((r) =>
    r.config.kind === "budget"
      ? [
          {
            budget: r.config.maxErrorRate,
            errorRate: r.errorRate,
            worstSeedErrorRate: r.worstSeedErrorRate,
            withinBudget: r.errorRate <= r.config.maxErrorRate,
            worstSeedWithinBudget: r.worstSeedErrorRate <= r.config.maxErrorRate,
          },
        ]
      : [],
  );
  let best: OnlineGoal["bestStaticWithin002"] = null;
  for (const r of rows) {
    if (r.config.kind !== "static" || r.errorRate > 0.02) continue;
    if (best === null || r.hitRate > best.hitRate) best = { threshold: r.config.threshold, hitRate: r.hitRate, errorRate: r.errorRate };
  }
  const at002 = rows.find((r) => r.config.kind === "budget" && Math.abs(r.config.maxErrorRate - 0.02) < 1e-9);
  return {
    budgets,
    bestStaticWithin002: best,
    budget002: at002 === undefined ? null : { hitRate: at002.hitRate, beatsBestStatic: best === null || at002.hitRate > best.hitRate },
  };
}

/** Options of {@link evaluateOnline}. */
export interface OnlineOptions {
  readonly dataset: Dataset;
  readonly dataPath: string;
  readonly dataSha256: string;
  /** A running semcache whose LLM is the per-intent server. */
  readonly url: string;
  readonly configs: readonly OnlineConfig[];
  readonly seeds: readonly number[];
  /** Streams replayed at once (each one sequential); default 8. */
  readonly concurrency?: number;
  readonly name: string;
  readonly model: string;
  readonly guard: string;
  /** Told after each finished stream. */
  readonly progress?: (done: number, total: number, label: string) => void;
}

/** Replays every configuration × seed and builds the report. */
export async function evaluateOnline(options: OnlineOptions): Promise<OnlineReport> {
  const started = Date.now();
  const client = createClient(SemanticCacheService, createGrpcTransport({ baseUrl: options.url }));
  const jobs = options.configs.flatMap((config, c) => options.seeds.map((seed) => ({ config, c, seed })));
  let done = 0;
  const results = await mapLimit(jobs, options.concurrency ?? 8, async (job) => {
    const stream = buildStream(options.dataset, job.seed);
    const counts = await replay(client, stream, job.config, `online-${job.c}-${job.seed}`);
    options.progress?.(++done, jobs.length, `${configLabel(job.config)} seed ${job.seed}`);
    return { ...counts, seed: job.seed, c: job.c };
  });
  const rows = options.configs.map((config, c) => rowOf(config, results.filter((r) => r.c === c).map(({ c: _c, ...rest }) => rest)));
  return {
    name: options.name,
    createdAt: new Date().toISOString(),
    data: {
      path: options.dataPath,
      sha256: options.dataSha256,
      seeds: options.dataset.seeds.length,
      paras: options.dataset.paras.length,
      nears: options.dataset.nears.length,
    },
    model: options.model,
    guard: options.guard,
    streamSeeds: options.seeds,
    requestsPerStream: options.dataset.lines.length * 2,
    rows,
    goal: checkGoal(rows),
    millis: Date.now() - started,
  };
}

const pct = (n: number, digits = 2): string => `${(n * 100).toFixed(digits)}%`;

/** The realised-error against hit-rate plot: static thresholds as a curve, budgets as points. */
export function plotOnline(report: OnlineReport): string {
  const point = (r: OnlineRow, label: string): XYPoint => ({
    x: r.hitRate,
    y: r.errorRate,
    label,
    title: `${r.label}: hit rate ${pct(r.hitRate)}, realised error ${pct(r.errorRate)}, LLM calls ${r.llmCalls}`,
  });
  const statics = report.rows.filter((r) => r.config.kind === "static");
  const budgets = report.rows.filter((r) => r.config.kind === "budget");
  const maxError = Math.max(0.05, ...report.rows.map((r) => r.errorRate));
  const yMax = Math.min(1, Math.ceil(maxError * 20) / 20);
  const hits = report.rows.map((r) => r.hitRate);
  // The x axis spans the hit rates seen, padded to whole twentieths.
  const xMin = Math.max(0, Math.floor(Math.min(...hits) * 20) / 20 - 0.05);
  const xMax = Math.min(1, Math.ceil(Math.max(...hits) * 20) / 20 + 0.05);
  return renderXYPlot({
    title: `semcache online eval: ${report.name}`,
    subtitle: `${report.requestsPerStream} requests per stream × ${report.streamSeeds.length} seeds · model ${report.model} · guard ${report.guard}`,
    series: [
      {
        label: "static threshold",
        color: "#888888",
        points: statics.map((r) => point(r, r.config.kind === "static" && Math.round(r.config.threshold * 100) % 5 === 0 ? r.config.threshold.toFixed(2) : "")),
      },
      { label: "error budget (verified)", color: "#1f6fd1", line: false, points: budgets.map((r) => point(r, r.config.kind === "budget" ? `≤${r.config.maxErrorRate}` : "")) },
    ],
    xLabel: "hit rate (cached answers / requests)",
    yLabel: "realised error (wrong cached answers / requests)",
    xRange: [xMin, Math.max(xMax, xMin + 0.1)],
    yRange: [0, yMax],
    yStep: yMax <= 0.1 ? 0.01 : 0.05,
    hLines: budgets.map((r) => ({ y: r.config.kind === "budget" ? r.config.maxErrorRate : 0, label: `budget ${r.config.kind === "budget" ? r.config.maxErrorRate : ""}` })),
    notes: ["labels: threshold, or ≤ budget"],
  });
}

/** The report as a Markdown table plus the goal check. */
export function onlineSummary(report: OnlineReport): string {
  const lines = [
    `Online eval ${report.name}: ${report.requestsPerStream} requests per stream, ${report.streamSeeds.length} stream(s) (seeds ${report.streamSeeds.join(", ")}), model ${report.model}, guard ${report.guard}`,
    "",
    "| Configuration | Realised error | Worst stream | Hit rate | Correct hits | LLM calls | Explorations |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of report.rows) {
    lines.push(`| ${r.label} | ${pct(r.errorRate)} | ${pct(r.worstSeedErrorRate)} | ${pct(r.hitRate, 1)} | ${pct(r.correctHitRate, 1)} | ${r.llmCalls} | ${r.explorations} |`);
  }
  const g = report.goal;
  lines.push("");
  for (const b of g.budgets) {
    lines.push(`budget ${b.budget}: realised ${pct(b.errorRate)} (worst stream ${pct(b.worstSeedErrorRate)}): ${b.withinBudget ? "within" : "OVER"} the budget`);
  }
  if (g.budget002 !== null) {
    const best = g.bestStaticWithin002;
    lines.push(
      `at 0.02: hit rate ${pct(g.budget002.hitRate, 1)} vs the best static threshold within 0.02 ` +
        (best === null ? "(none)" : `(${best.threshold.toFixed(2)}: ${pct(best.hitRate, 1)}, error ${pct(best.errorRate)})`) +
        `: ${g.budget002.beatsBestStatic ? "above" : "NOT above"}`,
    );
  }
  return lines.join("\n");
}

/** Writes `<dir>/<name>.json`, `.svg` and `.md`; returns their paths. */
export function writeOnlineReport(report: OnlineReport, dir: string): { json: string; svg: string; md: string } {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const json = join(out, `${report.name}.json`);
  const svg = join(out, `${report.name}.svg`);
  const md = join(out, `${report.name}.md`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svg, plotOnline(report));
  writeFileSync(md, `${onlineSummary(report)}\n`);
  return { json, svg, md };
}
