/** The checks of a load run: the fatal ones decide the exit code, the informational ones are reported. */
import type { OpenAiTestServer } from "../../test/support/openai-server.js";
import type { LoadOptions } from "./options.js";
import type { PoolResult } from "./pool.js";
import type { RecordSummary } from "./recorder.js";
import type { Check, LoadResults, PhaseResult } from "./results.js";
import type { RssReport } from "./rss.js";
import type { AnswerCounts } from "./runner.js";
import type { VerifyReport } from "./verify.js";

/** What the checks look at. */
export interface VerdictInput {
  readonly seeding: PhaseResult;
  readonly warmup: PhaseResult;
  readonly summary: RecordSummary;
  readonly pool: PoolResult;
  readonly options: LoadOptions;
  readonly verification: VerifyReport;
  readonly rss: RssReport;
  readonly loadAnswers: AnswerCounts;
  readonly serverStats: LoadResults["serverStats"];
  readonly llmCounts: ReturnType<OpenAiTestServer["counts"]>;
  readonly llmAnswersSeen: number;
  readonly ledgerSize: number;
}

/** The checks of a run, in report order. */
export function verdict(x: VerdictInput): Check[] {
  const n = (v: number): string => v.toLocaleString("en-US");
  const errors = x.seeding.errors + x.warmup.errors + x.summary.errors + x.verification.errors;
  const allCalls = x.seeding.calls + x.warmup.calls + x.summary.calls + x.verification.checked;
  const v = x.verification;
  const stats = x.serverStats?.overall;
  return [
    {
      name: "Errors (must be 0)",
      passed: errors === 0,
      fatal: true,
      detail:
        `${n(errors)} of ${n(allCalls)} calls (load ${n(x.summary.errors)}, seeding ${n(x.seeding.errors)}, warm-up ${n(x.warmup.errors)}, check ${n(v.errors)})` +
        (x.summary.errorCounts.length > 0 ? `: ${x.summary.errorCounts.map((e) => `${e.method} ${e.code} × ${n(e.count)}`).join(", ")}` : ""),
    },
    {
      name: "Every planned call ran",
      passed: x.summary.calls === x.options.calls && !x.pool.stoppedByDeadline,
      fatal: true,
      detail: `${n(x.summary.calls)} of ${n(x.options.calls)}${x.pool.stoppedByDeadline ? ` (stopped by the ${x.options.maxSeconds} s bound)` : ""}`,
    },
    {
      name: "Acknowledged writes still found",
      passed: v.passed && x.loadAnswers.acknowledgedNotFound === 0,
      fatal: true,
      detail: `${n(v.found)} of ${n(v.acknowledged)} found by exact Lookup after the load; ${n(x.loadAnswers.acknowledgedNotFound)} not found during it`,
    },
    {
      name: "Server RSS does not keep growing",
      passed: !x.rss.keepsGrowing,
      fatal: true,
      detail: Number.isFinite(x.rss.growth)
        ? `peak of the last third ${x.rss.growth >= 0 ? "+" : ""}${(x.rss.growth * 100).toFixed(1)}% over the middle third's (at most ${(x.rss.tolerance * 100).toFixed(0)}%)`
        : "too few samples to judge (the run was cut short)",
    },
    {
      name: "LLM calls agree",
      passed: stats !== undefined && x.llmCounts.total === stats.llmCalls && stats.llmCalls === x.llmAnswersSeen,
      fatal: false,
      detail: `loopback LLM received ${n(x.llmCounts.total)}, server Stats llm_calls ${stats === undefined ? "—" : n(stats.llmCalls)}, Ask answers from the LLM ${n(x.llmAnswersSeen)}`,
    },
    {
      name: "Stats entries = acknowledged writes",
      passed: stats !== undefined && stats.entries === x.ledgerSize,
      fatal: false,
      detail: `${stats === undefined ? "—" : n(stats.entries)} entries, ${n(x.ledgerSize)} acknowledged`,
    },
  ];
}
