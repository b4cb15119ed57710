/**
 * `npm run eval -- --data FILE [options]`: scores an intents file against
 * semcache (see src/eval) and writes eval/results/<name>.json and .svg.
 *
 * By default an in-process SemanticCache on a temporary embedded store with
 * the fixture model (built locally; its similarities are word-vector ones,
 * not MiniLM's), looked up without and with the guard. `--model-dir DIR`
 * uses another model (e.g. the real all-MiniLM-L6-v2), `--url URL` a running
 * server through the generated gRPC client.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, extname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_GUARD_CHECKS, guardSettingOf, parseGuardSetting, type GuardCheck } from "../../src/cache/guard/index.js";
import { loadOnnxEmbedder } from "../../src/embedder/load.js";
import { evaluate, parseEvalFlags, UsageError, writeReport, type EvalSubject } from "../../src/eval/command.js";
import { DEFAULT_TARGET_PRECISION } from "../../src/eval/calibrate.js";
import { summaryText } from "../../src/eval/report.js";
import { parseDataset } from "../../src/eval/dataset.js";
import { guardRulesMarkdown, scoreGuardRules } from "../../src/eval/guard-rules.js";
import { onlineSummary, writeOnlineReport } from "../../src/eval/online.js";
import { mapLimit } from "../../src/eval/run.js";
import { thresholdsOf } from "../../src/eval/score.js";
import { ensureFixtureModel } from "../fixture-model/index.js";
import { runOnline } from "./online.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

const HELP = `Usage: npm run eval -- [--data FILE] [options]

Scores an intents file (eval/data/README.md) against semcache: stores the seeds,
looks up every para and near once without inserting, and scores every threshold
of the sweep, without and with the hard-negative guard.

  --data FILE        intents file (default eval/data/intents.jsonl)
  --threshold T      operating threshold to report (default 0.9, the server default)
  --sweep A:B:S      thresholds (default 0.5:0.99:0.01)
  --precision P      target precision for the "best threshold" (default ${DEFAULT_TARGET_PRECISION})
  --model-dir DIR    model directory (default: the fixture model, built if needed)
  --guard SETTING    checks of the guarded variant: on, all or a list (default on,
                     as the server: every check but negation)
  --k N              candidates per semantic search (default 4, as the server)
  --threads N        onnxruntime threads (default: number of cores)
  --url URL          evaluate a running server instead (gRPC; its own model and guard)
  --name NAME        report name (default <data file>-<model>)
  --out DIR          output directory (default eval/results)

Online (--online): replays the file as a stream (seeds, paras and nears,
shuffled, two passes) through Ask on an in-process server whose LLM answers
per intent, for each error budget and static threshold; reports realised
error (wrong cached answers / requests), hit rate and LLM calls, and writes
<name>.json, .svg and .md.

  --online           run the online evaluation
  --budgets LIST     max_error_rate values (default 0.01,0.02,0.05)
  --sweep A:B:S      static thresholds (default 0.8:0.99:0.01, plus 1.0)
  --seeds N          shuffled streams per configuration (default 2)

Guard rules (--rules): what each hard-negative guard rule costs (paraphrase
hits it rejects) and buys (wrong answers it prevents), alone and beyond the
others, on every (para or near, seed) pair at or above each floor; writes
<name>-guard-rules.json and .md.

  --rules            score the guard's rules
  --floors LIST      similarity floors (default 0.8,0.9)
`;

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseEvalFlags(argv, { precision: DEFAULT_TARGET_PRECISION });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let modelDir: string | undefined;
  let guard: readonly GuardCheck[] = DEFAULT_GUARD_CHECKS;
  let searchK: number | undefined;
  let threads = availableParallelism();
  let online = false;
  let budgets = [0.01, 0.02, 0.05];
  let seeds = 2;
  let rules = false;
  let floors = [0.8, 0.9];
  for (let i = 0; i < flags.rest.length; i++) {
    if (flags.rest[i] === "--online" || flags.rest[i] === "--rules") {
      if (flags.rest[i] === "--online") online = true;
      else rules = true;
      continue;
    }
    const [flag = "", inline] = flags.rest[i]!.split(/=(.*)/s, 2);
    const value = inline ?? flags.rest[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    const positiveInt = (): number => {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a whole number ≥ 1`);
      return Number(value);
    };
    if (flag === "--model-dir") modelDir = value;
    else if (flag === "--guard") {
      try {
        guard = parseGuardSetting(value);
      } catch (error) {
        throw new UsageError(`--guard ${(error as Error).message}`);
      }
    } else if (flag === "--k") searchK = positiveInt();
    else if (flag === "--threads") threads = positiveInt();
    else if (flag === "--seeds") seeds = positiveInt();
    else if (flag === "--budgets") {
      budgets = value.split(",").map((part) => {
        const b = Number(part.trim());
        if (part.trim() === "" || !(b > 0 && b < 1)) throw new UsageError(`--budgets must be numbers strictly between 0 and 1 (got ${JSON.stringify(part)})`);
        return b;
      });
    }
    else if (flag === "--floors") {
      floors = value.split(",").map((part) => {
        const f = Number(part.trim());
        if (part.trim() === "" || !(f > 0 && f <= 1)) throw new UsageError(`--floors must be similarities in (0, 1] (got ${JSON.stringify(part)})`);
        return f;
      });
    } else throw new UsageError(`unknown option ${flag} (see --help)`);
  }
  const dataPath = resolve(flags.data ?? `${REPO}eval/data/intents.jsonl`);
  if (rules) {
    const embedder = await loadOnnxEmbedder({ modelDir: resolve(modelDir ?? (await ensureFixtureModel())), threads });
    try {
      const dataset = parseDataset(readFileSync(dataPath, "utf8"), dataPath);
      const scores = await scoreGuardRules(dataset, (prompts) => mapLimit(prompts, 8, (p) => embedder.embed(p)), floors);
      const name = flags.name ?? `${basename(dataPath, extname(dataPath))}-${modelDir === undefined ? "fixture-model" : basename(resolve(modelDir))}`;
      const out = resolve(flags.out ?? `${REPO}eval/results`);
      mkdirSync(out, { recursive: true });
      const markdown = guardRulesMarkdown(name, scores);
      writeFileSync(join(out, `${name}-guard-rules.json`), `${JSON.stringify({ name, data: relative(REPO, dataPath), modelId: embedder.modelId, floors: scores }, null, 2)}\n`);
      writeFileSync(join(out, `${name}-guard-rules.md`), markdown);
      process.stdout.write(`${markdown}\nwrote ${join(out, `${name}-guard-rules.{json,md}`)}\n`);
      return 0;
    } finally {
      await embedder.close();
    }
  }
  if (online) {
    // The default sweep of the online run: 0.80 to 0.99, and 1.0 (exact repeats only).
    const sweepGiven = argv.some((a) => a === "--sweep" || a.startsWith("--sweep="));
    const thresholds = sweepGiven ? thresholdsOf(flags.sweep) : [...thresholdsOf({ from: 0.8, to: 0.99, step: 0.01 }), 1];
    const report = await runOnline({
      dataPath,
      modelDir: resolve(modelDir ?? (await ensureFixtureModel())),
      guard: guardSettingOf(guard),
      thresholds,
      budgets,
      seeds: Array.from({ length: seeds }, (_, i) => i + 1),
      threads,
      ...(flags.name === undefined ? {} : { name: flags.name }),
    });
    const files = writeOnlineReport(report, flags.out ?? `${REPO}eval/results`);
    process.stdout.write(`${onlineSummary(report)}\nwrote ${files.json}\nwrote ${files.svg}\nwrote ${files.md}\n(${report.millis} ms)\n`);
    return 0;
  }
  let subject: EvalSubject;
  let close = async (): Promise<void> => {};
  if (flags.url !== undefined) {
    subject = { kind: "server", url: flags.url };
  } else {
    const dir = modelDir ?? (await ensureFixtureModel());
    const embedder = await loadOnnxEmbedder({ modelDir: resolve(dir), threads });
    close = () => embedder.close();
    subject = { kind: "in-process", embedder, guardChecks: guard.length > 0 ? guard : DEFAULT_GUARD_CHECKS, ...(searchK === undefined ? {} : { searchK }) };
  }
  try {
    const report = await evaluate({
      dataPath,
      subject,
      sweep: flags.sweep,
      operatingThreshold: flags.threshold ?? 0.9,
      targetPrecision: flags.precision,
      ...(flags.name === undefined ? {} : { name: flags.name }),
    });
    const files = writeReport(report, flags.out ?? `${REPO}eval/results`);
    process.stdout.write(`${summaryText(report)}\nwrote ${files.json}\nwrote ${files.svg}\n(${report.millis} ms)\n`);
    return 0;
  } finally {
    await close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error && /Error$/.test(error.name) ? error.message : String(error);
    process.stderr.write(`eval: ${message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
