/**
 * The start and the end that every single-step benchmark run (`npm run
 * bench -- --exact`, `--throughput`, `--recovery`, `--memo`) shares: where
 * results go, a timestamped log on stderr, the machine as it was before the
 * run, the compiled CLI built when that is what the run measures; and the
 * report, written to files and printed.
 */
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { machineInfo, type MachineInfo } from "./machine.js";
import { resultStamp, writeResultFiles } from "./result-files.js";
import { buildDist, REPO, type ServerEntry } from "./server.js";

/** What a single-step run knows before it starts measuring. */
export interface StandaloneRun {
  /** The compiled CLI (what users run), or the source under tsx with `--source`. */
  readonly entry: ServerEntry;
  /** Directory for the result files: `--out`, else bench/results. */
  readonly out: string;
  readonly startedAt: Date;
  /** Read before the build, so its load average is the machine's, not the compiler's. */
  readonly machine: MachineInfo;
  /** Writes `[bench <step> hh:mm:ss] message` to stderr. */
  readonly log: (message: string) => void;
}

/**
 * Starts the run of one step from its parsed `--source` and `--out`: reads
 * the machine, then compiles src/ to dist/ unless the run is from source.
 */
export function beginStandaloneRun(step: string, values: { readonly source?: boolean | undefined; readonly out?: string | undefined }): StandaloneRun {
  const entry: ServerEntry = values.source === true ? "source" : "dist";
  const out = values.out === undefined ? join(REPO, "bench", "results") : resolve(values.out);
  const log = (message: string): void => {
    process.stderr.write(`[bench ${step} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  };
  const startedAt = new Date();
  const machine = machineInfo();
  if (entry === "dist") buildDist();
  return { entry, out, startedAt, machine, log };
}

/** How the server ran, as a report's "Server:" line says it. */
export function serverEntryText(entry: ServerEntry): string {
  return entry === "dist" ? "node dist/cli/main.js serve (compiled, as npm start)" : "src/cli/main.ts under tsx";
}

/** What a single-step run reports. */
export interface StandaloneReport {
  /** The result files' name before their time stamp: `memo` writes memo-<time>.md and .json. */
  readonly name: string;
  /** The report's heading, before the run's start time. */
  readonly title: string;
  /** Whether the first paragraph names the git commit after the machine. */
  readonly withCommit?: boolean;
  /** The first paragraph's rest, after the machine and the load average: the server and the load ("Server: …"). */
  readonly setup: string;
  /** The table's rows (| Measure | Result |). */
  readonly rows: readonly string[];
  /** What the .json holds besides createdAt, machine and entry. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** Writes the run's report to `run.out` (markdown and JSON) and prints the markdown. */
export function finishStandaloneRun(run: StandaloneRun, report: StandaloneReport): void {
  const { machine, startedAt, entry } = run;
  const commit = report.withCommit === true ? `, commit ${machine.gitCommit ?? "?"}` : "";
  const markdown = [
    `# ${report.title} (${startedAt.toISOString()})`,
    "",
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}${commit}; load average at start ${machine.loadAverage.join(" / ")}, at end ${loadavg().map((x) => x.toFixed(2)).join(" / ")}. ` +
      report.setup,
    "",
    "| Measure | Result |",
    "|---|---|",
    ...report.rows,
    "",
  ].join("\n");
  writeResultFiles(run.out, `${report.name}-${resultStamp(startedAt)}`, { createdAt: startedAt.toISOString(), machine, entry, ...report.data }, markdown);
  process.stdout.write(markdown);
}
